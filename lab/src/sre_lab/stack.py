"""The lab's servers and how each stack (embedded processes, or the compose containers) runs them.

One table of servers serves `sre-lab up`, `status`, `config claude-desktop` and `investigate`, so the
command a test runs is the command Claude Desktop runs. Each stack pins the servers to the lab's scenario
clock (`sre_lab.labstate`): the embedded one from the data directory's state file, the compose one from
`.lab/lab.env` (compose hands the same value to the containers).

A server's stderr goes to `<logs>/<server>.log`, not to the terminal: a server that cannot start says why
there, and `server_failure` turns its last line into the error the user sees.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
from mcp import Client, StdioServerParameters
from mcp.client._transport import TransportStreams  # the SDK's own name for what a transport yields
from mcp.client.stdio import stdio_client

from sre_lab.labstate import read_state
from sre_lab.paths import EmbeddedStores
from sre_lab.servers import SERVERS, console_script, docker_cli_env, docker_exec_args, server_named


class Stack(Protocol):
    """What the checks and the investigation need from a stack."""

    kind: str
    scenario_now: str | None

    def client(self, name: str) -> Client: ...

    def server_failure(self, name: str) -> str | None: ...


class _StdioStack:
    """Servers as stdio subprocesses whose stderr goes to one log file each."""

    kind = "stdio"
    scenario_now: str | None = None

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir

    def params(self, name: str) -> StdioServerParameters:
        raise NotImplementedError

    def server_log(self, name: str) -> Path:
        return self.log_dir / f"{server_named(name).name}.log"

    def client(self, name: str) -> Client:
        return Client(self._transport(self.params(name), self.server_log(name)))

    @asynccontextmanager
    async def _transport(self, params: StdioServerParameters, log: Path) -> AsyncIterator[TransportStreams]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as errlog:
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams

    def server_failure(self, name: str) -> str | None:
        """The last thing the server wrote on stderr (its start-up error, when it did not start)."""
        try:
            lines = self.server_log(name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        meaningful = [line.strip() for line in lines if line.strip()]
        errors = [line for line in meaningful if line.startswith("error:") or " ERROR " in line]
        last = (errors or meaningful)[-1:]
        return last[0].removeprefix("error:").strip() if last else None


class EmbeddedStack(_StdioStack):
    """Every server as a local stdio process, over the embedded stores under `data_dir`."""

    kind = "embedded"

    def __init__(
        self,
        data_dir: Path,
        audit_dir: Path | None = None,
        base_env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        super().__init__(log_dir or data_dir.parent / "logs")
        self.data_dir = data_dir
        self.audit_dir = audit_dir or EmbeddedStores(data_dir).audit
        self.base_env = dict(os.environ if base_env is None else base_env)
        state = read_state(data_dir)
        self.scenario_now = state.clock_text() if state else None

    def params(self, name: str) -> StdioServerParameters:
        server = server_named(name)
        command = console_script(server.name)
        if command is None:
            raise FileNotFoundError(f"{server.name} is not installed in this environment (run make setup)")
        env = {**self.base_env, **server.embedded_env(self.data_dir, self.audit_dir, self.scenario_now)}
        return StdioServerParameters(command=command, args=[], env=env)


class ComposeStack(_StdioStack):
    """The running compose lab: stdio through `docker exec -i` into each container."""

    kind = "compose"

    def __init__(self, log_dir: Path, scenario_now: str | None = None, docker: str = "docker") -> None:
        super().__init__(log_dir)
        self.scenario_now = scenario_now
        self.docker = docker

    def params(self, name: str) -> StdioServerParameters:
        server = server_named(name)
        return StdioServerParameters(command=self.docker, args=docker_exec_args(server), env=docker_cli_env() or None)


@dataclass(frozen=True)
class CheckResult:
    server: str
    ok: bool
    tools: int = 0
    seconds: float = 0.0
    error: str | None = None


async def check(stack: Stack, name: str) -> CheckResult:
    """A real MCP initialize + tools/list against one server of `stack`."""
    started = time.perf_counter()
    try:
        async with stack.client(name) as client:
            tools = (await client.list_tools()).tools
    except Exception as exc:  # any failure to talk MCP is the finding, whatever its type
        why = stack.server_failure(name) or f"{type(exc).__name__}: {exc}"
        return CheckResult(name, False, seconds=time.perf_counter() - started, error=why[:300])
    return CheckResult(name, True, tools=len(tools), seconds=time.perf_counter() - started)


async def check_all(stack: Stack) -> list[CheckResult]:
    """Every server checked at once (each is its own process), in the order of SERVERS."""
    results: dict[str, CheckResult] = {}

    async def one(name: str) -> None:
        results[name] = await check(stack, name)

    async with anyio.create_task_group() as tasks:
        for server in SERVERS:
            tasks.start_soon(one, server.name)
    return [results[server.name] for server in SERVERS]
