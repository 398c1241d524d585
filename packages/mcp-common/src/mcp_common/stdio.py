"""Serve over stdio as the SDK does, and answer a line that is not JSON-RPC as JSON-RPC says.

The SDK's stdio transport turns an unreadable line into an exception on its read stream, which the server
drops without a reply: the client waits for an answer that never comes. Here such a line gets
`{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}` (not JSON), or -32600
"Invalid Request" (JSON, but not a JSON-RPC message; with its id when it had a usable one), and the server
reads on.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import ObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

logger = logging.getLogger(__name__)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """`server.run_stdio_async()`, with an error reply for every line that is not a JSON-RPC message."""
    # The SDK has no public hook for transport read errors, so this drives its low-level server directly.
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_relay, read_stream, send, write_stream)
            await lowlevel.run(receive, write_stream, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()  # the server is done (stdin closed): stop reading


async def _relay(
    read_stream: ReadStream[SessionMessage | Exception],
    send: ObjectSendStream[SessionMessage | Exception],
    write_stream: WriteStream[SessionMessage],
) -> None:
    async with send:
        async for item in read_stream:
            if not isinstance(item, Exception):
                await send.send(item)
                continue
            reply = unreadable_line_error(item)
            logger.info("answered an unreadable stdio line with %d", reply.error.code)
            try:
                await write_stream.send(SessionMessage(reply))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return


def unreadable_line_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error for a line the transport could not read as a message."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    if not errors or any(error["type"] == "json_invalid" for error in errors):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error"))
    # Each error names the message type it tried; those about a missing member carry the whole message.
    message = next((error["input"] for error in errors if isinstance(error.get("input"), dict)), None)
    request_id = message.get("id") if message is not None else None
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        request_id = None
    return JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=ErrorData(code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 message"),
    )
