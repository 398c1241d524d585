"""Concurrent sessions share logs-mcp's one store: every call answers, and answers what a lone call answers.

One logs-mcp process serves its HTTP clients and its `docker exec -i` stdio sessions at once, each tool call in a
worker thread, all through the one `LogStore` its lifespan opened. Both kinds of store are tested: the embedded chDB
directory, and a ClickHouse server over HTTP, here `make test-stack`'s stand-in (.ci/stack/clickhouse-standin:
ClickHouse's HTTP interface over chDB, in a subprocess that owns its own directory).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from clickhouse_connect.driver.client import Client as ClickHouseClient
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, connect

pytestmark = pytest.mark.anyio

STANDIN = Path(__file__).resolve().parents[3] / ".ci" / "stack" / "clickhouse-standin" / "server.py"
USERS_FILE = Path(__file__).resolve().parents[3] / "services" / "clickhouse" / "users.d" / "lab-users.xml"
PASSWORDS = {"CLICKHOUSE_READER_PASSWORD": "reader-secret", "CLICKHOUSE_WRITER_PASSWORD": "writer-secret"}
SESSIONS = 4  # clients at once, as an HTTP client and exec sessions would be
CALLS = 6  # per session, all in flight together
# Each a different query; tx-abc123 and the OOM lines are in the known dataset.
CALLS_MADE = (
    ("trace_transaction", {"trace_id": "tx-abc123"}),
    ("search_logs", {"keyword": "OutOfMemoryError", "time_range": "1h"}),
    ("count_errors", {"time_range": "1h"}),
)


async def answers_at_once(settings: LogsSettings, store: LogStore, clock: Callable[[], Any]) -> list[list[str]]:
    """SESSIONS clients of one server, each with CALLS calls in flight at once: each session's answers, in order."""
    server = create_server(settings, store, clock=clock)
    answers: list[list[str]] = [[""] * CALLS for _ in range(SESSIONS)]

    async def call(session: Client, s: int, c: int) -> None:
        name, arguments = CALLS_MADE[c % len(CALLS_MADE)]
        result = await session.call_tool(name, arguments)
        text = result.content[0].text
        answers[s][c] = f"error: {text}" if result.is_error else text

    async def run_session(s: int) -> None:
        async with Client(server) as session, anyio.create_task_group() as calls:
            for c in range(CALLS):
                calls.start_soon(call, session, s, c)

    async with anyio.create_task_group() as sessions:
        for s in range(SESSIONS):
            sessions.start_soon(run_session, s)
    return answers


async def answers_one_by_one(settings: LogsSettings, store: LogStore, clock: Callable[[], Any]) -> list[str]:
    async with Client(create_server(settings, store, clock=clock)) as session:
        expected = []
        for c in range(CALLS):
            name, arguments = CALLS_MADE[c % len(CALLS_MADE)]
            result = await session.call_tool(name, arguments)
            assert not result.is_error, result.content[0].text
            expected.append(result.content[0].text)
    return expected


async def test_concurrent_sessions_on_the_embedded_store(known: Any) -> None:
    expected = await answers_one_by_one(known.settings, known.store, known.clock)
    assert "fraud-detection" in expected[0]
    assert await answers_at_once(known.settings, known.store, known.clock) == [expected] * SESSIONS


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in ClickHouse HTTP server on a free port, over a fresh chDB directory, with the lab's users file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        **PASSWORDS,
        "STANDIN_DATA_DIR": str(tmp_path_factory.mktemp("standin") / "clickhouse"),
        "STANDIN_USERS_FILE": str(USERS_FILE),
        "STANDIN_PORT": str(port),
    }
    process = subprocess.Popen([sys.executable, str(STANDIN)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        # it prints this line once chDB is open and its socket listens
        assert process.stderr is not None
        line = process.stderr.readline()
        assert f"http on :{port}" in line, f"the stand-in did not start: {line}{process.stderr.read()}"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="module")
def http_known(
    standin: str, write_known: Callable[[ClickHouseClient], None]
) -> Iterator[tuple[LogsSettings, LogStore]]:
    """The known dataset written through the stand-in as lab_writer; the store open as logs_reader, as in compose."""
    writer = connect(
        LogsSettings(
            clickhouse_url=standin,
            clickhouse_user="lab_writer",
            clickhouse_password=PASSWORDS["CLICKHOUSE_WRITER_PASSWORD"],
        ),
        writer=True,
    )
    try:
        write_known(writer)
    finally:
        writer.close()
    reader_password = PASSWORDS["CLICKHOUSE_READER_PASSWORD"]
    settings = LogsSettings(clickhouse_url=standin, clickhouse_user="logs_reader", clickhouse_password=reader_password)
    store = LogStore.open(settings)
    try:
        yield settings, store
    finally:
        store.close()


async def test_concurrent_sessions_on_a_clickhouse_server(
    http_known: tuple[LogsSettings, LogStore], known_clock: Callable[[], Any]
) -> None:
    settings, store = http_known
    expected = await answers_one_by_one(settings, store, known_clock)
    assert "fraud-detection" in expected[0]
    assert await answers_at_once(settings, store, known_clock) == [expected] * SESSIONS
