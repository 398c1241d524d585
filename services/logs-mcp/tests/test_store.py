"""Opening the store: configuration errors name the variable, the schema is idempotent, a store held by another
process is refused with a message naming the directory and the holder, an unseeded store says so.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import clickhouse_connect
import pytest
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, StoreUnavailableError, apply_schema, connect
from mcp_common.runner import main_for
from mcp_common.settings import ConfigError, load_settings

HOLDER = """
import sys, clickhouse_connect
client = clickhouse_connect.get_client(interface="chdb", path=sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
client.close()
"""


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOGS_MCP_QUERY_TIMEOUT_S", "soon"),
        ("LOGS_MCP_QUERY_TIMEOUT_S", "0"),
        ("LOGS_MCP_CLICKHOUSE_URL", "ftp://clickhouse:8123"),
        ("LOGS_MCP_CLICKHOUSE_DATABASE", "logs; DROP DATABASE logs"),
        ("LOGS_MCP_MAX_RESULT_ROWS", "10000000"),
        ("LOGS_MCP_FIXED_NOW", "2026-11-26T14:23:30"),  # no zone
    ],
)
def test_invalid_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(LogsSettings)


def test_the_embedded_store_without_chdb_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chDB is the `embedded` extra: a server installed without it says how to get it, or to use a server."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "chdb" else real(name, *a))
    with pytest.raises(StoreUnavailableError, match=r"sre-lab-logs-mcp\[embedded\].*LOGS_MCP_CLICKHOUSE_URL"):
        connect(LogsSettings(data_dir=tmp_path))


def test_a_missing_embedded_directory_fails_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(
        StoreUnavailableError, match=r"LOGS_MCP_DATA_DIR: the embedded log store .*nowhere does not exist"
    ):
        create_server(LogsSettings(data_dir=missing))
    monkeypatch.setenv("LOGS_MCP_DATA_DIR", str(missing))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main_for("logs-mcp", LogsSettings, create_server, argv=[]) == 2
    finally:  # main_for points logging at this test's captured stderr; give the next tests theirs back
        root.handlers[:], root.level = handlers, level
    assert "error: LOGS_MCP_DATA_DIR: the embedded log store" in capsys.readouterr().err


def test_an_unreachable_server_is_named() -> None:
    settings = LogsSettings(clickhouse_url="http://127.0.0.1:9/", query_timeout_s=1)
    with pytest.raises(
        StoreUnavailableError, match=r"LOGS_MCP_CLICKHOUSE_URL: cannot reach ClickHouse at 127\.0\.0\.1:9"
    ):
        connect(settings)


@pytest.mark.anyio
async def test_a_store_that_cannot_open_makes_every_call_say_why() -> None:
    server = create_server(LogsSettings(clickhouse_url="http://127.0.0.1:9/", query_timeout_s=1))
    async with Client(server) as client:
        assert len((await client.list_tools()).tools) == 7  # serving does not wait for the store
        result = await client.call_tool("list_services", {})
    assert result.is_error
    assert result.content[0].text == "LOGS_MCP_CLICKHOUSE_URL: cannot reach ClickHouse at 127.0.0.1:9"


def test_schema_is_idempotent_and_an_unseeded_store_says_so(tmp_path: Path) -> None:
    settings = LogsSettings(data_dir=tmp_path / "clickhouse")
    writer = connect(settings, writer=True)
    try:
        writer.command("CREATE DATABASE IF NOT EXISTS logs")
        writer.database = "logs"
        with pytest.raises(StoreUnavailableError, match="no application_logs, slow_queries: seed the logs first"):
            LogStore(writer, settings).require_tables()
        apply_schema(writer, "logs")
        writer.command(
            "INSERT INTO application_logs (timestamp, service, level, host, message) "
            "VALUES (now64(3), 's', 'INFO', 'h', 'm 1')"
        )
        apply_schema(writer, "logs")  # again: nothing changes, nothing is lost
        tables = writer.query("SELECT name FROM system.tables WHERE database = 'logs' ORDER BY name").result_rows
        assert tables == [("application_logs",), ("slow_queries",)]
        assert writer.query("SELECT count(), any(signature) FROM application_logs").result_rows == [(1, "m <num>")]
    finally:
        writer.close()


def test_a_store_held_by_another_process_is_refused_naming_dir_and_holder(
    tmp_path: Path, known_dataset: Callable[[Path], LogsSettings]
) -> None:
    settings = known_dataset(tmp_path / "clickhouse")
    command = [sys.executable, "-c", HOLDER, str(settings.data_dir)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "ready"
            with pytest.raises(StoreUnavailableError) as refused:
                create_server(settings)
        finally:
            holder.stdin.close()  # the holder reads stdin to its end, then closes its client and exits
            holder.wait(timeout=30)
    message = str(refused.value)
    assert f"the embedded log store {settings.data_dir.resolve()} is in use by pid {holder.pid}" in message
    assert "-c" in message and "since" in message, "the holder's command line and start time"
    assert "one process per directory" in message and "LOGS_MCP_CLICKHOUSE_URL" in message
    create_server(settings)  # released: starts


@pytest.mark.anyio
async def test_released_store_serves_again(tmp_path: Path, known_dataset: Callable[[Path], LogsSettings]) -> None:
    settings = known_dataset(tmp_path / "clickhouse")
    async with Client(create_server(settings)) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == 7


def test_a_clickhouse_without_text_indexes_gets_a_bloom_filter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The compose lab's ClickHouse 25.8 has no text index of this kind; a server with it disabled refuses it the
    same way. The schema falls back to a token bloom filter and says so; searches answer the same."""
    client = clickhouse_connect.get_client(
        interface="chdb", path=str(tmp_path / "store"), settings={"enable_full_text_index": 0}
    )
    try:
        with caplog.at_level(logging.WARNING, logger="logs_mcp.store"):
            assert apply_schema(client, "logs") == "bloom"
            assert apply_schema(client, "logs") == "bloom"  # idempotent
        assert "no text index on this ClickHouse" in caplog.text
        indexes = client.query(
            "SELECT name, type FROM system.data_skipping_indices WHERE table = 'application_logs' ORDER BY name"
        ).result_rows
        assert indexes == [("message_words", "tokenbf_v1"), ("trace_id_bloom", "bloom_filter")]
        client.command("INSERT INTO application_logs (timestamp, service, level, host, message) VALUES "
                       "(now64(3), 'a', 'ERROR', 'h', 'java.lang.OutOfMemoryError: Java heap space')")  # fmt: skip
        found = client.query(
            "SELECT count() FROM application_logs WHERE hasToken(lowerUTF8(message), 'outofmemoryerror')"
        ).result_rows
        assert found == [(1,)]
    finally:
        client.close()
