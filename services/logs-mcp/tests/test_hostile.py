"""Hostile input: every string argument gets injection payloads, limits go wild, enums are wrong. Each call is
a clear error or a literal match, and the data is untouched afterwards (same rows, same checksum, no new
tables). A query past max_execution_time is stopped with a clear error.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore

pytestmark = pytest.mark.anyio

PAYLOADS = [
    "'; DROP TABLE application_logs; --",
    "x' OR '1'='1",
    "1; TRUNCATE TABLE slow_queries",
    "payment-gateway' UNION SELECT name FROM system.tables --",
    "{service:String}",
    "\\'; INSERT INTO application_logs (message) VALUES ('pwned') --",
    "%' AND sleep(3) AND '%'='",
    "ＤＲＯＰ ＴＡＢＬＥ",
    "\x00\x1b[31m",
    "x" * 10_000,
]
STRING_ARGUMENTS = [
    ("search_logs", "service"),
    ("search_logs", "level"),
    ("search_logs", "keyword"),
    ("search_logs", "time_range"),
    ("count_errors", "group_by"),
    ("count_errors", "time_range"),
    ("get_slow_queries", "service"),
    ("trace_transaction", "trace_id"),
    ("error_timeline", "service"),
    ("error_timeline", "bucket"),
    ("log_patterns", "service"),
    ("log_patterns", "level"),
]


def fingerprint(store: LogStore) -> tuple[Any, ...]:
    """Row counts, an order-independent checksum of every column, and the tables that exist."""
    client = store.client
    logs = client.query("SELECT count(), sum(cityHash64(*)) FROM application_logs").result_rows[0]
    slow = client.query("SELECT count(), sum(cityHash64(*)) FROM slow_queries").result_rows[0]
    tables = client.query(
        "SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = 'logs' ORDER BY name)"
    )
    return logs, slow, tables.result_rows[0][0]


def nothing_found(content: dict[str, Any]) -> bool:
    """The tool answered about no line at all."""
    if "lines" in content:
        return content["lines"] == []
    if "buckets" in content:
        return all(bucket["total"] == 0 for bucket in content["buckets"])
    if "templates" in content:
        return content["templates"] == []
    return content.get("queries") == []


@pytest.fixture
def server(known: Any) -> Any:
    return create_server(known.settings, known.store, clock=known.clock)


@pytest.mark.parametrize(("tool", "argument"), STRING_ARGUMENTS)
async def test_injection_payloads_are_refused_or_matched_literally(
    server: Any, known: Any, tool: str, argument: str
) -> None:
    before = fingerprint(known.store)
    async with Client(server) as client:
        for payload in PAYLOADS:
            result = await client.call_tool(tool, {argument: payload})
            text = result.content[0].text if result.content else ""
            if result.is_error:
                assert text.startswith(f"invalid arguments for {tool}: {argument}") or "not" in text, text
                assert len(text) < 600, "a hostile value is never echoed in full"
                assert "Traceback" not in text and "DB::Exception" not in text
            else:
                # only a keyword or a service name (any text the source may hold) passes, and matches nothing
                assert argument in ("keyword", "service"), (tool, argument, payload)
                assert nothing_found(result.structured_content), (tool, argument, payload)
    assert fingerprint(known.store) == before


async def test_the_logged_injection_text_is_found_not_run(server: Any, known: Any) -> None:
    before = fingerprint(known.store)
    async with Client(server) as client:
        found = await client.call_tool("search_logs", {"keyword": "'; DROP TABLE transactions; --"})
    assert found.structured_content["count"] == 1
    assert fingerprint(known.store) == before


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("search_logs", {"limit": 10**9}, "limit: 1000000000 is out of range; allowed 1..100"),
        ("search_logs", {"limit": 0}, "limit: 0 is out of range; allowed 1..100"),
        ("search_logs", {"limit": -5}, "limit: -5 is out of range; allowed 1..100"),
        ("search_logs", {"limit": "20; DROP TABLE x"}, "limit: expected integer"),
        ("search_logs", {"level": "error"}, "level: 'error' is not one of ERROR, WARN, INFO, DEBUG (or omit it)"),
        ("search_logs", {"time_range": "30d"}, "time_range: '30d' is not one of 15m, 1h, 6h, 24h, 7d"),
        ("search_logs", {"keyword": ""}, "keyword: must not be empty"),
        ("search_logs", {"keyword": "k" * 10_240}, "keyword: too long (10240 characters; at most 200)"),
        (
            "count_errors",
            {"group_by": "message; DROP"},
            "group_by: 'message; DROP' is not one of service, host, message",
        ),
        ("get_slow_queries", {"min_duration_ms": -1}, "min_duration_ms: -1 is out of range; allowed 0..3600000"),
        ("error_timeline", {"bucket": "1s"}, "bucket: '1s' is not one of auto, 1m, 5m, 15m, 30m, 1h, 2h, 6h"),
        ("trace_transaction", {}, "'trace_id' is a required argument"),
        ("trace_transaction", {"trace_id": "tx 1"}, "trace_id: 'tx 1' does not match"),
    ],
)
async def test_bad_arguments_get_clear_errors(server: Any, tool: str, arguments: dict, expected: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert expected in result.content[0].text


async def test_unicode_keywords_and_any_service_name(server: Any) -> None:
    async with Client(server) as client:
        found = await client.call_tool("search_logs", {"keyword": "über 12,50 €"})
        unknown = await client.call_tool("search_logs", {"service": "zahlungsdienst-ü"})
        real = await client.call_tool("search_logs", {"service": "Checkout.Service_v2", "time_range": "6h"})
        refused = await client.call_tool("search_logs", {"service": "two\nlines"})
    assert found.structured_content["count"] == 1
    assert unknown.structured_content["lines"] == []  # any name is a bound value: unknown ones match nothing
    assert [line["service"] for line in real.structured_content["lines"]] == ["Checkout.Service_v2"]
    assert refused.is_error and "service" in refused.content[0].text


async def test_a_query_past_max_execution_time_is_stopped_with_a_clear_error(known: Any) -> None:
    settings = LogsSettings(data_dir=known.settings.data_dir, query_timeout_s=0.001)
    store = LogStore(known.store.client, settings)  # the same connection, with a 1 ms limit per query
    server = create_server(settings, store, clock=known.clock)
    async with Client(server) as client:
        result = await client.call_tool("search_logs", {"keyword": "nothing like this", "time_range": "7d"})
    assert result.is_error
    assert result.content[0].text == (
        "the query ran longer than 0.001 s (max_execution_time) and was stopped; narrow the request: "
        "a shorter time_range, or filter by service or level"
    )
