"""Streamable HTTP that one client cannot starve: the limits every server applies, in the order they apply.

1. **The HTTP parser** is uvicorn's `h11`, chosen on purpose: uvicorn would pick `httptools` when installed
   (chromadb pulls it in), and httptools has no cap on header size — a 48 MB header held the event loop for
   8 s. h11 refuses a request whose head exceeds `<PREFIX>HTTP_MAX_HEADER_BYTES` (64 KiB) before anything
   else runs, auth included. `<PREFIX>HTTP_MAX_CONNECTIONS` bounds open connections (503 beyond).
2. **API keys** (`auth.ApiKeyMiddleware`): 401 without a valid key; the key's name is the client's identity
   and the owner of the sessions it opens (the SDK then answers 404 to any other key using or deleting them).
3. **Opening a session** (`SessionGate`): each key may open `<PREFIX>HTTP_NEW_SESSIONS_PER_MINUTE` sessions
   (a burst of `<PREFIX>HTTP_NEW_SESSION_BURST`) and hold `<PREFIX>HTTP_MAX_SESSIONS_PER_KEY` at once; beyond
   that it gets 429 with `Retry-After`, and the other keys are still served. The server as a whole holds
   `<PREFIX>HTTP_MAX_SESSIONS` (503 beyond); a session idle for `<PREFIX>HTTP_SESSION_IDLE_S` is closed.
4. **Host and Origin** are checked on every bind address (DNS rebinding): by default the loopback names and
   the bind address, any port; set `<PREFIX>HTTP_ALLOWED_HOSTS` / `<PREFIX>HTTP_ALLOWED_ORIGINS` (comma
   separated, `host:*` for any port) for a server reached by another name. Bodies are capped at
   `<PREFIX>HTTP_MAX_BODY_BYTES`.
5. **Shutdown** (SIGTERM/SIGINT) stops accepting, lets calls in flight finish for up to
   `<PREFIX>HTTP_SHUTDOWN_GRACE_S`, then cancels what is left.

`--insecure-no-auth` is refused unless the bind address is loopback: without keys, nobody else may connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_common.auth import CLIENT_STATE_KEY, ApiKey, ApiKeyMiddleware
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ServerSettings

__all__ = [
    "ANONYMOUS",
    "InFlight",
    "SessionGate",
    "build_http_app",
    "is_loopback",
    "run_http",
    "transport_security",
    "uvicorn_config",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
ANONYMOUS = "anonymous"  # the one identity of every client when serving without keys (loopback only)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_SESSION_HEADER = MCP_SESSION_ID_HEADER.lower().encode("latin-1")
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1): reachable from this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def transport_security(settings: ServerSettings, host: str) -> TransportSecuritySettings:
    """Host/Origin validation for `host` (the bind address): always on, whatever the address."""
    hosts = _split(settings.http_allowed_hosts)
    if not hosts:
        hosts = [f"{name}:*" for name in _LOOPBACK_HOSTS] + list(_LOOPBACK_HOSTS)
        if host not in ("0.0.0.0", "::", "") and not is_loopback(host):  # noqa: S104 - comparing, not binding
            bracketed = f"[{host}]" if ":" in host else host
            hosts += [bracketed, f"{bracketed}:*"]
    origins = _split(settings.http_allowed_origins) or [f"http://{name}:*" for name in _LOOPBACK_HOSTS]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class SessionGate:
    """ASGI middleware in front of `/mcp`: a key may open sessions only at its rate and up to its cap.

    Only a request that would open a session is gated (a POST without `mcp-session-id` on the handshake
    protocol versions); everything else passes. Live sessions are counted per owner from the SDK's session
    manager, plus the openings still in flight, so a burst cannot overshoot the cap.
    """

    def __init__(
        self,
        app: ASGIApp,
        manager: StreamableHTTPSessionManager,
        *,
        max_per_key: int,
        openings: RateLimiter,
        idle_timeout_s: float,
    ) -> None:
        self.app = app
        self.manager = manager
        self.max_per_key = max_per_key
        self.openings = openings
        self.idle_timeout_s = idle_timeout_s
        self._pending: dict[str, int] = {}

    def live_sessions(self, client: str) -> int:
        """Sessions `client` holds open now (the SDK records each session's owner when it opens)."""
        # `_session_owners` is the SDK's own record of who opened which session (mcp 2.3); the tests pin it.
        owners: dict[str, Any] = getattr(self.manager, "_session_owners", {})
        return sum(1 for owner in owners.values() if owner.get("client_id") == client)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _opens_session(scope):
            await self.app(scope, receive, send)
            return
        client = str(scope.get("state", {}).get(CLIENT_STATE_KEY, ANONYMOUS))
        wait = self.openings.acquire(client)
        if wait is not None:
            await _refuse(send, 429, f"too many new sessions for '{client}'; retry after {wait} s", wait)
            return
        held = self.live_sessions(client) + self._pending.get(client, 0)
        if held >= self.max_per_key:
            await _refuse(
                send,
                429,
                f"'{client}' holds {held} sessions (at most {self.max_per_key}): end one (HTTP DELETE) or let an "
                f"idle one expire ({self.idle_timeout_s:g} s)",
                max(1.0, self.idle_timeout_s / 10),
            )
            return
        self._pending[client] = self._pending.get(client, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._pending[client] -= 1
            if not self._pending[client]:
                del self._pending[client]


def _opens_session(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != MCP_PATH:
        return False
    headers = dict(scope.get("headers") or [])
    if _SESSION_HEADER in headers:
        return False
    version = headers.get(_VERSION_HEADER)
    # A protocol version without the handshake (2026-07-28 on) opens no session.
    return version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS


async def _refuse(send: Send, status: int, detail: str, retry_after_s: float) -> None:
    body = json.dumps({"error": "too_many_sessions", "detail": detail, "retry_after_s": retry_after_s}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(max(1, math.ceil(retry_after_s))).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _SessionOwner:
    """ASGI middleware: present the API key's name to the SDK as the authenticated user, so every session is
    bound to the key that opened it (another key gets 404 for it, DELETE included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = str(scope.get("state", {}).get(CLIENT_STATE_KEY, ANONYMOUS))
            # The token field is never compared or shown; the key itself stays out of it.
            scope["user"] = AuthenticatedUser(AccessToken(token=f"api-key:{client}", client_id=client, scopes=[]))
        await self.app(scope, receive, send)


def build_http_app(server: MCPServer[Any], settings: ServerSettings, host: str, keys: list[ApiKey]) -> ASGIApp:
    """The ASGI app for `server` on `host`: auth (when `keys`), session gate, session ownership, the SDK's app."""
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        transport_security=transport_security(settings, host),
        max_request_body_size=settings.http_max_body_bytes,
        session_idle_timeout=settings.http_session_idle_s,
        max_sessions=settings.http_max_sessions,
    )
    app = SessionGate(
        _SessionOwner(app),
        server.session_manager,
        max_per_key=settings.http_max_sessions_per_key,
        openings=RateLimiter(settings.http_new_sessions_per_minute, settings.http_new_session_burst),
        idle_timeout_s=settings.http_session_idle_s,
    )
    if keys:
        app = ApiKeyMiddleware(app, keys, open_paths=("/healthz",))
    return app


class InFlight:
    """ASGI middleware counting the requests being served that are not event streams (GET): tool calls, the
    requests a graceful shutdown waits for. `idle` is set while there is none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "GET":
            await self.app(scope, receive, send)
            return
        self.count += 1
        self.idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1
            if not self.count:
                self.idle.set()


def uvicorn_config(app: ASGIApp, settings: ServerSettings, host: str, port: int) -> Any:
    """uvicorn's configuration: h11 with a header cap, bounded connections, a graceful-shutdown deadline."""
    import uvicorn  # noqa: PLC0415 - deferred: ~0.2 s to import, and a stdio server never needs it

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",  # not httptools: it has no header-size limit
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        limit_concurrency=settings.http_max_connections,
        timeout_graceful_shutdown=math.ceil(settings.http_shutdown_grace_s),
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )


def run_http(server: MCPServer[Any], settings: ServerSettings, host: str, port: int, keys: list[ApiKey]) -> None:
    """Serve `server` on `host:port` until SIGTERM/SIGINT, then drain (see the module docstring).

    Raises `OSError` when the address cannot be bound.
    """
    import uvicorn  # noqa: PLC0415 - deferred: ~0.2 s to import, and a stdio server never needs it
    from sse_starlette.sse import AppStatus  # noqa: PLC0415 - the SDK's SSE responses; imported with the SDK's HTTP transport

    in_flight = InFlight(build_http_app(server, settings, host, keys))
    grace_s = settings.http_shutdown_grace_s
    # sse-starlette ends every event stream the moment uvicorn is told to stop, cutting the answers of calls
    # still running (a tool call's answer travels on its POST's event stream). Streams end when we say so.
    AppStatus.enable_automatic_graceful_drain = False  # what its untyped disable_automatic_graceful_drain() does

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            release = asyncio.ensure_future(_end_streams_when_idle(in_flight, grace_s, AppStatus))
            try:
                await super().shutdown(sockets)
            finally:
                release.cancel()
                AppStatus.should_exit = True

    DrainingServer(uvicorn_config(in_flight, settings, host, port)).run()


async def _end_streams_when_idle(in_flight: InFlight, grace_s: float, status: Any) -> None:
    """Once no call is in flight (or the grace period is over), end the event streams so connections close."""
    try:
        await asyncio.wait_for(in_flight.idle.wait(), timeout=grace_s)
    except TimeoutError:
        logger.warning("shutdown: %d calls still running after %g s; cutting them", in_flight.count, grace_s)
    status.should_exit = True
