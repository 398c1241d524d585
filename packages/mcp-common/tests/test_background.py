"""The skeleton: a store opened in the background, reached through the typed application context, /healthz."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from starlette.testclient import TestClient

from mcp_common.audit import AuditLog
from mcp_common.background import Background, open_in_background
from mcp_common.errors import ConfigError, StoreUnavailableError
from mcp_common.factory import READ_ONLY, current_app, new_server
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings, server_config

pytestmark = pytest.mark.anyio


class StoreSettings(ServerSettings):
    model_config = server_config("STORE_MCP_")


class FakeStore:
    """A store whose opening the test controls: it blocks until released, or fails as told."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.failures: list[Exception] = []
        self.opened = 0
        self.closed: list[str] = []

    def open(self) -> str:
        self.release.wait(timeout=30)
        self.opened += 1
        if self.failures:
            raise self.failures.pop(0)
        return f"store#{self.opened}"

    def close(self, value: str) -> None:
        self.closed.append(value)


@dataclass(frozen=True)
class App:
    store: Background[str]


def build(store: FakeStore, wait_s: float = 30.0) -> MCPServer[App]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[App]) -> AsyncIterator[App]:
        async with open_in_background("the fake store", store.open, close=store.close, wait_s=wait_s) as opened:
            yield App(opened)

    async def healthy(app: App) -> bool:
        return app.store.value is not None

    server = new_server(
        "store-mcp",
        StoreSettings(),
        instructions="",
        version="0",
        lifespan=lifespan,
        health=healthy,
        audit=AuditLog(None),
        limiter=RateLimiter(6000, 1000),
    )

    @server.tool(title="Read the store", annotations=READ_ONLY)
    async def read(ctx: Context[App]) -> str:
        """Which store answered."""
        return await ctx.request_context.lifespan_context.store.get()

    @server.resource("store://name", name="name", mime_type="text/plain")
    async def name() -> str:
        return await current_app(server).store.get()  # a static resource has no request context

    return server


async def test_serving_starts_before_the_store_opens_and_calls_wait_for_it() -> None:
    store = FakeStore()
    async with Client(build(store)) as client:
        tools = await client.list_tools()  # answered while the opener is still blocked
        assert [t.name for t in tools.tools] == ["read"] and store.opened == 0
        async with anyio.create_task_group() as tasks:
            results: list[Any] = []

            async def call() -> None:
                results.append(await client.call_tool("read", {}))

            tasks.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            assert results == []  # waiting for the opening
            store.release.set()
        assert results[0].content[0].text == "store#1"
    assert store.closed == ["store#1"], "the lifespan closes what it opened"


async def test_a_failed_opening_is_each_calls_clear_error_and_the_next_call_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FakeStore()
    down = StoreUnavailableError("STORE_MCP_URL: cannot reach the store at db:9")
    store.failures = [down, down, RuntimeError("boom")]  # the lifespan's opening, then one retry per call
    store.release.set()
    async with Client(build(store)) as client:
        first = await client.call_tool("read", {})
        second = await client.call_tool("read", {})
        third = await client.call_tool("read", {})
    assert first.is_error and first.content[0].text == "STORE_MCP_URL: cannot reach the store at db:9"
    assert second.is_error and second.content[0].text == "the fake store failed to open; the server logged the details"
    assert "boom" in caplog.text, "an unexpected failure is logged with its traceback, not sent"
    assert not third.is_error and third.content[0].text == "store#4"
    assert store.opened == 4


async def test_a_resource_that_cannot_reach_its_store_says_why() -> None:
    store = FakeStore()
    down = StoreUnavailableError("STORE_MCP_URL: cannot reach the store at db:9")
    store.failures = [down, down]
    store.release.set()
    async with Client(build(store)) as client:
        with pytest.raises(MCPError) as failed:
            await client.read_resource("store://name")
        again = await client.read_resource("store://name")
    assert failed.value.error.message == "STORE_MCP_URL: cannot reach the store at db:9"
    assert again.contents[0].text == "store#3"


async def test_a_call_waits_no_longer_than_its_deadline() -> None:
    store = FakeStore()
    async with Client(build(store, wait_s=0)) as client:
        result = await client.call_tool("read", {})
        store.release.set()
    assert result.is_error and result.content[0].text == "the fake store is still opening; retry in a few seconds"


async def test_concurrent_calls_after_a_failure_share_one_retry() -> None:
    opened: list[int] = []
    gate = threading.Event()

    def opener() -> str:
        opened.append(1)
        if len(opened) <= 2:  # the lifespan's opening and the first call's retry
            raise ConfigError("STORE_MCP_DIR: no such directory")
        gate.wait(timeout=30)
        return "store"

    async with open_in_background("the store", opener) as background:
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(StoreUnavailableError, match="STORE_MCP_DIR"):
            await background.get()
        results: list[str] = []
        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(lambda: _append(results, background.get()))
            await anyio.wait_all_tasks_blocked()
            gate.set()
    assert results == ["store"] * 5
    assert len(opened) == 3, "one retry served all five waiting calls"


async def _append(results: list[str], value: Any) -> None:
    results.append(await value)


async def test_shutdown_during_the_opening_still_closes_what_it_opened() -> None:
    store = FakeStore()
    with anyio.fail_after(10):  # a bound on a broken test, not a timing assertion
        async with open_in_background("the fake store", store.open, close=store.close) as background:
            await anyio.wait_all_tasks_blocked()
            store.release.set()  # the opening finishes while the block exits
    assert store.closed == ["store#1"]
    with pytest.raises(StoreUnavailableError, match="closed"):
        await background.get()
    assert store.opened == 1, "nothing reopens after the close"


async def test_a_ready_value_is_served_as_is_and_not_closed() -> None:
    ready = Background.ready("given", "the given store")
    assert await ready.get() == "given" and ready.value == "given"
    await ready.aclose()


def test_healthz_reaches_the_application_context_without_a_request() -> None:
    store = FakeStore()
    server = build(store)
    with TestClient(server.streamable_http_app()) as http:
        assert http.get("/healthz").status_code == 503  # serving, store still opening
        assert current_app(server).store.value is None
        store.release.set()
        assert http.portal is not None  # the app's own event loop, where the store's primitives live
        assert http.portal.call(current_app(server).store.get) == "store#1"
        answer = http.get("/healthz")
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    with pytest.raises(StoreUnavailableError, match="not running"):
        current_app(server)
    assert store.closed == ["store#1"]
