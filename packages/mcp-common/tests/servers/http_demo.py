"""A small real server served by the shared runner, for HTTP tests: `python http_demo.py --transport http ...`.

Tools: `echo` answers at once; `hold` writes one byte to the FIFO named by DEMO_HTTP_MCP_FIFO (so a test knows
the call is running) and then works for `seconds` before answering (the workload of a shutdown test).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_common.factory import READ_ONLY, new_server
from mcp_common.runner import main_for
from mcp_common.settings import ServerSettings, server_config


class DemoHttpSettings(ServerSettings):
    model_config = server_config("DEMO_HTTP_MCP_")


def _signal_started() -> None:
    fifo = os.environ.get("DEMO_HTTP_MCP_FIFO")
    if fifo:
        fd = os.open(fifo, os.O_WRONLY)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)


def create_server(settings: DemoHttpSettings) -> MCPServer[None]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[None]) -> AsyncIterator[None]:
        yield None

    server = new_server("demo-http", settings, instructions="demo", version="0", lifespan=lifespan)

    @server.tool(title="Echo", annotations=READ_ONLY)
    async def echo(text: Annotated[str, Field(max_length=200, description="Text to echo")]) -> str:
        """Echo the text."""
        return text

    @server.tool(title="Hold", annotations=READ_ONLY)
    async def hold(seconds: Annotated[float, Field(ge=0, le=30, description="How long to work")]) -> str:
        """Work for a while, then answer."""
        await anyio.to_thread.run_sync(_signal_started)
        await anyio.sleep(seconds)  # the workload a graceful shutdown must let finish
        return f"held {seconds} s"

    return server


if __name__ == "__main__":
    sys.exit(main_for("demo-http", DemoHttpSettings, create_server))
