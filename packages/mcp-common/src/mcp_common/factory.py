"""Build an `MCPServer` with the shared production wiring: guard middleware, audit, rate limits, /healthz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_common.audit import AuditLog
from mcp_common.guard import ToolCallGuard
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings

logger = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""Annotations for every read tool."""

DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
"""Annotations for a tool that changes the world (registered only when config enables writes)."""

HealthCheck = Callable[[], Awaitable[bool]]


def new_server(
    name: str,
    settings: ServerSettings,
    *,
    instructions: str,
    version: str,
    lifespan: Callable[[MCPServer[Any]], AbstractAsyncContextManager[Any]] | None = None,
    health: HealthCheck | None = None,
    audit: AuditLog | None = None,
    limiter: RateLimiter | None = None,
) -> MCPServer[Any]:
    """An `MCPServer` whose every tool call is guarded, audited and rate limited, with `GET /healthz`.

    `audit` and `limiter` default to what `settings` describes; tests pass their own (e.g. an injected clock).
    """
    guard = ToolCallGuard(
        server_name=name,
        audit=audit if audit is not None else AuditLog(settings.audit_log),
        limiter=limiter or RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
    )
    server: MCPServer[Any] = MCPServer(
        name,
        version=version,
        instructions=instructions,
        lifespan=lifespan,
        middleware=[guard],
        log_level=settings.log_level,
    )
    guard.bind(server)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)
    async def healthz(_: Request) -> Response:
        # Unauthenticated by design, so it says only ok / not ok: no versions, no dependency names.
        healthy = True
        if health is not None:
            try:
                healthy = await health()
            except Exception:
                logger.exception("health check failed")
                healthy = False
        return JSONResponse({"status": "ok" if healthy else "not ok"}, status_code=200 if healthy else 503)

    return server
