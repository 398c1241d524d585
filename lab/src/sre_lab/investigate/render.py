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

from sre_lab.investigate.report import KubernetesFindings, LogFindings, Report, Synthesis, TimelinePoint


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    strong: str | None = None  # a bold lead-in ("Probable root cause:")


Item = str | tuple[str, list[str]]  # a line, or a line with the lines that belong under it (stack frames)


@dataclass(frozen=True)
class Items:
    items: list[Item]
    numbered: bool = False


@dataclass(frozen=True)
class Chart:
    """Errors per bucket: a sparkline in text, a bar chart in Markdown."""

    points: list[TimelinePoint]
    title: str
    marks: list[str]  # what to note beside it: peak, incident start


@dataclass(frozen=True)
class Code:
    lines: list[str]
    title: str | None = None


Block = Heading | Para | Items | Code | Chart


def outline(report: Report) -> Iterator[Block]:
    """What the report says, in order."""
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
    if report.focus.matched:
        yield Heading("What the symptom pointed at")
        yield Items(list(report.focus.matched))
    yield Heading("Tool calls")
    yield Items(
        [f"{c.server} {c.tool}({_args(c.arguments)}) — {'' if c.ok else 'FAILED: '}{c.summary}" for c in report.calls],
        numbered=True,
    )
    yield from _kubernetes(report.kubernetes)
    yield from _logs(report.logs)
    yield Heading("Runbooks")
    sections = report.runbooks.sections
    yield Items([f"{c.title} — {c.section} ({c.uri}), for: {c.matched[:80]}" for c in sections] or ["none found"])
    yield from _synthesis(report.synthesis)


def _kubernetes(k8s: KubernetesFindings) -> Iterator[Block]:
    yield Heading("Kubernetes")
    facts: list[Item] = []
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


def _logs(logs: LogFindings) -> Iterator[Block]:
    yield Heading("Logs")
    if logs.timeline:
        marks = []
        peak = max(logs.timeline, key=lambda point: point.errors)
        if peak.errors:
            marks.append(f"peak {peak.errors} at {_clock(peak.at)}")
        if logs.incident_start:
            marks.append(f"rise from {_clock(logs.incident_start)}")
        span = f"{_clock(logs.timeline[0].at)}–{_clock(logs.timeline[-1].at)} UTC"
        title = f"Errors per {logs.timeline_bucket} ({logs.timeline_service or 'all services'}), {span}"
        yield Chart(logs.timeline, title, marks)
    facts: list[Item] = []
    if logs.incident_start:
        baseline = f"{logs.baseline_error_rate:.2%}" if logs.baseline_error_rate is not None else "?"
        facts.append(f"error rate first rose above baseline ({baseline}) at {logs.incident_start}; peak {logs.peak}")
    if logs.first_error:
        e = logs.first_error
        facts.append(f"first error: {e['timestamp']} {e['service']} on {e['host']}: {e['message']}")
    if logs.pods_matching_kubernetes:
        facts.append(f"error lines come from the failing pods: {', '.join(logs.pods_matching_kubernetes)}")
    for hit in logs.keyword_hits:
        count = f"{hit['lines']}{'+' if hit['truncated'] else ''} lines"
        services = f" from {', '.join(hit['services'])}" if hit["services"] else ""
        example = f", e.g. {hit['example']}" if hit.get("example") else ""
        facts.append(f"searched '{hit['keyword']}' (last hour): {count}{services}{example}")
    facts += [(f"{e['errors']} × {e['signature']}", e.get("frames", [])) for e in logs.top_errors]
    facts += [
        f"trace {t['trace_id']}: {' → '.join(t['services'])}, {t['duration_ms']} ms, error: {t['first_error']}"
        for t in logs.affected_traces
    ]
    facts += [
        f"slow query {q['duration_ms']} ms, {q['rows_examined']:,} rows: {q['query']}" for q in logs.slow_queries[:3]
    ]
    yield Items(facts or ["no errors in the window"])


def _synthesis(syn: Synthesis) -> Iterator[Block]:
    yield Heading("Synthesis")
    yield Para(syn.probable_root_cause, strong="Probable root cause:")
    yield Para("", strong="Impact:")
    yield Items(list(syn.impact) or ["none measured"])
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
            for i, item in enumerate(block.items, 1):
                line, under = (item, []) if isinstance(item, str) else item
                out.append(f"{f'{i}.' if block.numbered else '-'} {md_escape(line)}")
                out += [f"    - {md_escape(sub)}" for sub in under]
            out.append("")
        elif isinstance(block, Chart):
            out += [md_escape(block.title), "", *_mermaid(block), "", f"`{sparkline(block.points)}`"]
            out += [md_escape("; ".join(block.marks)), ""] if block.marks else [""]
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
                line, under = (item, []) if isinstance(item, str) else item
                bullet = f"{i:>2}. " if block.numbered else "  • "
                out += _wrap(line, width, bullet, " " * len(bullet))
                for sub in under:
                    out += _wrap(sub, width, " " * len(bullet) + "  ", " " * len(bullet) + "    ")
        elif isinstance(block, Chart):
            out += _wrap(block.title, width, "", "  ")
            out += _wrap(sparkline(block.points), width, "  ", "  ")
            out += _wrap("; ".join(block.marks), width, "  ", "  ") if block.marks else []
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


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(points: list[TimelinePoint]) -> str:
    """One character per bucket, its height the bucket's errors (a bucket with none is the lowest bar)."""
    top = max((point.errors for point in points), default=0)
    if top == 0:
        return _BARS[0] * len(points)
    return "".join(_BARS[min(len(_BARS) - 1, (point.errors * (len(_BARS) - 1) + top - 1) // top)] for point in points)


def _mermaid(chart: Chart) -> list[str]:
    """A Mermaid bar chart (GitHub, GitLab and most Markdown viewers draw it)."""
    labels = ", ".join(f'"{_clock(point.at)}"' for point in chart.points)
    values = ", ".join(str(point.errors) for point in chart.points)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{chart.title.replace(chr(34), "")}"',
        f"    x-axis [{labels}]",
        '    y-axis "errors"',
        f"    bar [{values}]",
        "```",
    ]


def _clock(timestamp: str) -> str:
    """`2026-11-26T14:05:00.000Z` → `14:05`."""
    return timestamp[11:16] if len(timestamp) >= 16 else timestamp


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
