"""What the tools return. Compact on the wire (no nulls); times are UTC ISO strings to the millisecond."""

from __future__ import annotations

from logs_mcp import rendering
from mcp_common.models import CompactModel


class TimeWindow(CompactModel):
    since: str
    until: str


class LogLine(CompactModel):
    timestamp: str
    service: str
    level: str
    host: str
    pod: str | None = None  # only when it differs from host
    namespace: str | None = None
    logger: str | None = None
    trace_id: str | None = None
    message: str
    duration_ms: int | None = None
    status_code: int | None = None


class SearchResult(CompactModel):
    time_range: str
    window: TimeWindow
    service: str | None = None
    level: str | None = None
    keyword: str | None = None
    match: str | None = None  # word or substring, when there is a keyword
    order: str = "newest"
    count: int
    truncated: bool
    hint: str | None = None
    lines: list[LogLine]

    def compact_text(self) -> str:
        return rendering.search_text(self)


class ErrorGroup(CompactModel):
    key: str
    errors: int
    percent: float  # of all errors in the window
    first_seen: str
    last_seen: str
    services: list[str] | None = None  # when grouped by host or message
    hosts: list[str]  # up to 5
    host_count: int


class ErrorCounts(CompactModel):
    group_by: str
    time_range: str
    window: TimeWindow
    total_errors: int
    total_groups: int
    truncated: bool
    hint: str | None = None
    groups: list[ErrorGroup]

    def compact_text(self) -> str:
        return rendering.errors_text(self)


class SlowQuery(CompactModel):
    timestamp: str
    service: str
    pod: str
    duration_ms: int
    rows_examined: int
    query: str


class SlowQueries(CompactModel):
    time_range: str
    window: TimeWindow
    service: str | None = None
    min_duration_ms: int
    count: int
    truncated: bool
    hint: str | None = None
    queries: list[SlowQuery]

    def compact_text(self) -> str:
        return rendering.slow_queries_text(self)


class TraceEvent(CompactModel):
    offset_ms: int  # from the trace's first line
    timestamp: str
    service: str
    host: str
    level: str
    logger: str | None = None
    message: str
    duration_ms: int | None = None
    status_code: int | None = None


class TraceResult(CompactModel):
    trace_id: str
    services: list[str]  # in order of first appearance
    event_count: int
    first_timestamp: str
    last_timestamp: str
    duration_ms: int
    has_error: bool
    first_error: TraceEvent | None = None
    truncated: bool
    events: list[TraceEvent]

    def compact_text(self) -> str:
        return rendering.trace_text(self)


class TimelineBucket(CompactModel):
    start: str
    total: int
    error: int
    warn: int
    info: int
    debug: int
    error_rate: float


class ServiceErrors(CompactModel):
    service: str
    errors: int


class ErrorMoment(CompactModel):
    at: str  # bucket start
    errors: int
    error_rate: float
    top_services: list[ServiceErrors]


class Baseline(CompactModel):
    source: str  # "previous window" or "first buckets"
    window: TimeWindow
    lines: int
    errors: int
    error_rate: float
    threshold: float  # the rate a bucket must exceed (with at least 5 errors) to count as a rise


class ErrorTimeline(CompactModel):
    time_range: str
    bucket: str
    service: str | None = None
    window: TimeWindow
    baseline: Baseline
    first_rise: ErrorMoment | None = None  # the first sustained rise above the baseline: when it started
    first_burst: ErrorMoment | None = None  # the first bucket with a burst of errors, even if quiet follows
    peak: ErrorMoment | None = None  # the bucket with the most errors (its rate alongside)
    first_error: LogLine | None = None  # the oldest ERROR line of the window
    hint: str | None = None
    buckets: list[TimelineBucket]

    def compact_text(self) -> str:
        return rendering.timeline_text(self)


class LogPattern(CompactModel):
    template: str
    service: str
    level: str
    count: int
    previous_count: int
    new: bool | None = None  # None when the preceding window has no lines to compare with
    first_seen: str
    last_seen: str
    example: str | None = None


class LogPatterns(CompactModel):
    time_range: str
    window: TimeWindow
    compared_with: TimeWindow
    service: str | None = None
    level: str | None = None
    total_templates: int
    new_templates: int
    truncated: bool
    hint: str | None = None
    templates: list[LogPattern]

    def compact_text(self) -> str:
        return rendering.patterns_text(self)


class ServiceSummary(CompactModel):
    service: str
    lines: int
    errors: int
    warnings: int
    error_rate: float
    previous_lines: int
    previous_error_rate: float | None = None
    hosts: list[str]
    last_seen: str


class Services(CompactModel):
    time_range: str
    window: TimeWindow
    compared_with: TimeWindow
    services: list[ServiceSummary]

    def compact_text(self) -> str:
        return rendering.services_text(self)
