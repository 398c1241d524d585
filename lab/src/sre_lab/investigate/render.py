"""The report as Markdown (also what the text format prints, through rich)."""

from __future__ import annotations

import json
from typing import Any

from sre_lab.investigate.report import Report


def render_markdown(report: Report) -> str:
    """The report as Markdown (also what the text format prints, through rich)."""
    k8s, logs, kb, syn = report.kubernetes, report.logs, report.runbooks, report.synthesis
    out = [f"# Investigation: {report.symptom}", ""]
    out.append(
        f"Stack: {report.stack} · driver: {report.driver} · {len(report.calls)} tool calls · {report.duration_s} s"
    )
    if report.limits.reached:
        out += ["", f"> **Limit reached:** {report.limits.message}. The findings below are partial."]
    out += ["", "## Tool calls", ""]
    out += [
        f"{c.step}. `{c.server}` **{c.tool}**({_args(c.arguments)}) — {'' if c.ok else '❌ '}{c.summary}"
        for c in report.calls
    ]
    out += ["", "## Kubernetes", ""]
    if k8s.deployment:
        out.append(f"- `{k8s.namespace}/{k8s.deployment}`: **{k8s.health}** — {k8s.verdict}")
    out += [
        f"- pod `{p.name}`: {p.status}, {p.restarts} restarts, {p.last_termination or ''} (limit {p.memory_limit})"
        for p in k8s.failing_pods
    ]
    if k8s.crash_log:
        out += ["", "Crash log (previous container):", "", "```", *k8s.crash_log[-8:], "```"]
    out += [f"- {event}" for event in k8s.warning_events[:5]]
    out += ["", "## Logs", ""]
    if logs.incident_start:
        baseline = f"{logs.baseline_error_rate:.2%}" if logs.baseline_error_rate is not None else "?"
        out.append(f"- error rate first rose above baseline ({baseline}) at {logs.incident_start}; peak {logs.peak}")
    if logs.first_error:
        e = logs.first_error
        out.append(f"- first error: {e['timestamp']} {e['service']} on `{e['host']}`: {e['message']}")
    if logs.pods_matching_kubernetes:
        out.append(f"- error lines come from the failing pods: {', '.join(logs.pods_matching_kubernetes)}")
    out += [f"- {e['errors']} × `{e['signature']}`" for e in logs.top_errors[:5]]
    out += [
        f"- trace `{t['trace_id']}`: {' → '.join(t['services'])}, {t['duration_ms']} ms, error: {t['first_error']}"
        for t in logs.affected_traces
    ]
    out += [
        f"- slow query {q['duration_ms']} ms, {q['rows_examined']:,} rows: `{q['query']}`"
        for q in logs.slow_queries[:3]
    ]
    out += ["", "## Runbooks", ""]
    out += [f"- [{c.title} — {c.section}]({c.uri}) (for `{c.matched[:60]}`)" for c in kb.sections]
    out += ["", "## Synthesis", "", f"**Probable root cause:** {syn.probable_root_cause}", "", "**Impact:**", ""]
    out += [f"- {item}" for item in syn.impact]
    out += ["", "**Next steps (from the runbooks):**", ""]
    out += [f"{i}. {step.action} ({step.source})" for i, step in enumerate(syn.next_steps, start=1)]
    if syn.model_summary:
        out += ["", "**The agent's conclusion:**", "", syn.model_summary]
    return "\n".join(out) + "\n"


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
