"""error_timeline: lines per level per bucket, the baseline, when errors rose, the peak, bursts, the first error.

Buckets sit on absolute boundaries (epoch multiples of the bucket length), and the window starts on the first
bucket boundary at or before "now - time_range": the same lines give the same buckets, the same rise and the
same first error whenever the tool runs, so a replayed incident starts at the same moment on every run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from logs_mcp.arguments import check_service
from logs_mcp.models import (
    Baseline,
    ErrorMoment,
    ErrorTimeline,
    ServiceErrors,
    TimelineBucket,
)
from logs_mcp.queries import line_of, time_window
from logs_mcp.store import LogStore
from logs_mcp.windows import Window, bucket_for, iso

MIN_RISE_ERRORS = 5  # a bucket needs at least this many errors to count as a rise (noise floor)
SUSTAINED = 3  # buckets in a row above the threshold make a rise
BURST_ERRORS = 10  # a burst: at least this many errors in one bucket …
BURST_FACTOR = 5  # … and at least this many times the baseline's errors per bucket


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

    def add(self, other: _Counts) -> None:
        for level, lines in other.levels.items():
            self.levels[level] += lines


def _new_counts() -> _Counts:
    return _Counts(defaultdict(int), defaultdict(int))


def aligned(window: Window, bucket: timedelta) -> Window:
    """The window from the bucket boundary at or before its start (epoch-aligned) to its end."""
    seconds = int(bucket.total_seconds())
    start = int(window.since.timestamp()) // seconds * seconds
    return Window(window.time_range, datetime.fromtimestamp(start, UTC), window.until)


def error_timeline(
    store: LogStore, window: Window, *, service: str | None = None, bucket: str = "auto"
) -> ErrorTimeline:
    """Lines per level per bucket, the error-rate baseline, the first rise, the peak, the first burst and error."""
    bucket_name, bucket_length = bucket_for(window.time_range, bucket)
    bucket_s = int(bucket_length.total_seconds())
    window = aligned(window, bucket_length)
    previous = Window(window.time_range, window.since - window.length, window.since)
    service_filter = check_service(service)
    rows = store.rows(
        "error_timeline",
        {"since": previous.since, "until": window.until, "service": service_filter, "bucket_s": bucket_s},
    )
    per_bucket: dict[int, _Counts] = defaultdict(_new_counts)
    for row in rows:
        counts = per_bucket[row["bucket"]]
        counts.levels[row["level"]] += row["lines"]
        if row["level"] == "ERROR":
            counts.errors_by_service[row["service"]] += row["lines"]
    first = int(window.since.timestamp()) // bucket_s
    last = int(window.until.timestamp()) // bucket_s  # the bucket holding "now" (may be partial)
    current = [(index, per_bucket.get(index, _new_counts())) for index in range(first, last + 1)]

    baseline = _new_counts()
    for index, counts in per_bucket.items():
        if index < first:
            baseline.add(counts)
    source, baseline_window, baseline_buckets = "previous window", previous, window.length // bucket_length
    head = max(1, len(current) // 4)
    if baseline.total == 0:  # nothing before the window: its first quarter is the baseline
        for _, counts in current[:head]:
            baseline.add(counts)
        source, baseline_buckets = "first buckets", head
        baseline_window = Window(window.time_range, window.since, window.since + head * bucket_length)
    baseline_rate = baseline.rate()
    threshold = max(2 * baseline_rate, baseline_rate + 0.01)
    errors_per_bucket = baseline.errors / baseline_buckets

    def moment(index: int, counts: _Counts) -> ErrorMoment:
        top = sorted(counts.errors_by_service.items(), key=lambda item: (-item[1], item[0]))[:3]
        return ErrorMoment(
            at=iso(datetime.fromtimestamp(index * bucket_s, UTC)),
            errors=counts.errors,
            error_rate=round(counts.rate(), 4),
            top_services=[ServiceErrors(service=name, errors=errors) for name, errors in top],
        )

    # A rise: a bucket with enough errors to matter whose rate stays above the threshold for SUSTAINED buckets
    # (fewer at the end of the window), so a one-bucket burst such as a crash's stack trace is not the start.
    candidates = current if source == "previous window" else current[head:]
    above = [counts.rate() > threshold for _, counts in candidates]
    rise = next(
        (
            (index, counts)
            for position, (index, counts) in enumerate(candidates)
            if counts.errors >= MIN_RISE_ERRORS and all(above[position : position + SUSTAINED])
        ),
        None,
    )
    # A burst: many errors in one bucket against the baseline's errors per bucket, whatever follows it.
    burst = next(
        (
            (index, counts)
            for index, counts in candidates
            if counts.errors >= BURST_ERRORS and counts.errors >= BURST_FACTOR * errors_per_bucket
        ),
        None,
    )
    peak = max(current, key=lambda item: (item[1].errors, item[1].rate(), -item[0]), default=None)
    found = store.rows("first_error", {"since": window.since, "until": window.until, "service": service_filter})
    buckets = [
        TimelineBucket(
            start=iso(datetime.fromtimestamp(index * bucket_s, UTC)),
            total=counts.total,
            error=counts.levels.get("ERROR", 0),
            warn=counts.levels.get("WARN", 0),
            info=counts.levels.get("INFO", 0),
            debug=counts.levels.get("DEBUG", 0),
            error_rate=round(counts.rate(), 4),
        )
        for index, counts in current
    ]
    if not any(bucket.total for bucket in buckets):
        hint = "no lines in this window; widen time_range or check the service name with list_services"
    elif rise is not None:
        hint = "count_errors(group_by='message') and log_patterns show what rose; search_logs around first_rise.at"
    elif burst is not None:
        hint = (
            f"a burst of {burst[1].errors} errors at {moment(*burst).at}, then back within the baseline: "
            "search_logs(level='ERROR', order='oldest') around it shows what happened"
        )
    else:
        hint = "the error rate stayed within its baseline; count_errors and log_patterns show what errors there are"
    return ErrorTimeline(
        time_range=window.time_range,
        bucket=bucket_name,
        service=service,
        window=time_window(window),
        baseline=Baseline(
            source=source,
            window=time_window(baseline_window),
            lines=baseline.total,
            errors=baseline.errors,
            error_rate=round(baseline_rate, 4),
            threshold=round(threshold, 4),
        ),
        first_rise=moment(*rise) if rise else None,
        first_burst=moment(*burst) if burst else None,
        peak=moment(*peak) if peak and peak[1].errors else None,
        first_error=line_of(found[0]) if found else None,
        hint=hint,
        buckets=buckets,
    )
