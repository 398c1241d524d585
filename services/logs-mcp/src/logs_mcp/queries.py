"""The domain functions the tools call: plain, typed and synchronous (the server runs them in a thread).

Each validates what the JSON schema cannot express, runs one or two named queries from `sql/` with bound
parameters, and shapes the rows into a result model that says when it was truncated and how to narrow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logs_mcp.models import (
    Baseline,
    ErrorCounts,
    ErrorGroup,
    ErrorMoment,
    ErrorTimeline,
    LogLine,
    LogPattern,
    LogPatterns,
    SearchResult,
    ServiceErrors,
    Services,
    ServiceSummary,
    SlowQueries,
    SlowQuery,
    TimelineBucket,
    TimeWindow,
    TraceEvent,
    TraceResult,
)
from logs_mcp.store import LogStore
from logs_mcp.windows import Window, bucket_for, from_ms, iso, iso_ms
from mcp_common.errors import ToolError

LEVELS = ("ERROR", "WARN", "INFO", "DEBUG")
GROUP_BY = ("service", "host", "message")
MAX_TRACE_LINES = 500
MIN_RISE_ERRORS = 5  # a bucket needs at least this many errors to count as a rise (noise floor)
SUSTAINED = 3  # buckets in a row above the threshold

# Defence in depth behind the JSON schema: names and ids are plain tokens (they are bound either way).
SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
TRACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_KEYWORD = 200


def _time_window(window: Window) -> TimeWindow:
    return TimeWindow(since=iso(window.since), until=iso(window.until))


def check_service(service: str | None) -> str:
    """'' for no filter; else a plain service name (lowercase letters, digits, '-', '_', '.')."""
    if service is None:
        return ""
    if not SERVICE_NAME.match(service):
        shown = service if len(service) <= 80 else service[:80] + "…"
        raise ToolError(
            f"service {shown!r} is not a valid service name: use lowercase letters, digits, '-', '_' and '.' "
            "(e.g. payment-gateway); list_services shows the names"
        )
    return service


def check_level(level: str | None) -> str:
    if level is None:
        return ""
    if level not in LEVELS:
        raise ToolError(f"level {level[:40]!r} is not allowed; allowed: {', '.join(LEVELS)}")
    return level


def like_pattern(keyword: str | None) -> str:
    """The keyword as a LIKE pattern that matches it literally anywhere: %, _ and \\ are escaped."""
    if keyword is None:
        return ""
    if not keyword or len(keyword) > MAX_KEYWORD:
        raise ToolError(f"keyword must be 1 to {MAX_KEYWORD} characters (got {len(keyword)})")
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _line(row: dict[str, Any]) -> LogLine:
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
) -> SearchResult:
    """The newest lines of the window matching every given filter; the keyword is a literal substring."""
    parameters = {
        "since": window.since,
        "until": window.until,
        "service": check_service(service),
        "level": check_level(level),
        "pattern": like_pattern(keyword),
        "limit": limit + 1,  # one more tells whether there are more
    }
    rows = store.rows("search_logs", parameters)
    truncated = len(rows) > limit
    lines = [_line(row) for row in rows[:limit]]
    hint = None
    if truncated:
        hint = (
            f"more lines match; these are the newest {limit}. Narrow with service, level or keyword, a shorter "
            "time_range, or raise limit (at most 100); count_errors and log_patterns summarize instead"
        )
    elif not lines:
        hint = "no lines match; widen time_range, drop a filter, or check service names with list_services"
    return SearchResult(
        time_range=window.time_range,
        window=_time_window(window),
        service=service,
        level=level,
        keyword=keyword,
        count=len(lines),
        truncated=truncated,
        hint=hint,
        lines=lines,
    )


# -- count_errors -----------------------------------------------------------------------------------------


def count_errors(store: LogStore, window: Window, *, group_by: str = "service", limit: int = 20) -> ErrorCounts:
    """ERROR lines grouped by service, host or message signature, most errors first."""
    if group_by not in GROUP_BY:
        raise ToolError(f"group_by {group_by[:40]!r} is not allowed; allowed: {', '.join(GROUP_BY)}")
    rows = store.rows(
        "count_errors", {"since": window.since, "until": window.until, "group_by": group_by, "limit": limit}
    )
    total_errors = int(rows[0]["total_errors"]) if rows else 0
    total_groups = int(rows[0]["total_groups"]) if rows else 0
    groups = [
        ErrorGroup(
            key=row["key"],
            errors=row["errors"],
            percent=round(100 * row["errors"] / total_errors, 1) if total_errors else 0.0,
            first_seen=iso_ms(row["first_ms"]),
            last_seen=iso_ms(row["last_ms"]),
            services=sorted(row["services"]) if group_by != "service" else None,
            hosts=sorted(row["hosts"]),
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
        window=_time_window(window),
        total_errors=total_errors,
        total_groups=total_groups,
        truncated=truncated,
        hint=hint,
        groups=groups,
    )


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
        window=_time_window(window),
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


# -- error_timeline ---------------------------------------------------------------------------------------


@dataclass
class _Counts:
    levels: dict[str, int]
    errors_by_service: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.levels.values())

    @property
    def errors(self) -> int:
        return self.levels.get("ERROR", 0)

    def rate(self) -> float:
        return self.errors / self.total if self.total else 0.0


def _new_counts() -> _Counts:
    return _Counts(defaultdict(int), defaultdict(int))


def error_timeline(
    store: LogStore, window: Window, *, service: str | None = None, bucket: str = "auto"
) -> ErrorTimeline:
    """Lines per level per bucket, the error-rate baseline, and when the rate first rose above it."""
    bucket_name, bucket_length = bucket_for(window.time_range, bucket)
    previous = window.previous()
    bucket_s = int(bucket_length.total_seconds())
    rows = store.rows(
        "error_timeline",
        {"since": previous.since, "until": window.until, "service": check_service(service), "bucket_s": bucket_s},
    )
    per_bucket: dict[int, _Counts] = defaultdict(_new_counts)
    for row in rows:
        counts = per_bucket[row["bucket"]]
        counts.levels[row["level"]] += row["lines"]
        if row["level"] == "ERROR":
            counts.errors_by_service[row["service"]] += row["lines"]
    first = window.length // bucket_length  # buckets before this one hold the previous window
    last = (window.until - previous.since) // bucket_length  # the bucket holding "now" (may be partial)
    current = [(index, per_bucket.get(index, _new_counts())) for index in range(first, last + 1)]

    baseline_counts = _new_counts()
    for index, counts in per_bucket.items():
        if index < first:
            for level, lines in counts.levels.items():
                baseline_counts.levels[level] += lines
    source, baseline_window = "previous window", previous
    if baseline_counts.total == 0:  # nothing before the window: the first quarter of it is the baseline
        head = current[: max(1, len(current) // 4)]
        for _, counts in head:
            for level, lines in counts.levels.items():
                baseline_counts.levels[level] += lines
        source = "first buckets"
        baseline_window = Window(window.time_range, window.since, window.since + len(head) * bucket_length)
    baseline_rate = baseline_counts.rate()
    threshold = max(2 * baseline_rate, baseline_rate + 0.01)

    def start_of(index: int) -> datetime:
        return previous.since + index * bucket_length

    def moment(index: int, counts: _Counts) -> ErrorMoment:
        top = sorted(counts.errors_by_service.items(), key=lambda item: (-item[1], item[0]))[:3]
        return ErrorMoment(
            at=iso(start_of(index)),
            errors=counts.errors,
            error_rate=round(counts.rate(), 4),
            top_services=[ServiceErrors(service=name, errors=errors) for name, errors in top],
        )

    # A rise: a bucket with enough errors to matter whose rate stays above the threshold for SUSTAINED buckets
    # (fewer at the end of the window), so a one-bucket burst such as a crash's stack trace is not the start.
    candidates = current if source == "previous window" else current[max(1, len(current) // 4) :]
    rates = [counts.rate() > threshold for _, counts in candidates]
    rise = next(
        (
            (index, counts)
            for position, (index, counts) in enumerate(candidates)
            if counts.errors >= MIN_RISE_ERRORS and all(rates[position : position + SUSTAINED])
        ),
        None,
    )
    peak = max(current, key=lambda item: (item[1].rate(), item[1].errors), default=None)
    buckets = [
        TimelineBucket(
            start=iso(start_of(index)),
            total=counts.total,
            error=counts.levels.get("ERROR", 0),
            warn=counts.levels.get("WARN", 0),
            info=counts.levels.get("INFO", 0),
            debug=counts.levels.get("DEBUG", 0),
            error_rate=round(counts.rate(), 4),
        )
        for index, counts in current
    ]
    hint = None
    if not any(bucket.total for bucket in buckets):
        hint = "no lines in this window; widen time_range or check the service name with list_services"
    elif rise is None:
        hint = "the error rate stayed within its baseline; count_errors and log_patterns show what errors there are"
    else:
        hint = "count_errors(group_by='message') and log_patterns show what rose; search_logs around first_rise.at"
    return ErrorTimeline(
        time_range=window.time_range,
        bucket=bucket_name,
        service=service,
        window=_time_window(window),
        baseline=Baseline(
            source=source,
            window=_time_window(baseline_window),
            lines=baseline_counts.total,
            errors=baseline_counts.errors,
            error_rate=round(baseline_rate, 4),
            threshold=round(threshold, 4),
        ),
        first_rise=moment(*rise) if rise else None,
        peak=moment(*peak) if peak and peak[1].errors else None,
        hint=hint,
        buckets=buckets,
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
            "limit": limit,
        },
    )
    comparable = bool(rows) and int(rows[0]["previous_total"]) > 0
    examples: dict[str, str] = {}
    if rows:
        found = store.rows(
            "pattern_examples",
            {"last_seen": [from_ms(row["last_ms"]) for row in rows], "signatures": [row["signature"] for row in rows]},
        )
        examples = {row["signature"]: row["example"] for row in found}
    templates = [
        LogPattern(
            template=row["signature"],
            service=row["service"],
            level=row["level"],
            count=row["current"],
            previous_count=row["previous"],
            new=(row["previous"] == 0) if comparable else None,
            first_seen=iso_ms(row["first_ms"]),
            last_seen=iso_ms(row["last_ms"]),
            example=examples.get(row["signature"]) if examples.get(row["signature"]) != row["signature"] else None,
        )
        for row in rows
    ]
    total = int(rows[0]["total_templates"]) if rows else 0
    new = int(rows[0]["new_templates"]) if rows and comparable else 0
    truncated = total > len(templates)
    hints = []
    if truncated:
        hints.append(f"{total - len(templates)} more templates (new ones are listed first); filter by service or level")
    if rows and not comparable:
        hints.append("the preceding window has no lines, so nothing can be called new")
    if not rows:
        hints.append("no lines in this window; widen time_range or drop a filter")
    return LogPatterns(
        time_range=window.time_range,
        window=_time_window(window),
        compared_with=_time_window(previous),
        service=service,
        level=level,
        total_templates=total,
        new_templates=new,
        truncated=truncated,
        hint="; ".join(hints) or None,
        templates=templates,
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
        window=_time_window(window),
        compared_with=_time_window(previous),
        services=services,
    )


# -- logs://schema ----------------------------------------------------------------------------------------

SCHEMA_NOTE = """\
- `application_logs` is sorted by `timestamp` (newest-first reads stop early), partitioned by day, kept 30 days.
- A bloom filter on `trace_id` finds a trace's few granules; a token bloom filter on `lowerUTF8(message)`
  skips granules lacking a whole word of a multi-word keyword.
- `signature` is the message with ids, numbers, hex and durations replaced (`log_signature()`): what
  count_errors(group_by=message) and log_patterns group by.
- The projection `minute_counts` keeps lines per minute, service, level, host and signature, so counts,
  timelines and patterns read thousands of rows instead of millions. Tool windows start on a whole minute.
- Every tool query is read-only with a time limit, result limits and a memory limit; values are bound
  parameters, never SQL text.
"""


def describe_schema(store: LogStore) -> str:
    """The tables, their columns and their current size, as Markdown."""
    columns = store.rows("describe_tables", {})
    stats = {row["table"]: row for row in store.rows("table_stats", {})}
    out = ["# logs-mcp tables", ""]
    for table in ("application_logs", "slow_queries"):
        stat = stats.get(table)
        size = ""
        if stat and stat["rows"]:
            size = f" — {stat['rows']:,} rows, {iso_ms(stat['first_ms'])} to {iso_ms(stat['last_ms'])}"
        out += [f"## {table}{size}", "", "| column | type | meaning |", "|---|---|---|"]
        out += [f"| {c['name']} | {c['type']} | {c['comment']} |" for c in columns if c["table"] == table]
        out.append("")
    out += ["## Notes", "", SCHEMA_NOTE]
    return "\n".join(out)
