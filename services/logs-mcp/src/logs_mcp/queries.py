"""The domain functions the tools call: plain, typed and synchronous (the server runs them in a thread).

Each validates what the JSON schema cannot express, runs one or two named queries from `sql/` with bound
parameters, and shapes the rows into a result model that says when it was truncated and how to narrow.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from logs_mcp.arguments import (
    GROUP_BY,
    MATCHES,
    ORDERS,
    TRACE_ID,
    check_level,
    check_service,
    keyword_condition,
    word_tokens,
)
from logs_mcp.models import (
    ErrorCounts,
    ErrorGroup,
    LogLine,
    LogPattern,
    LogPatterns,
    SearchResult,
    Services,
    ServiceSummary,
    SlowQueries,
    SlowQuery,
    TimeWindow,
    TraceEvent,
    TraceResult,
)
from logs_mcp.patterns import merge_signatures
from logs_mcp.store import LogStore
from logs_mcp.windows import Window, from_ms, iso, iso_ms
from mcp_common.errors import ToolError

MAX_TRACE_LINES = 500
MAX_SIGNATURES = 5000  # distinct signatures merged into templates per call (most frequent first)
MIN_RISE_ERRORS = 5  # a bucket needs at least this many errors to count as a rise (noise floor)
SUSTAINED = 3  # buckets in a row above the threshold


def time_window(window: Window) -> TimeWindow:
    return TimeWindow(since=iso(window.since), until=iso(window.until))


def line_of(row: dict[str, Any]) -> LogLine:
    return LogLine(
        timestamp=iso_ms(row["ts_ms"]),
        service=row["service"],
        level=row["level"],
        host=row["host"],
        pod=row["pod"] if row["pod"] and row["pod"] != row["host"] else None,
        namespace=row["namespace"] or None,
        logger=row["logger"] or None,
        trace_id=row["trace_id"] or None,
        message=row["message"],
        duration_ms=row["duration_ms"],
        status_code=row["status_code"],
    )


# -- search_logs ------------------------------------------------------------------------------------------


def search_logs(
    store: LogStore,
    window: Window,
    *,
    service: str | None = None,
    level: str | None = None,
    keyword: str | None = None,
    limit: int = 20,
    order: str = "newest",
    match: str = "word",
) -> SearchResult:
    """The newest (or oldest) lines of the window matching every filter. The keyword is a literal, case-insensitive
    substring of the message; with match=word its words must also be whole words of the line (the message index
    finds those without reading the window), with match=substring they may sit inside longer words."""
    if order not in ORDERS:
        raise ToolError(f"order {order[:40]!r} is not allowed; allowed: {', '.join(ORDERS)}")
    if match not in MATCHES:
        raise ToolError(f"match {match[:40]!r} is not allowed; allowed: {', '.join(MATCHES)}")
    condition, bound = keyword_condition(keyword, match)
    parameters = {
        "since": window.since,
        "until": window.until,
        "service": check_service(service),
        "level": check_level(level),
        "limit": limit + 1,  # one more tells whether there are more
        **bound,
    }
    rows = store.rows("search_logs", parameters, direction=ORDERS[order], keyword=condition)
    tokens = word_tokens(keyword) if match == "word" else []
    truncated = len(rows) > limit
    lines = [line_of(row) for row in rows[:limit]]
    hint = None
    if truncated:
        hint = (
            f"more lines match; these are the {order} {limit}. Narrow with service, level or keyword, a shorter "
            "time_range, or raise limit (at most 100); count_errors and log_patterns summarize instead"
        )
    elif not lines and tokens:
        hint = (
            f"no line holds {keyword!r} as whole words; match='substring' also finds it inside longer words (it reads "
            "every line of the window: slower), or widen time_range, drop a filter, check names with list_services"
        )
    elif not lines:
        hint = "no lines match; widen time_range, drop a filter, or check service names with list_services"
    return SearchResult(
        time_range=window.time_range,
        window=time_window(window),
        service=service,
        level=level,
        keyword=keyword,
        match=match if keyword else None,
        order=order,
        count=len(lines),
        truncated=truncated,
        hint=hint,
        lines=lines,
    )


# -- count_errors -----------------------------------------------------------------------------------------


def count_errors(store: LogStore, window: Window, *, group_by: str = "service", limit: int = 20) -> ErrorCounts:
    """ERROR lines grouped by service, host or message template, most errors first."""
    if group_by not in GROUP_BY:
        raise ToolError(f"group_by {group_by[:40]!r} is not allowed; allowed: {', '.join(GROUP_BY)}")
    # Message groups are merged from signatures here (patterns.merge_signatures), so SQL returns them all.
    cap = MAX_SIGNATURES if group_by == "message" else limit
    parameters = {"since": window.since, "until": window.until, "group_by": group_by, "limit": cap}
    rows = store.rows("count_errors", parameters)
    total_errors = int(rows[0]["total_errors"]) if rows else 0
    total_groups = int(rows[0]["total_groups"]) if rows else 0
    if group_by == "message":
        rows = _merge_error_groups(rows)
        total_groups = len(rows) + max(0, total_groups - cap)
        rows = rows[:limit]
    groups = [
        ErrorGroup(
            key=row["key"],
            errors=row["errors"],
            percent=round(100 * row["errors"] / total_errors, 1) if total_errors else 0.0,
            first_seen=iso_ms(row["first_ms"]),
            last_seen=iso_ms(row["last_ms"]),
            services=sorted(row["services"])[:5] if group_by != "service" else None,
            hosts=sorted(row["hosts"])[:5],
            host_count=row["host_count"],
        )
        for row in rows
    ]
    truncated = total_groups > len(groups)
    hint = None
    if truncated:
        hint = f"{total_groups - len(groups)} smaller groups not shown; raise limit (at most 100)"
    elif not groups:
        hint = "no ERROR lines in this window; widen time_range, or look at warnings with log_patterns(level=WARN)"
    return ErrorCounts(
        group_by=group_by,
        time_range=window.time_range,
        window=time_window(window),
        total_errors=total_errors,
        total_groups=total_groups,
        truncated=truncated,
        hint=hint,
        groups=groups,
    )


def _merge_error_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signature groups merged into template groups, most errors first."""
    templates = merge_signatures(row["key"] for row in rows)
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        template = templates[row["key"]]
        entry = merged.setdefault(
            template,
            {"key": template, "errors": 0, "first_ms": row["first_ms"], "last_ms": row["last_ms"], "services": set(),
             "hosts": set()},
        )  # fmt: skip
        entry["errors"] += row["errors"]
        entry["first_ms"] = min(entry["first_ms"], row["first_ms"])
        entry["last_ms"] = max(entry["last_ms"], row["last_ms"])
        entry["services"].update(row["services"])
        entry["hosts"].update(row["hosts"])
    for entry in merged.values():
        entry["host_count"] = len(entry["hosts"])
    return sorted(merged.values(), key=lambda entry: (-entry["errors"], entry["key"]))


# -- get_slow_queries -------------------------------------------------------------------------------------


def get_slow_queries(
    store: LogStore,
    window: Window,
    *,
    service: str | None = None,
    min_duration_ms: int = 1000,
    limit: int = 10,
) -> SlowQueries:
    """Database queries of at least `min_duration_ms` in the window, slowest first."""
    if not store.source.slow_queries:
        raise ToolError(
            f"slow queries are not available: the {store.source.kind} source ({store.source.table}) has no "
            "slow-query table; search_logs(keyword='slow') finds slow-query lines the services logged"
        )
    rows = store.rows(
        "get_slow_queries",
        {
            "since": window.since,
            "until": window.until,
            "service": check_service(service),
            "min_duration_ms": min_duration_ms,
            "limit": limit + 1,
        },
    )
    truncated = len(rows) > limit
    queries = [
        SlowQuery(
            timestamp=iso_ms(row["ts_ms"]),
            service=row["service"],
            pod=row["pod"],
            duration_ms=row["duration_ms"],
            rows_examined=row["rows_examined"],
            query=row["query"],
        )
        for row in rows[:limit]
    ]
    hint = None
    if truncated:
        hint = "more queries qualify; raise min_duration_ms or limit (at most 100), or filter by service"
    elif not queries:
        hint = "no query this slow in the window; lower min_duration_ms or widen time_range"
    return SlowQueries(
        time_range=window.time_range,
        window=time_window(window),
        service=service,
        min_duration_ms=min_duration_ms,
        count=len(queries),
        truncated=truncated,
        hint=hint,
        queries=queries,
    )


# -- trace_transaction ------------------------------------------------------------------------------------


def trace_transaction(store: LogStore, trace_id: str) -> TraceResult:
    """Every line of one trace across services, oldest first, with what went wrong first."""
    if not TRACE_ID.match(trace_id):
        shown = trace_id if len(trace_id) <= 80 else trace_id[:80] + "…"
        raise ToolError(
            f"trace_id {shown!r} is not a valid trace id: letters, digits, '.', '_', ':' and '-', at most 128 "
            "characters (e.g. tx-abc123)"
        )
    rows = store.rows("trace_transaction", {"trace_id": trace_id, "limit": MAX_TRACE_LINES + 1})
    if not rows:
        raise ToolError(
            f"no log lines with trace_id {trace_id!r}; trace ids appear in search_logs results "
            "(e.g. search_logs(keyword='failed', level='ERROR'))"
        )
    truncated = len(rows) > MAX_TRACE_LINES
    rows = rows[:MAX_TRACE_LINES]
    start = rows[0]["ts_ms"]
    events = [
        TraceEvent(
            offset_ms=row["ts_ms"] - start,
            timestamp=iso_ms(row["ts_ms"]),
            service=row["service"],
            host=row["host"],
            level=row["level"],
            logger=row["logger"] or None,
            message=row["message"],
            duration_ms=row["duration_ms"],
            status_code=row["status_code"],
        )
        for row in rows
    ]
    first_error = next((event for event in events if event.level == "ERROR"), None)
    return TraceResult(
        trace_id=trace_id,
        services=list(dict.fromkeys(event.service for event in events)),
        event_count=len(events),
        first_timestamp=events[0].timestamp,
        last_timestamp=events[-1].timestamp,
        duration_ms=rows[-1]["ts_ms"] - start,
        has_error=first_error is not None,
        first_error=first_error,
        truncated=truncated,
        events=events,
    )


# -- log_patterns -----------------------------------------------------------------------------------------


def log_patterns(
    store: LogStore, window: Window, *, service: str | None = None, level: str | None = None, limit: int = 20
) -> LogPatterns:
    """Message templates of the window with counts, first/last seen, and which are new since the window before."""
    previous = window.previous()
    rows = store.rows(
        "log_patterns",
        {
            "since": window.since,
            "previous_since": previous.since,
            "until": window.until,
            "service": check_service(service),
            "level": check_level(level),
            "limit": MAX_SIGNATURES + 1,
        },
    )
    capped = len(rows) > MAX_SIGNATURES
    rows = rows[:MAX_SIGNATURES]
    comparable = sum(row["previous"] for row in rows) > 0
    merged = _merge_patterns(rows)
    chosen = merged[:limit]
    examples: dict[str, str] = {}
    if chosen:
        found = store.rows(
            "pattern_examples",
            {
                "last_seen": [from_ms(entry["last_ms"]) for entry in chosen],
                "signatures": [entry["latest_signature"] for entry in chosen],
            },
        )
        examples = {row["signature"]: row["example"] for row in found}
    templates = []
    for entry in chosen:
        example = examples.get(entry["latest_signature"])
        templates.append(
            LogPattern(
                template=entry["template"],
                service=entry["service"],
                level=entry["level"],
                count=entry["current"],
                previous_count=entry["previous"],
                new=(entry["previous"] == 0) if comparable else None,
                first_seen=iso_ms(entry["first_ms"]),
                last_seen=iso_ms(entry["last_ms"]),
                example=example if example != entry["template"] else None,
            )
        )
    total = len(merged)
    new = sum(1 for entry in merged if entry["previous"] == 0) if comparable else 0
    truncated = total > len(templates) or capped
    hints = []
    if total > len(templates):
        hints.append(f"{total - len(templates)} more templates (new ones are listed first); filter by service or level")
    if capped:
        hints.append(f"only the {MAX_SIGNATURES} most frequent signatures were merged; filter by service or level")
    if rows and not comparable:
        hints.append("the preceding window has no lines, so nothing can be called new")
    if not rows:
        hints.append("no lines in this window; widen time_range or drop a filter")
    return LogPatterns(
        time_range=window.time_range,
        window=time_window(window),
        compared_with=time_window(previous),
        service=service,
        level=level,
        total_templates=total,
        new_templates=new,
        truncated=truncated,
        hint="; ".join(hints) or None,
        templates=templates,
    )


def _merge_patterns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signature rows merged into templates per service and level; new ones first, then the most frequent."""
    templates = merge_signatures(row["signature"] for row in rows)
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        template = templates[row["signature"]]
        key = (row["service"], row["level"], template)
        entry = merged.setdefault(
            key,
            {"service": row["service"], "level": row["level"], "template": template, "current": 0, "previous": 0,
             "first_ms": None, "last_ms": None, "latest_signature": row["signature"]},
        )  # fmt: skip
        entry["current"] += row["current"]
        entry["previous"] += row["previous"]
        if row["current"]:  # first/last seen are the window's; a row of the previous window only has none
            if entry["first_ms"] is None or row["first_ms"] < entry["first_ms"]:
                entry["first_ms"] = row["first_ms"]
            if entry["last_ms"] is None or row["last_ms"] > entry["last_ms"]:
                entry["last_ms"], entry["latest_signature"] = row["last_ms"], row["signature"]
    current = [entry for entry in merged.values() if entry["current"]]
    return sorted(
        current,
        key=lambda e: (e["previous"] != 0, -e["current"], e["service"], e["level"], e["template"]),
    )


# -- list_services ----------------------------------------------------------------------------------------


def list_services(store: LogStore, window: Window) -> Services:
    """Every service with lines in the window or the one before: volume, errors, error rates, hosts."""
    previous = window.previous()
    rows = store.rows("list_services", {"since": window.since, "previous_since": previous.since, "until": window.until})
    by_service: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"lines": 0, "errors": 0, "warnings": 0, "prev": 0, "prev_errors": 0, "hosts": set(), "last": 0}
    )
    for row in rows:
        entry = by_service[row["service"]]
        entry["lines"] += row["current"]
        entry["prev"] += row["previous"]
        if row["level"] == "ERROR":
            entry["errors"] += row["current"]
            entry["prev_errors"] += row["previous"]
        elif row["level"] == "WARN":
            entry["warnings"] += row["current"]
        if row["current"]:
            entry["hosts"].add(row["host"])
        entry["last"] = max(entry["last"], row["last_ms"])
    services = [
        ServiceSummary(
            service=name,
            lines=entry["lines"],
            errors=entry["errors"],
            warnings=entry["warnings"],
            error_rate=round(entry["errors"] / entry["lines"], 4) if entry["lines"] else 0.0,
            previous_lines=entry["prev"],
            previous_error_rate=round(entry["prev_errors"] / entry["prev"], 4) if entry["prev"] else None,
            hosts=sorted(entry["hosts"]),
            last_seen=iso_ms(entry["last"]),
        )
        for name, entry in by_service.items()
    ]
    services.sort(key=lambda s: (-s.errors, -s.lines, s.service))
    return Services(
        time_range=window.time_range,
        window=time_window(window),
        compared_with=time_window(previous),
        services=services,
    )
