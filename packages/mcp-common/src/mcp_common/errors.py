"""The error model shared by every server.

Expected failures (bad argument, not found, not allowed, timed out) raise `ToolError` with a message a person
can act on: what was wrong and what is allowed. The SDK turns it into a tool result with `isError: true`.
Anything else is a bug or an outage: the SDK logs the traceback on stderr and the `guard` middleware replaces
the text the client sees with a short, sanitized message, so no driver text or stack trace crosses the wire.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

__all__ = [
    "ResourceError",
    "ResourceNotFoundError",
    "ToolError",
    "internal_error_message",
    "invalid_params",
    "not_found",
]


def internal_error_message(name: str) -> str:
    """What the client sees when a tool fails unexpectedly."""
    return f"internal error in {name}; the server logged the details. Retry, or report it if it persists."


def not_found(kind: str, name: str, available: list[str] | tuple[str, ...], *, limit: int = 20) -> ToolError:
    """A not-found error that lists what does exist (bounded), so the caller can correct itself."""
    shown = ", ".join(sorted(available)[:limit]) or "none"
    more = f" (+{len(available) - limit} more)" if len(available) > limit else ""
    return ToolError(f"{kind} '{name}' not found; available: {shown}{more}")


def invalid_params(message: str) -> MCPError:
    """A protocol error (-32602) carrying `message`: for prompts, whose failures the SDK would otherwise
    reduce to 'Internal server error'."""
    return MCPError(code=INVALID_PARAMS, message=message)
