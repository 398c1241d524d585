"""The command line every server shares: `--transport stdio` (default) or `--transport http`.

stdio: stdout carries JSON-RPC only (the SDK points fd 1 at stderr while serving; logging goes to stderr).
http: streamable HTTP at `/mcp` behind API-key auth, with an unauthenticated `GET /healthz`. It refuses to
start without keys unless `--insecure-no-auth` is given explicitly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

from mcp_common.auth import ApiKeyMiddleware, load_api_keys
from mcp_common.errors import ConfigError, UnavailableError
from mcp_common.settings import ServerSettings, SettingsT, load_settings
from mcp_common.stdio import serve_stdio

logger = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """Plain log lines on stderr: stdout belongs to JSON-RPC."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def add_transport_arguments(parser: argparse.ArgumentParser) -> None:
    """The transport flags, for servers that build their own parser (e.g. with subcommands)."""
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    parser.add_argument("--host", default=None, help="HTTP bind address (default: <PREFIX>HTTP_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: <PREFIX>HTTP_PORT or 8000)")
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve HTTP without API keys (local experiments only; never on a shared network)",
    )


def fail(message: str) -> int:
    """Report a start-up problem on stderr and return the exit status."""
    sys.stderr.write(f"error: {message}\n")
    return 2


def serve(
    args: argparse.Namespace,
    settings: ServerSettings,
    create_server: Callable[[Any], MCPServer[Any]],
) -> int:
    """Build the server from settings and serve it on the chosen transport; return the exit status."""
    configure_logging(settings.log_level)
    try:
        server = create_server(settings)
    except (ConfigError, UnavailableError) as exc:  # e.g. a bad variable, a store held by another process
        return fail(str(exc))
    if args.transport == "stdio":
        anyio.run(serve_stdio, server)
        return 0
    return _serve_http(args, settings, server)


def _serve_http(args: argparse.Namespace, settings: ServerSettings, server: MCPServer[Any]) -> int:
    import uvicorn  # deferred: ~0.2 s to import, and a stdio server never needs it

    prefix = str(type(settings).model_config.get("env_prefix", ""))
    try:
        keys = load_api_keys(settings)
    except ConfigError as exc:
        return fail(str(exc))
    if not keys and not args.insecure_no_auth:
        return fail(
            f"refusing to serve HTTP without API keys: set {prefix}API_KEYS (name:key,...) or "
            f"{prefix}API_KEYS_FILE (name:key lines), or pass --insecure-no-auth for a local experiment"
        )
    host = args.host or settings.http_host
    port = args.port or settings.http_port
    app: Any = server.streamable_http_app(host=host)
    if keys:
        app = ApiKeyMiddleware(app, keys, open_paths=("/healthz",))
    else:
        logger.warning("serving HTTP WITHOUT authentication (--insecure-no-auth)")
    logger.info("%s serving streamable HTTP on http://%s:%d/mcp (%d API keys)", server.name, host, port, len(keys))
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run()
    except OSError as exc:
        return fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    return 0


def main_for(
    prog: str,
    settings_cls: type[SettingsT],
    create_server: Callable[[SettingsT], MCPServer[Any]],
    argv: Sequence[str] | None = None,
) -> int:
    """The whole `main()` of a server without subcommands: parse flags, load settings, serve."""
    parser = argparse.ArgumentParser(prog=prog, description=f"{prog}: an MCP server of the SRE lab")
    add_transport_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        return fail(str(exc))
    return serve(args, settings, create_server)
