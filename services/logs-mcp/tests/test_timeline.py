"""error_timeline on a day with a burst: absolute buckets, peak by count, a burst followed by quiet, the first
error; and search_logs(order='oldest'). Its own store: steady traffic, a one-error bucket with no other lines,
and a 152-error burst two hours before "now" with quiet after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, apply_schema, connect

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
BURST_AT = datetime(2026, 11, 26, 12, 20, tzinfo=UTC)  # a 5-minute bucket: 12:20-12:25
LONE_ERROR_AT = datetime(2026, 11, 26, 10, 47, tzinfo=UTC)  # the only line of 10:45-10:50: rate 1.0, 1 error
FIRST_ERROR_AT = datetime(2026, 11, 26, 9, 1, 2, tzinfo=UTC)  # the oldest error of the 6 h window (08:20-14:23)
COLUMNS = ("timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message")

pytestmark = pytest.mark.anyio


def _row(at: datetime, level: str, message: str) -> tuple[Any, ...]:
    return (at, "ledger", level, "ledger-0", "ledger-0", "books", "Ledger", "", message)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogStore]:
    settings = LogsSettings(data_dir=tmp_path_factory.mktemp("timeline") / "clickhouse")
    writer = connect(settings, writer=True)
    try:
        apply_schema(writer, "logs")
        rows = []
        at = NOW - timedelta(hours=13)
        gap = (LONE_ERROR_AT - timedelta(minutes=2), LONE_ERROR_AT + timedelta(minutes=3))
        while at < NOW:  # 4 INFO lines a minute, except in the lone error's bucket
            rows += [
                _row(at + timedelta(seconds=s), "INFO", f"Posted entry {s}")
                for s in (0, 15, 30, 45)
                if not gap[0] <= at + timedelta(seconds=s) < gap[1]
            ]
            at += timedelta(minutes=1)
        rows += [_row(NOW - timedelta(hours=9, minutes=m), "ERROR", "Ledger lock timeout") for m in (0, 40, 90)]
        rows.append(_row(FIRST_ERROR_AT, "ERROR", "Ledger lock timeout after 30s"))
        rows.append(_row(FIRST_ERROR_AT + timedelta(minutes=50), "ERROR", "Ledger lock timeout after 31s"))
        rows.append(_row(LONE_ERROR_AT, "ERROR", "Disk quota exceeded"))
        rows += [_row(BURST_AT + timedelta(seconds=i), "ERROR", f"Posting {i} rejected") for i in range(152)]
        writer.insert("application_logs", rows, column_names=COLUMNS)
    finally:
        writer.close()
    opened = LogStore.open(settings)
    try:
        yield opened
    finally:
        opened.close()


async def timeline_at(store: LogStore, now: datetime, **arguments: Any) -> dict[str, Any]:
    server = create_server(store.settings, store, clock=lambda: now)
    async with Client(server) as client:
        result = await client.call_tool("error_timeline", {"time_range": "6h", **arguments})
    assert not result.is_error, result.content
    return result.structured_content


async def test_buckets_sit_on_absolute_boundaries_whatever_the_time(store: LogStore) -> None:
    early = await timeline_at(store, NOW)
    later = await timeline_at(store, NOW + timedelta(minutes=2, seconds=17))
    assert early["bucket"] == "5m" and early["window"]["since"] == "2026-11-26T08:20:00.000Z"
    assert {b["start"][14:16] for b in early["buckets"]} <= {f"{m:02d}" for m in range(0, 60, 5)}
    overlap = {b["start"]: b for b in early["buckets"][:-1]}  # every whole bucket of the earlier run …
    assert all(overlap[b["start"]] == b for b in later["buckets"] if b["start"] in overlap)  # … counts the same
    assert early["first_burst"] == later["first_burst"] and early["first_error"] == later["first_error"]


async def test_peak_is_the_bucket_with_most_errors_not_the_highest_rate(store: LogStore) -> None:
    timeline = await timeline_at(store, NOW)
    lone = next(b for b in timeline["buckets"] if b["start"] == "2026-11-26T10:45:00.000Z")
    assert lone["error"] == 1 and lone["error_rate"] == 1.0
    assert timeline["peak"]["at"] == "2026-11-26T12:20:00.000Z"
    assert timeline["peak"]["errors"] == 152 and 0 < timeline["peak"]["error_rate"] < 1


async def test_a_burst_followed_by_quiet_is_reported(store: LogStore) -> None:
    timeline = await timeline_at(store, NOW)
    assert timeline.get("first_rise") is None  # one bucket is not a sustained rise …
    assert timeline["first_burst"]["at"] == "2026-11-26T12:20:00.000Z"  # … but it is a burst
    assert timeline["first_burst"]["top_services"] == [{"service": "ledger", "errors": 152}]
    assert "burst of 152 errors" in timeline["hint"] and "within its baseline" not in timeline["hint"]


async def test_first_error_is_the_oldest_error_of_the_window(store: LogStore) -> None:
    timeline = await timeline_at(store, NOW)
    assert timeline["first_error"]["timestamp"] == "2026-11-26T09:01:02.000Z"
    assert timeline["first_error"]["message"] == "Ledger lock timeout after 30s"
    server = create_server(store.settings, store, clock=lambda: NOW)
    async with Client(server) as client:
        oldest = await client.call_tool(
            "search_logs", {"level": "ERROR", "time_range": "6h", "order": "oldest", "limit": 3}
        )
        newest = await client.call_tool("search_logs", {"level": "ERROR", "time_range": "6h", "limit": 1})
    stamps = [line["timestamp"] for line in oldest.structured_content["lines"]]
    assert stamps[0] == "2026-11-26T09:01:02.000Z" and stamps == sorted(stamps)
    assert oldest.structured_content["order"] == "oldest" and oldest.structured_content["truncated"] is True
    assert newest.structured_content["lines"][0]["message"] == "Posting 151 rejected"
