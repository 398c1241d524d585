"""Write tools: the intent is durable before the change, the outcome follows on every path, or nothing happens."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from mcp_common.audit import AuditLog, verify
from mcp_common.blocking import run_blocking
from mcp_common.effects import audited_effect
from mcp_common.factory import DESTRUCTIVE, READ_ONLY, new_server
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings, server_config

pytestmark = pytest.mark.anyio


class WriterSettings(ServerSettings):
    model_config = server_config("WRITER_MCP_")


@dataclass
class Store:
    """A value changed in a worker thread, like a Kubernetes call: the test holds the thread at `gate`."""

    value: int = 0
    started: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)
    finished: anyio.Event = field(default_factory=anyio.Event)
    fail: bool = False

    def set(self, value: int) -> None:
        self.started.set()
        self.gate.wait(timeout=30)
        if self.fail:
            raise RuntimeError("api said: password=hunter2 conflict")
        self.value = value


@asynccontextmanager
async def no_state(_: MCPServer[None]) -> AsyncIterator[None]:
    yield None


def build(audit: AuditLog, store: Store, timeout_s: float = 30) -> MCPServer[Any]:
    server = new_server(
        "writer-mcp",
        WriterSettings(),
        instructions="w",
        version="0",
        lifespan=no_state,
        audit=audit,
        limiter=RateLimiter(6000, 1000),
    )

    @server.tool(annotations=DESTRUCTIVE)
    async def set_value(value: int, notes: int = 0) -> str:
        """Set the value; `notes` long notes make the intent line longer than a disk page."""
        details: dict[str, Any] = {"from": store.value, "to": value, "api_token": "tok-secret-1"}
        details |= {f"note{i}": "n" * 250 for i in range(notes)}
        try:
            async with audited_effect("set", details):
                await run_blocking(store.set, value, timeout_s=timeout_s, what="set")
        finally:
            store.finished.set()
        return f"set to {value}"

    @server.tool(annotations=READ_ONLY)
    async def read_value() -> int:
        """Read the value (held at the gate like a slow query)."""
        await run_blocking(store.set, store.value, timeout_s=timeout_s, what="read")
        return store.value

    return server


async def open_gate(store: Store) -> None:
    store.gate.set()


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_change_writes_its_intent_before_and_its_outcome_after(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    store = Store()
    store.gate.set()
    async with Client(build(AuditLog(path), store)) as client:
        result = await client.call_tool("set_value", {"value": 5})
    assert not result.is_error and store.value == 5
    intent, outcome, call = records(path)
    assert [intent["event"], outcome["event"], call["event"]] == ["intent", "effect", "call"]
    assert intent["effect"] == outcome["effect"] and outcome["outcome"] == "done" and call["outcome"] == "ok"
    assert intent["action"] == {"name": "set", "from": 0, "to": 5, "api_token": "***"}
    assert intent["tool"] == "set_value" and intent["client"] == "stdio" and intent["server"] == "writer-mcp"
    assert verify(path).ok


async def test_a_failed_change_records_why_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    store = Store(fail=True)
    store.gate.set()
    async with Client(build(AuditLog(path), store)) as client:
        result = await client.call_tool("set_value", {"value": 5})
    assert result.is_error and store.value == 0
    outcome = records(path)[1]
    assert outcome["outcome"] == "failed" and outcome["detail"].startswith("RuntimeError: api said: password=***")
    assert "hunter2" not in path.read_text()


async def test_a_change_cancelled_by_the_client_still_finishes_and_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    store = Store()
    async with Client(build(AuditLog(path), store)) as client, anyio.create_task_group() as outer:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "set_value", {"value": 7})
            await anyio.to_thread.run_sync(store.started.wait, 30)  # the change is running in its thread
            tg.cancel_scope.cancel()  # the client gives up
            outer.start_soon(open_gate, store)  # ... and the change then finishes in its own time
        with anyio.fail_after(30):
            await store.finished.wait()
    assert store.value == 7  # the change happened: the audit must say so
    by_event = {r["event"]: r for r in records(path)}
    assert by_event["intent"]["effect"] == by_event["effect"]["effect"]
    assert by_event["effect"]["outcome"] == "done"
    assert by_event["call"]["outcome"] == "cancelled"
    assert verify(path).ok


async def test_a_change_that_times_out_says_it_may_still_complete(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    store = Store()
    async with Client(build(AuditLog(path), store, timeout_s=0.05)) as client:
        result = await client.call_tool("set_value", {"value": 3})
    store.gate.set()
    assert result.is_error
    outcome = records(path)[1]
    assert outcome["outcome"] == "timed_out" and "may still complete" in outcome["detail"]


async def test_without_an_audit_log_the_change_is_refused(tmp_path: Path) -> None:
    store = Store()
    store.gate.set()
    audit = AuditLog(None, variable="WRITER_MCP_AUDIT_LOG")
    async with Client(build(audit, store)) as client:
        result = await client.call_tool("set_value", {"value": 5})
    assert result.is_error and store.value == 0 and not store.started.is_set()
    assert "WRITER_MCP_AUDIT_LOG" in result.content[0].text  # type: ignore[union-attr]


async def test_when_the_intent_cannot_be_written_nothing_changes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.symlink_to("/dev/full")  # every write fails with ENOSPC, like a full disk
    store = Store()
    store.gate.set()
    audit = AuditLog(path)
    async with Client(build(audit, store)) as client:
        result = await client.call_tool("set_value", {"value": 5})
    assert result.is_error and store.value == 0 and not store.started.is_set()
    text = result.content[0].text  # type: ignore[union-attr]
    assert "refused: the change was not made" in text and "No space left on device" in text
    assert audit.stats.write_errors["ENOSPC"] >= 2  # the intent, then the call's own line


async def test_a_full_disk_refuses_the_change_and_verify_names_the_torn_line_once(small_disk: Any) -> None:
    path = small_disk.path / "audit.jsonl"
    store = Store()
    store.gate.set()
    audit = AuditLog(path)
    async with Client(build(audit, store)) as client:
        assert not (await client.call_tool("set_value", {"value": 1})).is_error  # intent, outcome, call
        small_disk.fill()
        # An intent longer than the page the log's last line left room in: part of it lands, then ENOSPC.
        refused = await client.call_tool("set_value", {"value": 2, "notes": 20})
        small_disk.free()  # the operator frees space; the server carries on
        assert not (await client.call_tool("read_value", {})).is_error
    assert refused.is_error and store.value == 1  # the second change never happened
    assert "refused: the change was not made" in refused.content[0].text  # type: ignore[union-attr]
    assert "No space left on device" in refused.content[0].text  # type: ignore[union-attr]
    result = verify(path)
    assert result.intact and [p.kind for p in result.problems] == ["torn"]
    events = [(r.get("event"), r.get("outcome")) for r in records_after_torn(path)]
    assert events[:3] == [("intent", None), ("effect", "done"), ("call", "ok")]
    assert ("intent", None) not in events[3:]  # no intent for the refused change survived whole
    assert events[-1] == ("call", "ok")  # the read after the disk was freed


def records_after_torn(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # the torn fragment verify reported
    return out


async def test_a_read_cancelled_by_the_client_is_audited(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    store = Store()
    client = Client(build(AuditLog(path), store))
    async with client, anyio.create_task_group() as outer, anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "read_value", {})
        await anyio.to_thread.run_sync(store.started.wait, 30)
        tg.cancel_scope.cancel()
        outer.start_soon(open_gate, store)
    (line,) = records(path)
    assert line["tool"] == "read_value" and line["outcome"] == "cancelled"


async def test_outside_a_guarded_call_the_api_says_how_to_use_it() -> None:
    with pytest.raises(RuntimeError, match="outside a guarded tool call"):
        async with audited_effect("set", {}):
            pass
