"""Concurrent sessions share logs-mcp's one store: every call answers, and answers what a lone call answers.

One logs-mcp process serves its HTTP clients and its `docker exec -i` stdio sessions at once, each tool call in a
worker thread, all through the one `LogStore` its lifespan opened. Both kinds of store are tested: the embedded chDB
directory, and a ClickHouse server over HTTP, here `make test-stack`'s stand-in (.ci/stack/clickhouse-standin:
ClickHouse's HTTP interface over chDB, in a subprocess that owns its own directory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from clickhouse_connect.driver.client import Client as ClickHouseClient
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, connect

pytestmark = pytest.mark.anyio

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
def http_known(
    standin: Any, write_known: Callable[[ClickHouseClient], None]
) -> Iterator[tuple[LogsSettings, LogStore]]:
    """The known dataset written through the stand-in as lab_writer; the store open as logs_reader, as in compose."""
    writer = connect(standin.settings("lab_writer"), writer=True)
    try:
        write_known(writer)
    finally:
        writer.close()
    settings = standin.settings("logs_reader")
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
