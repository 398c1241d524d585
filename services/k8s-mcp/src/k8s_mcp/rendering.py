"""The text a model reads: kubectl-style tables for the list tools and a few compact lines for the others.

Each result model's `compact_text()` (mcp-common's compact-answer hook) calls one of these. The structured
content of every answer stays the full result model; only the text block changes, from the model's JSON to
what `kubectl get` would print (about a third of the characters), so a model spends its context on facts
rather than on braces and repeated keys. Columns are aligned like kubectl's, not `|`-separated: a model and a
person read the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models call these renderers from their compact_text()
    from k8s_mcp.models import (
        CronJobList,
        DaemonSetList,
        DeploymentList,
        Diagnosis,
        EventList,
        JobList,
        LogLines,
        NamespaceList,
        PodList,
        StatefulSetList,
    )

NONE = "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, like `kubectl get` (trailing blanks trimmed; an empty cell
    reads '-', except in the last column, where it is left blank)."""
    last = len(headers) - 1
    cells = [[str(h) for h in headers]] + [
        [
            "" if (v is None or v == "") and i == last else NONE if v is None or v == "" else str(v)
            for i, v in enumerate(row)
        ]
        for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells)


def _footer(total: int, shown: int, truncated: bool, hint: str | None) -> list[str]:
    lines = []
    if truncated:
        lines.append(f"(showing {shown} of {total})")
    if hint:
        lines.append(f"hint: {hint}")
    return lines


def _termination(text: str | None) -> str | None:
    """'Terminated (OOMKilled, exit code 137) 18s ago' → 'OOMKilled (137)': RESTARTS already says when."""
    if not text or not text.startswith("Terminated ("):
        return text
    inside = text[len("Terminated (") : text.index(")")]
    reason, _, code = inside.partition(", exit code ")
    return f"{reason} ({code})" if code else reason


def pods_text(result: PodList) -> str:
    s = result.summary
    head = f"{result.namespace}: {s.total} pods, {s.running} ready, {s.not_ready} not ready"
    if result.status_filter:
        head += f"; status_filter={result.status_filter}: {result.total} match"
    rows = [
        (
            p.name,
            p.ready,
            p.status,
            f"{p.restarts} ({p.last_restart} ago)" if p.last_restart else p.restarts,
            p.age,
            p.node,
            p.memory_limit,
            _termination(p.last_termination),
        )
        for p in result.items
    ]
    body = table(("NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "MEM-LIMIT", "LAST TERMINATION"), rows)
    return "\n".join([head, body, *_footer(result.total, len(result.items), result.truncated, result.hint)])


def deployments_text(result: DeploymentList) -> str:
    rows = [
        (
            d.name,
            d.ready,
            d.up_to_date,
            d.available,
            d.age,
            ",".join(d.images),
            "; ".join(f"{c.type}={c.status}" + (f" ({c.reason})" if c.reason else "") for c in d.conditions),
        )
        for d in result.items
    ]
    body = table(("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "IMAGES", "CONDITIONS"), rows)
    return "\n".join([body, *_footer(result.total, len(result.items), result.truncated, None)])


def statefulsets_text(result: StatefulSetList) -> str:
    rows = [(s.name, s.ready, s.current, s.updated, s.age, ",".join(s.images)) for s in result.items]
    body = table(("NAME", "READY", "CURRENT", "UPDATED", "AGE", "IMAGES"), rows)
    return "\n".join([body, *_footer(result.total, len(result.items), result.truncated, None)])


def daemonsets_text(result: DaemonSetList) -> str:
    rows = [
        (d.name, d.desired, d.current, d.ready, d.up_to_date, d.available, d.node_selector, d.age, ",".join(d.images))
        for d in result.items
    ]
    headers = ("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", "IMAGES")
    return "\n".join([table(headers, rows), *_footer(result.total, len(result.items), result.truncated, None)])


def jobs_text(result: JobList) -> str:
    rows = [
        (j.name, j.status, j.completions, j.duration, j.age, j.owner, f"{j.reason}: {j.message}" if j.reason else None)
        for j in result.items
    ]
    body = table(("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "OWNER", "REASON"), rows)
    return "\n".join([body, *_footer(result.total, len(result.items), result.truncated, None)])


def cronjobs_text(result: CronJobList) -> str:
    rows = [
        (
            c.name,
            c.schedule,
            c.timezone,
            str(c.suspend).lower(),
            c.active,
            c.last_schedule,
            c.last_successful,
            f"{c.last_job} ({c.last_job_status})" if c.last_job else None,
            c.age,
        )
        for c in result.items
    ]
    headers = ("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "LAST SUCCESS", "LAST JOB", "AGE")
    return "\n".join([table(headers, rows), *_footer(result.total, len(result.items), result.truncated, None)])


def events_text(result: EventList) -> str:
    rows = [(e.age, e.type, e.reason, e.object, e.count, e.message) for e in result.items]
    body = table(("LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"), rows)
    return "\n".join([body, *_footer(result.total, len(result.items), result.truncated, result.hint)])


def namespaces_text(result: NamespaceList) -> str:
    rows = [(n.name, n.status, n.pods, n.age) for n in result.items]
    return "\n".join([table(("NAME", "STATUS", "PODS", "AGE"), rows), result.note])


def logs_text(result: LogLines) -> str:
    which = "previous" if result.previous else "current"
    head = f"{result.pod}/{result.container} ({which} container), {result.returned} lines"
    if result.grep:
        head += f" matching '{result.grep}'"
    return "\n".join([head, *result.lines, *_footer(result.returned, result.returned, False, result.hint)])


def diagnosis_text(result: Diagnosis) -> str:
    lines = [
        f"{result.kind.lower()}/{result.name} in {result.namespace}: {result.health}, {result.replicas}",
        result.verdict,
    ]
    for cause in result.causes:
        lines.append(f"cause {cause.kind}: {cause.summary}")
        lines += [f"  - {line}" for line in cause.evidence]
    if result.log_source and result.log_excerpt:
        lines.append(f"log {result.log_source}:")
        lines += [f"  {line}" for line in result.log_excerpt]
    lines.append("next: " + " | ".join(result.next_steps))
    return "\n".join(lines)
