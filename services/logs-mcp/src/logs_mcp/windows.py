"""The time ranges and buckets the tools accept: fixed tables, never free text that reaches SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from mcp_common.errors import ToolError

TimeRange = Literal["15m", "1h", "6h", "24h", "7d"]
TIME_RANGES: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}

Bucket = Literal["auto", "1m", "5m", "15m", "30m", "1h", "2h", "6h"]
BUCKETS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
}
AUTO_BUCKET: dict[str, str] = {"15m": "1m", "1h": "1m", "6h": "5m", "24h": "15m", "7d": "2h"}  # 15 to 96 buckets
MAX_BUCKETS = 500


@dataclass(frozen=True)
class Window:
    """[since, until]: `since` on a whole minute (so per-minute counts answer exactly), `until` = now."""

    time_range: str
    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return TIME_RANGES[self.time_range]

    def previous(self) -> Window:
        """The window of the same length just before this one (what "new" and "baseline" compare with)."""
        return Window(self.time_range, self.since - self.length, self.since)


def window(time_range: str, now: datetime) -> Window:
    """The window `time_range` back from `now`, starting on a whole minute; unknown ranges are a ToolError."""
    length = TIME_RANGES.get(time_range)
    if length is None:
        raise ToolError(f"time_range {time_range!r} is not allowed; allowed: {', '.join(TIME_RANGES)}")
    now = now.astimezone(UTC)
    return Window(time_range, now.replace(second=0, microsecond=0) - length, now)


def bucket_for(time_range: str, bucket: str) -> tuple[str, timedelta]:
    """The bucket to use (resolving "auto") and its length; too many buckets is a ToolError."""
    name = AUTO_BUCKET[time_range] if bucket == "auto" else bucket
    length = BUCKETS.get(name)
    if length is None:
        raise ToolError(f"bucket {bucket!r} is not allowed; allowed: auto, {', '.join(BUCKETS)}")
    count = TIME_RANGES[time_range] // length
    if count < 1:
        raise ToolError(f"bucket {name} is longer than time_range {time_range}; use a smaller bucket or bucket=auto")
    if count > MAX_BUCKETS:
        raise ToolError(
            f"bucket {name} over time_range {time_range} makes {count} buckets (at most {MAX_BUCKETS}); "
            f"use a larger bucket or bucket=auto ({AUTO_BUCKET[time_range]})"
        )
    return name, length


def iso(at: datetime) -> str:
    """`2026-11-26T14:23:01.234Z`: UTC to the millisecond, as every result prints times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    return iso(from_ms(ms))
