"""The session: three MCP clients, every call recorded, summarized in one line and bounded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcp import Client

from sre_lab.errors import LabError
from sre_lab.investigate.findings import Findings
from sre_lab.investigate.report import CallRecord


class LimitReached(Exception):
    def __init__(self, which: Literal["steps", "time"], message: str) -> None:
        super().__init__(message)
        self.which = which


class StackLike(Protocol):
    kind: str
    scenario_now: str | None

    def client(self, name: str) -> Client: ...

    def server_failure(self, name: str) -> str | None: ...


class Progress(Protocol):
    """Who watches the calls as they run (the CLI prints each one)."""

    def start(self, server: str, tool: str, arguments: dict[str, Any]) -> None: ...

    def done(self, call: CallRecord) -> None: ...


class ServerDidNotStart(LabError):
    """A server of the stack could not be reached; the message says which and why (the server's own words)."""


@dataclass
class Session:
    clients: dict[str, Client]
    max_steps: int
    max_seconds: float
    findings: Findings
    clock: Callable[[], float] = time.monotonic
    progress: Progress | None = None
    calls: list[CallRecord] = field(default_factory=list)
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Call a tool; record it; return its structured result (None when it failed)."""
        if len(self.calls) >= self.max_steps:
            raise LimitReached("steps", f"stopped after {self.max_steps} tool calls (--max-steps)")
        if self.clock() - self.started > self.max_seconds:
            raise LimitReached("time", f"stopped after {self.max_seconds:g} s (--max-seconds)")
        began = time.perf_counter()
        if self.progress is not None:
            self.progress.start(server, tool, arguments)
        try:
            result = await self.clients[server].call_tool(tool, arguments)
        except Exception as exc:  # a transport failure is a finding of the investigation, not a crash
            self._record(server, tool, arguments, False, f"call failed: {type(exc).__name__}: {exc}"[:200], began)
            return None
        data = result.structured_content
        if result.is_error or data is None:
            text = result.content[0].text if result.content and hasattr(result.content[0], "text") else "error"
            self._record(server, tool, arguments, False, f"error: {text}"[:200], began)
            return None
        self._record(server, tool, arguments, True, summarize(tool, data), began)
        self.findings.absorb(tool, arguments, data)
        return data

    def _record(self, server: str, tool: str, arguments: dict[str, Any], ok: bool, summary: str, began: float) -> None:
        self.calls.append(
            CallRecord(
                step=len(self.calls) + 1,
                server=server,
                tool=tool,
                arguments=arguments,
                ok=ok,
                summary=summary,
                duration_ms=round((time.perf_counter() - began) * 1000, 1),
            )
        )
        if self.progress is not None:
            self.progress.done(self.calls[-1])


async def open_session(
    stack: StackLike, exits: AsyncExitStack, max_steps: int, max_seconds: float, progress: Progress | None = None
) -> Session:
    """Start (or reach) the three servers; `ServerDidNotStart` names the one that did not answer, and why."""
    clients = {}
    for name in ("k8s-mcp", "logs-mcp", "kb-mcp"):
        try:
            clients[name] = await exits.enter_async_context(stack.client(name))
        except Exception as exc:  # whatever broke the connection, the server's own last word says most
            why = stack.server_failure(name) or f"{type(exc).__name__}: {exc}"
            raise ServerDidNotStart(f"{name} did not start: {why}") from exc
    return Session(clients, max_steps=max_steps, max_seconds=max_seconds, findings=Findings(), progress=progress)


def summarize(tool: str, data: dict[str, Any]) -> str:
    """One line per tool result for the report's call list."""
    if tool == "list_pods":
        s = data["summary"]
        return f"{data['namespace']}: {s['total']} pods, {s['running']} running, {s['not_ready']} not ready"
    if tool in ("diagnose_deployment", "diagnose_workload"):
        return f"{data['health']}: {data['verdict']}"
    if tool == "get_pod_logs":
        last = data["lines"][-1] if data["lines"] else "(no lines)"
        return (
            f"{data['returned']} lines of {data['pod']}{' (previous)' if data['previous'] else ''}; last: {last[:120]}"
        )
    if tool in ("list_deployments", "list_statefulsets", "list_jobs", "list_cronjobs", "get_events", "list_namespaces"):
        return f"{len(data['items'])} {tool.removeprefix('list_').removeprefix('get_')}"
    if tool == "list_services":
        worst = max(data["services"], key=lambda s: s["errors"], default=None)
        most = f"; most errors: {worst['service']} ({worst['errors']})" if worst and worst["errors"] else ""
        return f"{len(data['services'])} services{most}"
    if tool == "search_logs":
        return f"{data['count']} lines{' (truncated)' if data['truncated'] else ''}"
    if tool == "count_errors":
        top = data["groups"][0]["key"] if data["groups"] else "none"
        return f"{data['total_errors']} errors in {data['total_groups']} groups; top: {top[:100]}"
    if tool == "error_timeline":
        rise = data.get("first_rise")
        return f"first rise {rise['at']} ({rise['error_rate']:.1%})" if rise else "no rise above baseline"
    if tool == "trace_transaction":
        return (
            f"{data['trace_id']}: {' → '.join(data['services'])}, {data['duration_ms']} ms, error={data['has_error']}"
        )
    if tool == "get_slow_queries":
        return f"{data['count']} slow queries" + (
            f"; slowest {data['queries'][0]['duration_ms']} ms" if data["queries"] else ""
        )
    if tool == "find_runbooks_for_error":
        return "; ".join(f"{m['runbook_id']} ({m['score']:.2f})" for m in data["matches"][:3]) or "no runbook"
    if tool == "search_runbooks":
        return "; ".join(f"{h['runbook_id']}/{h['section']}" for h in data["hits"][:3]) or "no hit"
    return json.dumps(data)[:160]
