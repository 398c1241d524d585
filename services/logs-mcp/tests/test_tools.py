"""Every tool and the schema resource, through the MCP protocol, on the known dataset in real chDB."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from logs_mcp.server import create_server

pytestmark = pytest.mark.anyio

# lines of the known dataset (conftest.KNOWN) that keyword searches must find literally
INJECTION_LINE = 'Rejected request with invalid merchant id "m-1\'; DROP TABLE transactions; --" from 203.0.113.7 (400)'
SLOW_QUERY_LINE = (
    "Slow query (5200 ms, 180000 rows examined): UPDATE fraud_scores SET recalculated=true WHERE checked_at < now()"
)

TOOLS = {
    "search_logs",
    "count_errors",
    "get_slow_queries",
    "trace_transaction",
    "error_timeline",
    "log_patterns",
    "list_services",
}


@pytest.fixture
def server(known: Any) -> Any:
    return create_server(known.settings, known.store, clock=known.clock)


async def call(server: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


async def test_tools_are_read_only_and_their_schemas_state_the_bounds(server: Any) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.description and len(tool.description) > 80, "docstrings are written for the model"
        assert tool.output_schema is not None
    search = tools["search_logs"].input_schema["properties"]
    assert search["limit"]["minimum"] == 1 and search["limit"]["maximum"] == 100 and search["limit"]["default"] == 20
    assert search["time_range"]["enum"] == ["15m", "1h", "6h", "24h", "7d"] and search["time_range"]["default"] == "1h"
    levels = next(option for option in search["level"]["anyOf"] if "enum" in option)["enum"]
    assert levels == ["ERROR", "WARN", "INFO", "DEBUG"]
    assert tools["count_errors"].input_schema["properties"]["group_by"]["enum"] == ["service", "host", "message"]


async def test_search_by_keyword_is_newest_first_and_case_insensitive(server: Any) -> None:
    result = await call(server, "search_logs", keyword="OutOfMemoryError")
    lines = result["lines"]
    assert [line["host"] for line in lines] == ["payment-gw-ghi56", "payment-gw-def34", "payment-gw-def34"]
    assert [line["timestamp"] for line in lines] == sorted((line["timestamp"] for line in lines), reverse=True)
    assert lines[0] == {
        "timestamp": "2026-11-26T14:22:30.000Z",
        "service": "payment-gateway",
        "level": "ERROR",
        "host": "payment-gw-ghi56",
        "namespace": "payments",
        "logger": "BatchReconciliation",
        "message": "java.lang.OutOfMemoryError: Java heap space",
    }, "compact: no nulls, no pod equal to host, no empty trace id"
    assert (
        result["count"] == 3
        and result["truncated"] is False
        and result["window"]["since"] == "2026-11-26T13:23:00.000Z"
    )
    lower = await call(server, "search_logs", keyword="outofmemoryERROR", service="payment-gateway", level="ERROR")
    assert lower["lines"] == lines


async def test_search_truncates_and_says_how_to_narrow(server: Any) -> None:
    result = await call(server, "search_logs", keyword="upstream timeout", limit=5)
    assert result["count"] == 5 and result["truncated"] is True
    assert "limit" in result["hint"] and "service" in result["hint"]
    assert result["lines"][0]["trace_id"] == "tx-abc123"
    empty = await call(server, "search_logs", keyword="OutOfMemoryError", time_range="15m", service="auth-service")
    assert empty["lines"] == [] and "widen time_range" in empty["hint"]


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("100%", ["Discount 100% applied to order_id 42"]),
        ("%", ["Discount 100% applied to order_id 42"]),
        ("order_", ["Discount 100% applied to order_id 42"]),
        ("O'Brien", ["User O'Brien logged in"]),
        (
            "DROP TABLE",
            [INJECTION_LINE],
        ),
        (
            "'; drop table transactions; --",
            [INJECTION_LINE],
        ),
        ("UPDATE fraud_scores", [SLOW_QUERY_LINE]),
        ("MÜLLER", ["Zahlung für Müller über 12,50 € abgelehnt — 支付失败"]),
        ("支付失败", ["Zahlung für Müller über 12,50 € abgelehnt — 支付失败"]),
        ("C:\\temp\\new", ["Wrote report to C:\\temp\\new_report.csv"]),
        ("\\", ["Wrote report to C:\\temp\\new_report.csv"]),
        ("' OR '1'='1", []),
        ("%_%", []),
    ],
)
async def test_keyword_is_a_literal_substring(server: Any, keyword: str, expected: list[str]) -> None:
    result = await call(server, "search_logs", keyword=keyword, limit=100)
    assert [line["message"] for line in result["lines"]] == expected


async def test_count_errors_by_service_host_and_normalized_message(server: Any) -> None:
    by_service = await call(server, "count_errors")
    # 3 OutOfMemoryErrors, tx-abc123's two errors, one connection reset, 20 timeouts
    assert by_service["total_errors"] == 26 and by_service["total_groups"] == 3
    assert [(g["key"], g["errors"]) for g in by_service["groups"]] == [
        ("payment-gateway", 24),
        ("auth-service", 1),
        ("fraud-detection", 1),
    ]
    assert by_service["groups"][0]["percent"] == 92.3 and by_service["groups"][0]["host_count"] == 3
    by_host = await call(server, "count_errors", group_by="host", limit=2)
    assert [(g["key"], g["errors"]) for g in by_host["groups"]] == [("payment-gw-abc12", 20), ("payment-gw-def34", 3)]
    assert by_host["truncated"] is True and by_host["total_groups"] == 5 and "raise limit" in by_host["hint"]
    by_message = await call(server, "count_errors", group_by="message")
    groups = {g["key"]: g for g in by_message["groups"]}
    assert groups["Transaction <id> failed: upstream timeout (<duration>)"]["errors"] == 21
    assert groups["Transaction <id> failed: upstream timeout (<duration>)"]["hosts"] == [
        "payment-gw-abc12",
        "payment-gw-def34",
    ]
    assert groups["java.lang.OutOfMemoryError: Java heap space"]["errors"] == 3
    assert groups["Connection reset by peer <ip>"]["errors"] == 1  # the other two are more than an hour old
    assert groups["Transaction <id> failed: upstream timeout (<duration>)"]["percent"] == round(100 * 21 / 26, 1)


async def test_slow_queries_slowest_first_with_filters(server: Any) -> None:
    result = await call(server, "get_slow_queries")
    assert [q["duration_ms"] for q in result["queries"]] == [12500, 8700, 5200]
    assert result["queries"][0] == {
        "timestamp": "2026-11-26T14:18:30.000Z",
        "service": "payment-gateway",
        "pod": "payment-gw-def34",
        "duration_ms": 12500,
        "rows_examined": 2_100_000,
        "query": "SELECT * FROM transactions WHERE created_at > '2026-11-25'",
    }
    fraud = await call(server, "get_slow_queries", service="fraud-detection", min_duration_ms=0)
    assert [q["query"][:19] for q in fraud["queries"]] == ["UPDATE fraud_scores"]
    everything = await call(server, "get_slow_queries", min_duration_ms=0, limit=3)
    assert everything["truncated"] is True and len(everything["queries"]) == 3


async def test_trace_across_services_with_the_first_error(server: Any) -> None:
    trace = await call(server, "trace_transaction", trace_id="tx-abc123")
    assert trace["services"] == ["payment-gateway", "auth-service", "fraud-detection"]
    assert trace["event_count"] == 5 and trace["has_error"] is True
    assert trace["first_timestamp"] == "2026-11-26T14:20:30.000Z" and trace["duration_ms"] == 3000
    assert [e["offset_ms"] for e in trace["events"]] == sorted(e["offset_ms"] for e in trace["events"])
    assert [e["offset_ms"] for e in trace["events"]] == [0, 6, 890, 2000, 3000]
    assert trace["first_error"] == {
        "offset_ms": 2000,
        "timestamp": "2026-11-26T14:20:32.000Z",
        "service": "fraud-detection",
        "host": "fraud-ml-01",
        "level": "ERROR",
        "logger": "VelocityCache",
        "message": "Unable to fetch velocity data from Redis — cache miss",
    }


async def test_unknown_trace_is_an_error_saying_where_ids_come_from(server: Any) -> None:
    async with Client(server) as client:
        result = await client.call_tool("trace_transaction", {"trace_id": "tx-nosuch"})
    assert result.is_error
    assert "no log lines with trace_id 'tx-nosuch'" in result.content[0].text
    assert "search_logs" in result.content[0].text


async def test_error_timeline_finds_when_errors_rose_above_the_baseline(server: Any) -> None:
    timeline = await call(server, "error_timeline")
    assert timeline["bucket"] == "1m" and len(timeline["buckets"]) == 61
    baseline = timeline["baseline"]
    assert baseline["source"] == "previous window" and baseline["errors"] == 2
    # the timeouts come every 10 s from 14:13:30: 14:14 is the first minute with at least 5 errors
    assert timeline["first_rise"] == {
        "at": "2026-11-26T14:14:00.000Z",
        "errors": 6,
        "error_rate": timeline["first_rise"]["error_rate"],
        "top_services": [{"service": "payment-gateway", "errors": 6}],
    }
    assert timeline["first_rise"]["error_rate"] > baseline["threshold"] > baseline["error_rate"] > 0
    assert sum(b["error"] for b in timeline["buckets"]) == 26
    assert sum(b["total"] for b in timeline["buckets"]) > 100
    payments = await call(server, "error_timeline", service="auth-service", time_range="6h", bucket="15m")
    assert payments["bucket"] == "15m" and payments["service"] == "auth-service"
    assert sum(b["error"] for b in payments["buckets"]) == 3


async def test_error_timeline_refuses_too_many_buckets(server: Any) -> None:
    async with Client(server) as client:
        result = await client.call_tool("error_timeline", {"time_range": "7d", "bucket": "1m"})
    assert result.is_error
    assert result.content[0].text == (
        "bucket 1m over time_range 7d makes 10080 buckets (at most 500); use a larger bucket or bucket=auto (2h)"
    )


async def test_log_patterns_marks_new_templates_first(server: Any) -> None:
    patterns = await call(server, "log_patterns", level="ERROR")
    templates = {t["template"]: t for t in patterns["templates"]}
    timeouts = templates["Transaction <id> failed: upstream timeout (<duration>)"]
    assert timeouts["new"] is True and timeouts["count"] == 21 and timeouts["previous_count"] == 0
    assert timeouts["example"].startswith("Transaction tx-")
    reset = templates["Connection reset by peer <ip>"]
    assert reset["new"] is False and reset["count"] == 1 and reset["previous_count"] == 2
    assert [t["new"] for t in patterns["templates"]] == sorted((t["new"] for t in patterns["templates"]), reverse=True)
    assert patterns["new_templates"] == 3 and patterns["total_templates"] == 4


async def test_list_services_with_volumes_and_error_rates(server: Any) -> None:
    services = await call(server, "list_services")
    by_name = {s["service"]: s for s in services["services"]}
    assert list(by_name) == ["payment-gateway", "fraud-detection", "auth-service"]  # errors, then lines
    payment = by_name["payment-gateway"]
    assert payment["errors"] == 24 and payment["error_rate"] == round(24 / payment["lines"], 4)
    assert "payment-gw-def34" in payment["hosts"]
    assert by_name["auth-service"]["previous_error_rate"] > 0


async def test_schema_resource_describes_the_tables(server: Any) -> None:
    async with Client(server) as client:
        resources = (await client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["logs://schema"]
        text = (await client.read_resource("logs://schema")).contents[0].text
    assert "## application_logs" in text and "## slow_queries" in text
    assert "| trace_id | String |" in text and "bloom filter" in text and "minute_counts" in text


async def test_the_lifespan_opens_and_closes_its_own_store(known: Any) -> None:
    server = create_server(known.settings, clock=known.clock)  # no store: the lifespan opens one
    for _ in range(2):  # closed after the session, opened again by the next
        async with Client(server) as client:
            result = await client.call_tool("search_logs", {"keyword": "O'Brien"})
        assert result.structured_content["count"] == 1


async def texts(server: Any, *requests: tuple[str, dict[str, Any]]) -> list[str]:
    async with Client(server) as client:
        results = [await client.call_tool(tool, arguments) for tool, arguments in requests]
    assert not any(result.is_error for result in results)
    return [result.content[0].text for result in results]


async def test_the_text_a_model_reads_is_one_line_per_record(server: Any) -> None:
    search, trace, timeline, patterns, errors, services, slow = await texts(
        server,
        ("search_logs", {"keyword": "OutOfMemoryError"}),
        ("trace_transaction", {"trace_id": "tx-abc123"}),
        ("error_timeline", {}),
        ("log_patterns", {"level": "ERROR"}),
        ("count_errors", {"group_by": "message"}),
        ("list_services", {}),
        ("get_slow_queries", {}),
    )
    assert search.splitlines() == [
        "3 lines, newest first, 1h (2026-11-26T13:23:00.000Z to 2026-11-26T14:23:30.000Z), keyword='OutOfMemoryError'",
        "2026-11-26T14:22:30.000Z ERROR payment-gateway payment-gw-ghi56 BatchReconciliation: "
        "java.lang.OutOfMemoryError: Java heap space",
        "2026-11-26T14:18:30.000Z ERROR payment-gateway payment-gw-def34 BatchReconciliation: "
        "java.lang.OutOfMemoryError: Java heap space",
        "2026-11-26T14:13:30.000Z ERROR payment-gateway payment-gw-def34 BatchReconciliation: "
        "java.lang.OutOfMemoryError: Java heap space",
    ]
    head, first_error, *events = trace.splitlines()
    assert head.startswith("trace tx-abc123: 5 lines over 3000 ms") and "payment-gateway -> auth-service" in head
    assert first_error.startswith("first error: +2000ms ") and "Unable to fetch velocity data" in first_error
    assert events[-1].endswith("Transaction tx-abc123 failed: upstream timeout (30s) (status=504, duration=30072ms)")
    assert len(events) == 5
    lines = timeline.splitlines()
    assert lines[0].startswith("error timeline 1h by 1m (") and "baseline (previous window" in lines[0]
    assert any(line.startswith("first_rise: ") for line in lines) and any(line.startswith("peak: ") for line in lines)
    assert "start | total | error | warn | info | debug | error_rate" in lines
    header = "new | count | before | service | level | template | first_seen | last_seen | example"
    assert patterns.splitlines()[1] == header
    assert any("| Transaction <id> failed: upstream timeout (<duration>) |" in line for line in patterns.splitlines())
    assert errors.splitlines()[0].startswith("26 errors in ")
    assert services.splitlines()[1].startswith("service | lines | errors | warnings | error_rate")
    assert slow.splitlines()[1] == "duration_ms | rows_examined | timestamp | service | pod | query"
    for text in (search, trace, timeline, patterns, errors, services, slow):
        assert "{" not in text.splitlines()[0] and "null" not in text  # no JSON, no nulls
