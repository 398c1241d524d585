"""Every tool on the two other sources, through a real MCP session on chDB: an `otel_logs` table created with
the OpenTelemetry Collector's own DDL (tests/fixtures/real/otel), and a table of another layout read through a
column mapping. The reader is read-only (the store's session and every query run with readonly=2): nothing is
created at read time, signatures are computed inline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, StoreUnavailableError, connect
from mcp_common.errors import ConfigError

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
DDL = (Path(__file__).parent / "fixtures" / "real" / "otel" / "logs_table.sql").read_text(encoding="utf-8")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CHECKOUT, PAYMENTS = "checkout", "Payments.API_v2"
MAPPING = "time=ts,service=app,level=severity,host=node,pod=labels['pod'],trace_id=trace,message=msg,duration_ms=took"


def otel_rows() -> list[tuple[Any, ...]]:
    """(Timestamp, TraceId, SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName)."""
    pod = {"host.name": "node-7", "k8s.pod.name": "checkout-5f6d-x2k", "k8s.namespace.name": "shop"}
    pay = {"k8s.pod.name": "payments-0", "k8s.namespace.name": "shop"}
    rows: list[tuple[Any, ...]] = []
    for i in range(60):  # a request a minute for the last hour
        at = NOW - timedelta(minutes=60 - i)
        rows.append((at, "", "INFO", 9, CHECKOUT, f"Order {1000 + i} placed in {20 + i}ms", pod, "shop.orders"))
    for i in range(6):  # payments fail in the last 6 minutes; one trace crosses both services
        at = NOW - timedelta(minutes=6 - i)
        trace = TRACE if i == 0 else f"{i:032x}"
        rows.append((at, trace, "ERROR", 17, PAYMENTS, f"Card authorization failed for order {2000 + i}: timeout", pay,
                     "payments.gateway"))  # fmt: skip
        rows.append((at - timedelta(milliseconds=40), trace, "INFO", 9, CHECKOUT, f"Checkout {2000 + i} started",
                     pod, "shop.orders"))  # fmt: skip
    rows.append((NOW - timedelta(minutes=30), "", "error", 0, PAYMENTS, "Ledger unreachable", pay, "payments"))
    rows.append((NOW - timedelta(minutes=90), "", "WARN", 13, PAYMENTS, "Retrying ledger call 1 of 3", pay, "payments"))
    return rows


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """otel_logs (the collector's DDL, as the exporter fills it on one node) and app_events (another layout)."""
    directory = tmp_path_factory.mktemp("sources") / "clickhouse"
    writer = connect(LogsSettings(data_dir=directory), writer=True)
    try:
        writer.command("CREATE DATABASE IF NOT EXISTS logs")
        writer.command(DDL % ("logs", "otel_logs", "", "MergeTree()", ""))
        writer.insert(
            "logs.otel_logs",
            otel_rows(),
            column_names=("Timestamp", "TraceId", "SeverityText", "SeverityNumber", "ServiceName", "Body",
                          "ResourceAttributes", "ScopeName"),
        )  # fmt: skip
        writer.command(
            "CREATE TABLE logs.app_events (ts DateTime64(6), app String, severity Nullable(String), node String, "
            "labels Map(String, String), trace String, msg String, took Nullable(UInt32)) "
            "ENGINE = MergeTree ORDER BY (app, ts)"
        )
        writer.insert(
            "logs.app_events",
            [
                (NOW - timedelta(minutes=m), "billing", "Warning" if m % 2 else "fatal", "vm-3", {"pod": "billing-1"},
                 f"t{m}", f"Invoice {m} rejected by user alice{m}", 100 * m)
                for m in range(1, 11)
            ],
            column_names=("ts", "app", "severity", "node", "labels", "trace", "msg", "took"),
        )  # fmt: skip
        # an epoch-nanosecond time column and attribute maps, as SigNoz's logs table keeps them
        writer.command(
            "CREATE TABLE logs.signoz_like (timestamp UInt64, body String, severity_text LowCardinality(String), "
            "resources_string Map(String, String), trace_id String) ENGINE = MergeTree ORDER BY timestamp"
        )
        writer.insert(
            "logs.signoz_like",
            [
                (round((NOW - timedelta(minutes=m, microseconds=17)).timestamp() * 1e9), f"charge {m} declined",
                 "ERROR" if m < 3 else "INFO", {"service.name": "payments"}, f"s{m}")
                for m in range(1, 7)
            ],
            column_names=("timestamp", "body", "severity_text", "resources_string", "trace_id"),
        )  # fmt: skip
    finally:
        writer.close()
    return directory


@pytest.fixture(scope="module")
def otel_store(data_dir: Path) -> Iterator[LogStore]:
    store = LogStore.open(LogsSettings(data_dir=data_dir, source="otel"))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def mapped_store(data_dir: Path) -> Iterator[LogStore]:
    store = LogStore.open(LogsSettings(data_dir=data_dir, source="mapped", table="app_events", columns=MAPPING))
    try:
        yield store
    finally:
        store.close()


async def calls(store: LogStore, *requests: tuple[str, dict[str, Any]]) -> list[Any]:
    async with Client(create_server(store.settings, store, clock=lambda: NOW)) as client:
        return [await client.call_tool(tool, arguments) for tool, arguments in requests]


async def test_otel_logs_answer_every_tool(otel_store: LogStore) -> None:
    services, search, first, errors, messages, trace, timeline, patterns, slow = await calls(
        otel_store,
        ("list_services", {}),
        ("search_logs", {"service": PAYMENTS, "level": "ERROR", "keyword": "authorization"}),
        ("search_logs", {"level": "ERROR", "order": "oldest", "limit": 1}),
        ("count_errors", {"group_by": "host"}),
        ("count_errors", {"group_by": "message"}),
        ("trace_transaction", {"trace_id": TRACE}),
        ("error_timeline", {"bucket": "5m"}),
        ("log_patterns", {"service": PAYMENTS, "level": "ERROR"}),
        ("get_slow_queries", {}),
    )
    by_name = {s["service"]: s for s in services.structured_content["services"]}
    assert by_name[PAYMENTS]["errors"] == 7 and by_name[CHECKOUT]["errors"] == 0  # SeverityText "error", number 0
    assert by_name[CHECKOUT]["hosts"] == ["node-7"] and by_name[PAYMENTS]["hosts"] == ["payments-0"]
    lines = search.structured_content["lines"]
    assert len(lines) == 6 and lines[0]["message"] == "Card authorization failed for order 2005: timeout"
    assert lines[0]["host"] == "payments-0" and lines[0]["namespace"] == "shop"
    assert first.structured_content["lines"][0]["message"] == "Ledger unreachable"  # the oldest error of the hour
    assert errors.structured_content["groups"][0] == {
        **errors.structured_content["groups"][0], "key": "payments-0", "errors": 7,
    }  # fmt: skip
    keys = [g["key"] for g in messages.structured_content["groups"]]
    assert keys[0] == "Card authorization failed for order <num>: timeout" and "Ledger unreachable" in keys
    assert trace.structured_content["services"] == [CHECKOUT, PAYMENTS]
    assert trace.structured_content["first_error"]["service"] == PAYMENTS
    assert timeline.structured_content["peak"]["errors"] == 3  # 14:17:30 … 14:22:30: three in each of two buckets
    assert sum(b["error"] for b in timeline.structured_content["buckets"]) == 7
    assert timeline.structured_content["first_error"]["message"] == "Ledger unreachable"
    templates = patterns.structured_content["templates"]
    assert [(t["template"], t["count"]) for t in templates] == [
        ("Card authorization failed for order <num>: timeout", 6),
        ("Ledger unreachable", 1),
    ]
    assert slow.is_error and slow.content[0].text.startswith("slow queries are not available: the otel source")
    assert "\n" not in slow.content[0].text  # one line


async def test_otel_schema_resource_shows_the_mapping(otel_store: LogStore) -> None:
    async with Client(create_server(otel_store.settings, otel_store, clock=lambda: NOW)) as client:
        text = (await client.read_resource("logs://schema")).contents[0].text
    assert text.startswith("# logs-mcp source: otel_logs (OpenTelemetry otel_logs) — 74 rows")
    assert "| service | `ServiceName` |" in text and "ResourceAttributes['k8s.pod.name']" in text


async def test_a_mapped_table_answers_every_tool(mapped_store: LogStore) -> None:
    services, search, errors, trace, timeline, patterns, slow = await calls(
        mapped_store,
        ("list_services", {}),
        ("search_logs", {"service": "billing", "keyword": "invoice 3 "}),
        ("count_errors", {"group_by": "message"}),
        ("trace_transaction", {"trace_id": "t4"}),
        ("error_timeline", {"time_range": "15m"}),
        ("log_patterns", {}),
        ("get_slow_queries", {}),
    )
    billing = services.structured_content["services"][0]
    assert billing["service"] == "billing" and billing["errors"] == 5 and billing["warnings"] == 5  # fatal, Warning
    line = search.structured_content["lines"][0]
    assert (line["host"], line["pod"], line["duration_ms"], line["trace_id"]) == ("vm-3", "billing-1", 300, "t3")
    assert errors.structured_content["groups"][0]["key"] == "Invoice <num> rejected by user <*>"
    assert trace.structured_content["event_count"] == 1 and trace.structured_content["has_error"] is True
    assert sum(b["error"] for b in timeline.structured_content["buckets"]) == 5
    assert {t["template"] for t in patterns.structured_content["templates"]} == {"Invoice <num> rejected by user <*>"}
    assert slow.is_error and "the mapped source (app_events)" in slow.content[0].text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"source": "mapped", "table": "app_events"},
            "LOGS_MCP_SOURCE=mapped needs LOGS_MCP_TABLE and LOGS_MCP_COLUMNS",
        ),
        ({"source": "mapped", "table": "x", "columns": "message=msg"}, "the mapping needs time"),
        ({"source": "mapped", "table": "x", "columns": "time=ts,message=msg; DROP"}, "is not a column reference"),
        ({"source": "mapped", "table": "x", "columns": "when=ts,message=msg"}, "unknown column key(s) when"),
        ({"source": "otel", "table": "logs.otel_logs; --"}, "LOGS_MCP_TABLE: 'logs.otel_logs; --' is not a table"),
    ],
)
def test_a_bad_mapping_stops_the_server_at_start(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        LogsSettings(data_dir=tmp_path, **settings)  # type: ignore[arg-type]


def test_a_mapping_naming_a_missing_column_is_refused_at_open(data_dir: Path) -> None:
    settings = LogsSettings(data_dir=data_dir, source="mapped", table="app_events", columns="time=ts,message=body")
    with pytest.raises(StoreUnavailableError, match=r"the mapped source 'app_events' cannot be read: .*body"):
        LogStore.open(settings)


async def test_an_epoch_time_column_is_read_by_its_declared_unit(data_dir: Path) -> None:
    columns = (
        "time=timestamp:ns,message=body,level=severity_text,service=resources_string['service.name'],trace_id=trace_id"
    )
    store = LogStore.open(LogsSettings(data_dir=data_dir, source="mapped", table="signoz_like", columns=columns))
    try:
        search, errors = await calls(
            store, ("search_logs", {"service": "payments", "time_range": "15m"}), ("count_errors", {})
        )
    finally:
        store.close()
    lines = search.structured_content["lines"]
    assert [line["message"] for line in lines] == [f"charge {m} declined" for m in range(1, 7)]  # newest first
    assert lines[0]["timestamp"].startswith("2026-11-26T14:22:29.99")  # NOW - 1 min, to the millisecond
    assert errors.structured_content["total_errors"] == 2


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("time=timestamp,message=body", "its time column timestamp is UInt64, an epoch number; give its unit"),
        ("time=timestamp:ms,message=body", "read as :ms is in the year"),  # nanoseconds read as milliseconds
    ],
)
def test_an_epoch_column_without_its_unit_or_with_another_is_refused_at_open(
    data_dir: Path, columns: str, message: str
) -> None:
    settings = LogsSettings(data_dir=data_dir, source="mapped", table="signoz_like", columns=columns)
    with pytest.raises(StoreUnavailableError, match=re.escape(message)):
        LogStore.open(settings)


def test_a_unit_on_a_date_time_column_or_an_unknown_unit_is_refused(data_dir: Path, tmp_path: Path) -> None:
    settings = LogsSettings(data_dir=data_dir, source="mapped", table="app_events", columns="time=ts:ms,message=msg")
    with pytest.raises(StoreUnavailableError, match=r"its time column ts is DateTime64\(6\), not an epoch number"):
        LogStore.open(settings)
    with pytest.raises(ConfigError, match=r"an epoch-number column with its unit \(time=ts:ns, :us, :ms or :s\)"):
        LogsSettings(data_dir=tmp_path, source="mapped", table="x", columns="time=ts:days,message=msg")


def test_a_mapping_file(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "source.toml"
    path.write_text('table = "app_events"\n[columns]\ntime = "ts"\nmessage = "msg"\nservice = "app"\n')
    store = LogStore.open(LogsSettings(data_dir=data_dir, source="mapped", source_file=path))
    try:
        assert store.rows("source_stats", {})[0]["rows"] == 10
    finally:
        store.close()


async def test_words_and_substrings_on_the_other_sources(otel_store: LogStore, mapped_store: LogStore) -> None:
    otel_word, otel_inside = await calls(
        otel_store,
        ("search_logs", {"keyword": "authoriz"}),
        ("search_logs", {"keyword": "authoriz", "match": "substring"}),
    )
    assert otel_word.structured_content["count"] == 0 and "match='substring'" in otel_word.structured_content["hint"]
    assert otel_inside.structured_content["count"] == 6
    (mapped,) = await calls(mapped_store, ("search_logs", {"keyword": "ALICE3", "match": "substring"}))
    assert [line["message"] for line in mapped.structured_content["lines"]] == ["Invoice 3 rejected by user alice3"]
