"""The text a model reads: one line per log line, a table per list, a head line of the few facts that matter.

Each result model's `compact_text()` (mcp-common's compact-answer hook) calls one of these. The structured
content stays the whole model; only the text block changes, from the model's JSON to what a person would
write down: log lines as a log viewer prints them, counts as tables (`mcp_common.compact.table`: ` | `
between cells, newlines in a message escaped so one record stays on one line). Every cut list says so and
how to narrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_common.compact import cell, table

if TYPE_CHECKING:  # the models call these renderers from their compact_text()
    from logs_mcp.models import (
        ErrorCounts,
        ErrorMoment,
        ErrorTimeline,
        LogLine,
        LogPatterns,
        SearchResult,
        Services,
        SlowQueries,
        TimeWindow,
        TraceEvent,
        TraceResult,
    )


def _window(window: TimeWindow) -> str:
    return f"{window.since} to {window.until}"


def _tail(hint: str | None) -> list[str]:
    return [f"hint: {hint}"] if hint else []


def _extras(duration_ms: int | None, status_code: int | None) -> str:
    parts = ([f"status={status_code}"] if status_code is not None else []) + (
        [f"duration={duration_ms}ms"] if duration_ms is not None else []
    )
    return f" ({', '.join(parts)})" if parts else ""


def log_line(line: LogLine) -> str:
    """`<time> <LEVEL> <service> <host>[/<pod>] [<logger>] [trace=<id>] <message> (status, duration)`."""
    where = line.host + (f"/{line.pod}" if line.pod else "")
    logger = f" {line.logger}:" if line.logger else ""
    trace = f" trace={line.trace_id}" if line.trace_id else ""
    return (
        f"{line.timestamp} {line.level} {line.service} {where}{trace}{logger} {cell(line.message)}"
        f"{_extras(line.duration_ms, line.status_code)}"
    )


def search_text(result: SearchResult) -> str:
    filters = [f"{name}={value!r}" for name, value in (("service", result.service), ("level", result.level),
               ("keyword", result.keyword), ("match", result.match if result.match == "substring" else None))
               if value]  # fmt: skip
    head = (
        f"{result.count} lines, {result.order} first, {result.time_range} ({_window(result.window)})"
        + (f", {' '.join(filters)}" if filters else "")
        + ("; more match (truncated)" if result.truncated else "")
    )
    return "\n".join([head, *(log_line(line) for line in result.lines), *_tail(result.hint)])


def _event(event: TraceEvent) -> str:
    logger = f" {event.logger}:" if event.logger else ""
    return (
        f"+{event.offset_ms}ms {event.timestamp} {event.level} {event.service} {event.host}{logger} "
        f"{cell(event.message)}{_extras(event.duration_ms, event.status_code)}"
    )


def trace_text(result: TraceResult) -> str:
    head = (
        f"trace {result.trace_id}: {result.event_count} lines over {result.duration_ms} ms "
        f"({result.first_timestamp} to {result.last_timestamp}), services {' -> '.join(result.services)}, "
        + ("has errors" if result.has_error else "no errors")
        + ("; more than shown (truncated)" if result.truncated else "")
    )
    lines = [head]
    if result.first_error is not None:
        lines.append(f"first error: {_event(result.first_error)}")
    return "\n".join([*lines, *(_event(event) for event in result.events)])


def _moment(name: str, moment: ErrorMoment | None) -> list[str]:
    if moment is None:
        return []
    top = ", ".join(f"{s.service} {s.errors}" for s in moment.top_services)
    return [f"{name}: {moment.at}, {moment.errors} errors, rate {moment.error_rate:.4f}" + (f" ({top})" if top else "")]


def timeline_text(result: ErrorTimeline) -> str:
    b = result.baseline
    head = (
        f"error timeline {result.time_range} by {result.bucket} ({_window(result.window)})"
        + (f", service={result.service!r}" if result.service else "")
        + f"; baseline ({b.source}, {_window(b.window)}): {b.errors} errors of {b.lines} lines, rate "
        f"{b.error_rate:.4f}, rise threshold {b.threshold:.4f}"
    )
    lines = [head, *_moment("first_rise", result.first_rise), *_moment("first_burst", result.first_burst),
             *_moment("peak", result.peak)]  # fmt: skip
    if result.first_error is not None:
        lines.append(f"first_error: {log_line(result.first_error)}")
    lines += _tail(result.hint)
    rows = [bucket.model_dump() for bucket in result.buckets]
    lines.append(table(rows, ["start", "total", "error", "warn", "info", "debug", "error_rate"]))
    return "\n".join(lines)


def _joined(values: list[str] | None, total: int | None = None) -> str:
    if not values:
        return ""
    more = f" (+{total - len(values)})" if total is not None and total > len(values) else ""
    return ", ".join(values) + more


def errors_text(result: ErrorCounts) -> str:
    head = (
        f"{result.total_errors} errors in {result.total_groups} groups by {result.group_by}, {result.time_range} "
        f"({_window(result.window)})" + ("; more groups (truncated)" if result.truncated else "")
    )
    rows = [
        {"key": g.key, "errors": g.errors, "%": g.percent, "first_seen": g.first_seen, "last_seen": g.last_seen,
         "services": _joined(g.services), "hosts": _joined(g.hosts, g.host_count)}
        for g in result.groups
    ]  # fmt: skip
    columns = ["key", "errors", "%", "first_seen", "last_seen", "hosts"]
    if result.group_by != "service":
        columns.insert(5, "services")
    return "\n".join([head, *([table(rows, columns)] if rows else []), *_tail(result.hint)])


def patterns_text(result: LogPatterns) -> str:
    head = (
        f"{result.total_templates} templates ({result.new_templates} new since {_window(result.compared_with)}), "
        f"{result.time_range} ({_window(result.window)})"
        + "".join(f", {name}={value!r}" for name, value in (("service", result.service), ("level", result.level))
                  if value)
        + ("; more templates (truncated)" if result.truncated else "")
    )  # fmt: skip
    rows = [
        {"new": {True: "new", False: "", None: "?"}[p.new], "count": p.count, "before": p.previous_count,
         "service": p.service, "level": p.level, "template": p.template, "first_seen": p.first_seen,
         "last_seen": p.last_seen, "example": p.example}
        for p in result.templates
    ]  # fmt: skip
    columns = ["new", "count", "before", "service", "level", "template", "first_seen", "last_seen", "example"]
    return "\n".join([head, *([table(rows, columns)] if rows else []), *_tail(result.hint)])


def services_text(result: Services) -> str:
    head = f"{len(result.services)} services, {result.time_range} ({_window(result.window)}), against the hour before"
    rows = [
        {"service": s.service, "lines": s.lines, "errors": s.errors, "warnings": s.warnings, "error_rate": s.error_rate,
         "previous_error_rate": s.previous_error_rate, "hosts": _joined(s.hosts), "last_seen": s.last_seen}
        for s in result.services
    ]  # fmt: skip
    return "\n".join([head, table(rows)]) if rows else head


def slow_queries_text(result: SlowQueries) -> str:
    head = (
        f"{result.count} queries of at least {result.min_duration_ms} ms, slowest first, {result.time_range} "
        f"({_window(result.window)})" + (f", service={result.service!r}" if result.service else "")
        + ("; more qualify (truncated)" if result.truncated else "")
    )  # fmt: skip
    rows = [q.model_dump() for q in result.queries]
    columns = ["duration_ms", "rows_examined", "timestamp", "service", "pod", "query"]
    return "\n".join([head, *([table(rows, columns)] if rows else []), *_tail(result.hint)])
