"""Build an `MCPServer` with the shared production wiring: guard middleware, audit, rate limits, /healthz.

The server's lifespan yields its typed application context (a dataclass of the store, clock, settings...).
Tools reach it through the SDK's idiom, `ctx: Context[AppContext]` then `ctx.request_context.lifespan_context`;
what runs outside a request (`GET /healthz`, a static resource, which the SDK gives no context) calls
`current_app(server)`.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar, cast

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_common.audit import AuditLog
from mcp_common.errors import StoreUnavailableError
from mcp_common.guard import ToolCallGuard
from mcp_common.protocol import ProtocolMiddleware, StrictServer
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings

logger = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""Annotations for every read tool."""

DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
"""Annotations for a tool that changes the world (registered only when config enables writes)."""

AppT = TypeVar("AppT")

Lifespan = Callable[[MCPServer[AppT]], AbstractAsyncContextManager[AppT]]
"""Opens what the server holds for its run and yields the application context (closing it on exit)."""

HealthCheck = Callable[[AppT], Awaitable[bool]]
"""Whether the running application context can serve (cheap; must not wait for a store to open)."""

# The application context of each running server (one lifespan at a time per server in production; tests may
# run several Clients at once, and the newest wins). Weak keys: a test's server is dropped with it.
_running: weakref.WeakKeyDictionary[MCPServer[Any], list[Any]] = weakref.WeakKeyDictionary()


def current_app(server: MCPServer[AppT]) -> AppT:
    """The application context of `server`'s running lifespan, for code without a request context (`/healthz`,
    static resources). Raises `StoreUnavailableError` when the server is not running."""
    contexts = _running.get(server)
    if not contexts:
        raise StoreUnavailableError(f"{server.name} is not running")
    return cast(AppT, contexts[-1])


def _tracked(lifespan: Lifespan[AppT]) -> Lifespan[AppT]:
    @asynccontextmanager
    async def run(server: MCPServer[AppT]) -> AsyncIterator[AppT]:
        async with lifespan(server) as app:
            contexts = _running.setdefault(server, [])
            contexts.append(app)
            try:
                yield app
            finally:
                contexts.remove(app)

    return run


def new_server(
    name: str,
    settings: ServerSettings,
    *,
    instructions: str,
    version: str,
    lifespan: Lifespan[AppT],
    health: HealthCheck[AppT] | None = None,
    audit: AuditLog | None = None,
    limiter: RateLimiter | None = None,
) -> MCPServer[AppT]:
    """An `MCPServer` whose every tool call is guarded, audited and rate limited, with `GET /healthz`, and
    which holds the protocol to the spec (strict arguments, error codes, compact answers: `protocol`).

    `lifespan` yields the application context; `health(app)` says whether it can serve. `audit` and `limiter`
    default to what `settings` describes; tests pass their own (e.g. an injected clock).
    """
    guard = ToolCallGuard(
        server_name=name,
        audit=audit if audit is not None else AuditLog.from_settings(settings),
        limiter=limiter or RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
    )
    server: MCPServer[AppT] = StrictServer(
        name,
        version=version,
        instructions=instructions,
        lifespan=_tracked(lifespan),
        middleware=[guard],
        log_level=settings.log_level,
    )
    guard.bind(server)
    server.middleware.append(ProtocolMiddleware(server))  # inside the guard, which audits what it refuses

    async def healthz(_: Request) -> Response:
        # Unauthenticated by design, so it says only ok / not ok: no versions, no dependency names.
        contexts = _running.get(server)
        healthy = bool(contexts)
        if contexts and health is not None:
            try:
                healthy = await health(contexts[-1])
            except Exception:
                logger.exception("health check failed")
                healthy = False
        return JSONResponse({"status": "ok" if healthy else "not ok"}, status_code=200 if healthy else 503)

    # Registered by a call, not as a decorator: the SDK's decorator is untyped and would untype the function.
    server.custom_route("/healthz", methods=["GET"], include_in_schema=False)(healthz)
    return server
