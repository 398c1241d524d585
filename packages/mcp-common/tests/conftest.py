"""A small real server built with the shared factory, for exercising the guard through the protocol."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_common.audit import AuditLog
from mcp_common.factory import READ_ONLY, new_server
from mcp_common.models import CompactModel
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings, server_config
from mcp_common.validation import require_allowed


class DemoSettings(ServerSettings):
    model_config = server_config("DEMO_MCP_")


class Echo(CompactModel):
    namespace: str
    count: int
    note: str | None = None


class FakeClock:
    """A monotonic clock the test moves by hand (no sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class DemoApp:
    """The demo's application context."""

    settings: DemoSettings


def build_demo(audit_path: Path | None, limiter: RateLimiter | None = None) -> MCPServer[DemoApp]:
    settings = DemoSettings()

    @asynccontextmanager
    async def lifespan(_: MCPServer[DemoApp]) -> AsyncIterator[DemoApp]:
        yield DemoApp(settings)

    server = new_server(
        "demo-mcp",
        settings,
        instructions="demo",
        version="0",
        lifespan=lifespan,
        audit=AuditLog(audit_path),
        limiter=limiter or RateLimiter(6000, 1000),
    )

    @server.tool(annotations=READ_ONLY)
    async def echo(
        namespace: str,
        count: Annotated[int, Field(ge=1, le=5)] = 1,
        level: Literal["ERROR", "WARN"] | None = None,
        keyword: Annotated[str | None, Field(max_length=100)] = None,
        api_token: str | None = None,
    ) -> Echo:
        """Echo the namespace back."""
        require_allowed(namespace, ["payments", "auth"], "namespace")
        if namespace == "auth" and count == 5:
            raise RuntimeError("driver said: password=hunter2 at host db-7")
        return Echo(namespace=namespace, count=count)

    return server


@pytest.fixture
def demo() -> Any:
    """The demo server builder (fixtures, not imports: test dirs share module names)."""
    return build_demo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "demo.jsonl"


class SmallDisk:
    """A tiny tmpfs mounted for one test: a real full disk. `fill()` takes every free byte, `free()` gives
    them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def fill(self) -> None:
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"x" * 4096)
        finally:
            os.close(fd)

    def free(self) -> None:
        self._filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 64 KiB tmpfs (needs root and mount(2); skipped, saying why, where mounting is impossible)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip() or 'not root'})")
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
