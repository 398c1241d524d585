"""The playbook driver: a fixed, model-free walk, then a synthesis built only from what the tools returned."""

from __future__ import annotations

import re

from sre_lab.investigate.findings import Findings
from sre_lab.investigate.focus import focus_for
from sre_lab.investigate.report import KubernetesFindings, LogFindings, NextStep, RunbookFindings, Synthesis
from sre_lab.investigate.session import Session

_LOADING = re.compile(r"Loading [\d.]+[KMB]? \w+ into memory[^\n]*")


async def run_playbook(session: Session, symptom: str, findings: Findings) -> None:
    """The fixed, model-free investigation, steered by the symptom (`focus_for`). Each call's result reaches
    `findings` through the session."""
    namespaces = await session.call("k8s-mcp", "list_namespaces", {}) or {"items": []}
    for namespace in (n["name"] for n in namespaces["items"]):
        await session.call("k8s-mcp", "list_deployments", {"namespace": namespace})
        await session.call("k8s-mcp", "list_statefulsets", {"namespace": namespace})
    await session.call("logs-mcp", "list_services", {})
    focus, target = focus_for(symptom, findings.workloads, findings.services)
    findings.focus = focus
    if target is not None:
        namespace, kind, name = target
        await session.call("k8s-mcp", "diagnose_workload", {"namespace": namespace, "name": name, "kind": kind})
        await session.call("k8s-mcp", "list_pods", {"namespace": namespace})
        if findings.k8s.failing_pods:
            worst = findings.k8s.failing_pods[0].name
            arguments = {"namespace": namespace, "pod_name": worst, "previous": True, "lines": 40}
            await session.call("k8s-mcp", "get_pod_logs", arguments)
        await session.call("k8s-mcp", "get_events", {"namespace": namespace, "event_type": "Warning", "limit": 20})

    service = focus.services[0] if focus.services else None
    scope = {"service": service} if service else {}
    signature = crash_signature(findings.k8s)
    await session.call("logs-mcp", "error_timeline", {**scope, "time_range": "6h"})
    oldest = {**scope, "level": "ERROR", "time_range": "6h", "limit": 10, "order": "oldest"}
    await session.call("logs-mcp", "search_logs", oldest)
    await session.call("logs-mcp", "count_errors", {"group_by": "message", "time_range": "1h", "limit": 12})
    crash_keyword = (signature or "").split(":")[0].rsplit(".", 1)[-1]
    keywords = [k for k in (crash_keyword, *focus.keywords) if k]
    for keyword in dict.fromkeys(keywords):
        await session.call("logs-mcp", "search_logs", {"keyword": keyword, "time_range": "1h", "limit": 30})
    await session.call("logs-mcp", "search_logs", {"level": "ERROR", "time_range": "1h", "limit": 50})
    for trace_id in findings.trace_ids[:3]:
        await session.call("logs-mcp", "trace_transaction", {"trace_id": trace_id})
    slow_scope = {} if focus.slow_queries else scope
    await session.call("logs-mcp", "get_slow_queries", {**slow_scope, "min_duration_ms": 5000, "limit": 5})

    errors = [e for e in (signature, "OOMKilled" if "OOMKilled" in (findings.k8s.verdict or "") else None) if e]
    errors += [e["signature"] for e in findings.logs.top_errors[:2] if e["signature"] not in errors]
    for error in errors[:4]:
        await session.call("kb-mcp", "find_runbooks_for_error", {"error_text": error[:500]})
    if focus.runbook_query:
        await session.call("kb-mcp", "search_runbooks", {"query": focus.runbook_query[:500], "n_results": 3})


def crash_signature(k8s: KubernetesFindings) -> str | None:
    """The error class and message of the crash log ('java.lang.OutOfMemoryError: Java heap space')."""
    for line in k8s.crash_log:
        found = re.search(r"\b([a-zA-Z_][\w.]*(?:Error|Exception)(?::[^\n]*)?)$", line.strip())
        if found and " at " not in line:
            return found.group(1).strip()
    if k8s.verdict and "OOMKilled" in k8s.verdict:
        return "OOMKilled"
    return None


def synthesize(k8s: KubernetesFindings, logs: LogFindings, kb: RunbookFindings) -> Synthesis:
    """Only what the tools returned: no inference the evidence does not carry."""
    steps = [NextStep(action=_first_action(c.excerpt), source=c.uri) for c in kb.sections if c.section == "Mitigation"]
    return Synthesis(probable_root_cause=_cause(k8s, logs), impact=_impact(k8s, logs), next_steps=steps[:5])


def _cause(k8s: KubernetesFindings, logs: LogFindings) -> str:
    cause: list[str] = []
    if k8s.failing_pods:
        pods = ", ".join(p.name for p in k8s.failing_pods)
        limits = sorted({p.memory_limit for p in k8s.failing_pods if p.memory_limit})
        oom = all("OOMKilled" in (p.last_termination or "") for p in k8s.failing_pods)
        reason = f"OOMKilled at the {'/'.join(limits)} memory limit" if oom and limits else "crash-looping"
        cause.append(f"{k8s.deployment} pods {pods} are {reason}")
    crash = next((line for line in k8s.crash_log if "Error" in line or "Exception" in line), None)
    loading = next((m.group(0) for line in k8s.crash_log for m in [_LOADING.search(line)] if m), None)
    if k8s.verdict and "last log:" in k8s.verdict:
        cause.append(k8s.verdict.split("last log:", 1)[1].strip())
    elif crash:
        cause.append(crash.strip())
    if loading:
        cause.append(f"right after the job logged '{loading.strip()}'")
    if not cause:
        # nothing failing where the symptom pointed: say so, and where the errors are instead
        if k8s.deployment and k8s.health:
            cause.append(f"{k8s.namespace}/{k8s.deployment} is {k8s.health} ({k8s.verdict})")
        if logs.top_errors:
            top = logs.top_errors[0]
            where = ", ".join(top["services"]) or "?"
            signature, count = top["signature"], top["errors"]
            cause.append(f"the most frequent error of the last hour is '{signature}' ({count}×, {where})")
    return "; ".join(cause) if cause else "no failing workload and no errors found"


def _impact(k8s: KubernetesFindings, logs: LogFindings) -> list[str]:
    impact: list[str] = []
    if k8s.verdict:
        impact.append(f"{k8s.deployment}: {k8s.health} — {k8s.verdict.split(';')[0]}")
    if logs.incident_start:
        impact.append(f"error rate rose above baseline at {logs.incident_start} (peak {logs.peak})")
    for error in logs.top_errors[:3]:
        impact.append(f"{error['errors']} × {error['signature'][:120]}")
    for hit in logs.keyword_hits:
        if hit["for"] == "the symptom" and hit["lines"]:
            lines = f"{hit['lines']}{'+' if hit['truncated'] else ''} lines"
            impact.append(f"'{hit['keyword']}' in {lines} of the last hour ({', '.join(hit['services'])})")
    failed = [t for t in logs.affected_traces if t["has_error"]]
    if failed:
        impact.append(
            "failed transactions: " + ", ".join(f"{t['trace_id']} ({' → '.join(t['services'])})" for t in failed)
        )
    return impact


def _first_action(mitigation: str) -> str:
    """The first instruction of a Mitigation section (a list item or sentence), without its code blocks."""
    prose = re.sub(r"```.*?(```|$)", " ", mitigation, flags=re.S)
    for raw in prose.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        item = re.sub(r"^(?:[-*]|\d+[.)])\s+", "", stripped)
        sentence = re.split(r"(?<=[.!?])\s", item, maxsplit=1)[0]
        return sentence.rstrip(":").strip()[:240]
    return ""
