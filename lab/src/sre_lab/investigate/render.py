"""The report for people: Markdown (`--format markdown`) and wrapped plain text (`--format text`).

Both come from one outline of blocks, so they say the same things. Text from the tools is data, not markup:
Markdown escapes what a viewer would swallow (`<id>`, `<duration>` would vanish as HTML tags) and text never
goes through a markup parser; long lines wrap with a hanging indent instead of being cropped.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sre_lab.investigate.report import Report


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    strong: str | None = None  # a bold lead-in ("Probable root cause:")


@dataclass(frozen=True)
class Items:
    items: list[str]
    numbered: bool = False


@dataclass(frozen=True)
class Code:
    lines: list[str]
    title: str | None = None


Block = Heading | Para | Items | Code


def outline(report: Report) -> Iterator[Block]:
    """What the report says, in order."""
    k8s, logs, kb, syn = report.kubernetes, report.logs, report.runbooks, report.synthesis
    yield Heading(f"Investigation: {report.symptom}", 1)
    clock = f" · as of {report.scenario_now}" if report.scenario_now else ""
    yield Para(
        f"Stack: {report.stack} · driver: {report.driver} · {len(report.calls)} tool calls · "
        f"{report.duration_s} s{clock}"
    )
    for note in report.notes:
        yield Para(note, strong="Note:")
    if report.limits.reached:
        yield Para(f"{report.limits.message}. The findings below are partial.", strong="Limit reached:")
    yield Heading("Tool calls")
    yield Items(
        [f"{c.server} {c.tool}({_args(c.arguments)}) — {'' if c.ok else 'FAILED: '}{c.summary}" for c in report.calls],
        numbered=True,
    )
    yield Heading("Kubernetes")
    facts = []
    if k8s.deployment:
        facts.append(f"{k8s.namespace}/{k8s.deployment}: {k8s.health} — {k8s.verdict}")
    facts += [
        f"pod {p.name}: {p.status}, {p.restarts} restarts, {p.last_termination or ''} (limit {p.memory_limit})"
        for p in k8s.failing_pods
    ]
    facts += k8s.warning_events[:5]
    yield Items(facts or ["nothing failing found"])
    if k8s.crash_log:
        yield Code(k8s.crash_log[-8:], "Crash log (previous container):")
    yield Heading("Logs")
    facts = []
    if logs.incident_start:
        baseline = f"{logs.baseline_error_rate:.2%}" if logs.baseline_error_rate is not None else "?"
        facts.append(f"error rate first rose above baseline ({baseline}) at {logs.incident_start}; peak {logs.peak}")
    if logs.first_error:
        e = logs.first_error
        facts.append(f"first error: {e['timestamp']} {e['service']} on {e['host']}: {e['message']}")
    if logs.pods_matching_kubernetes:
        facts.append(f"error lines come from the failing pods: {', '.join(logs.pods_matching_kubernetes)}")
    facts += [f"{e['errors']} × {e['signature']}" for e in logs.top_errors[:5]]
    facts += [
        f"trace {t['trace_id']}: {' → '.join(t['services'])}, {t['duration_ms']} ms, error: {t['first_error']}"
        for t in logs.affected_traces
    ]
    facts += [
        f"slow query {q['duration_ms']} ms, {q['rows_examined']:,} rows: {q['query']}" for q in logs.slow_queries[:3]
    ]
    yield Items(facts or ["no errors in the window"])
    yield Heading("Runbooks")
    yield Items([f"{c.title} — {c.section} ({c.uri}), for: {c.matched[:80]}" for c in kb.sections] or ["none found"])
    yield Heading("Synthesis")
    yield Para(syn.probable_root_cause, strong="Probable root cause:")
    yield Para("", strong="Impact:")
    yield Items(syn.impact or ["none measured"])
    yield Para("", strong="Next steps (from the runbooks):")
    yield Items([f"{step.action} ({step.source})" for step in syn.next_steps] or ["no runbook matched"], numbered=True)
    if syn.model_summary:
        yield Para("", strong="The agent's conclusion:")
        yield Para(syn.model_summary)


# -- Markdown -----------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Text as Markdown shows it literally: `<id>` stays `<id>`, `*` stays `*`."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(report: Report) -> str:
    """The report as Markdown: placeholders and brackets from the tools survive any viewer."""
    out: list[str] = []
    for block in outline(report):
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + md_escape(block.text), ""]
        elif isinstance(block, Para):
            lead = f"**{md_escape(block.strong)}** " if block.strong else ""
            out += [(lead + md_escape(block.text)).rstrip(), ""]
        elif isinstance(block, Items):
            out += [f"{f'{i}.' if block.numbered else '-'} {md_escape(item)}" for i, item in enumerate(block.items, 1)]
            out.append("")
        else:
            fence = "````" if any("```" in line for line in block.lines) else "```"
            out += [md_escape(block.title), ""] if block.title else []
            out += [fence, *block.lines, fence, ""]
    return "\n".join(out).rstrip() + "\n"


# -- plain text ---------------------------------------------------------------------------------------------


def render_text(report: Report, stream: TextIO, width: int | None = None) -> None:
    """The report as plain text wrapped to `width` (the terminal's, at most 120): nothing is cropped."""
    stream.write(text_report(report, width))


def text_report(report: Report, width: int | None = None) -> str:
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 120)
    out: list[str] = []
    for block in outline(report):
        if isinstance(block, Heading):
            rule = "=" if block.level == 1 else "-"
            out += ["", block.text, rule * min(len(block.text), width)] if out else [block.text, rule * width]
        elif isinstance(block, Para):
            text = f"{block.strong} {block.text}".strip() if block.strong else block.text
            out += _wrap(text, width, "", "  ")
        elif isinstance(block, Items):
            for i, item in enumerate(block.items, 1):
                bullet = f"{i:>2}. " if block.numbered else "  • "
                out += _wrap(item, width, bullet, " " * len(bullet))
        else:
            if block.title:
                out += _wrap(block.title, width, "", "")
            for line in block.lines:
                out += _wrap(line, width, "    │ ", "    │   ", keep_spaces=True)
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int, first: str, rest: str, keep_spaces: bool = False) -> list[str]:
    if not text:
        return [first.rstrip()]
    return textwrap.wrap(
        text,
        width=max(width, len(first) + 20),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
        replace_whitespace=not keep_spaces,
        drop_whitespace=not keep_spaces,
    ) or [first.rstrip()]


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
