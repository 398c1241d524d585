"""The command line every server shares: `--transport stdio` (default) or `--transport http`.

stdio: stdout carries JSON-RPC only (the SDK points fd 1 at stderr while serving; logging goes to stderr).
http: streamable HTTP at `/mcp` behind API-key auth, with an unauthenticated `GET /healthz`, under the limits
`mcp_common.http` describes. It refuses to start without keys unless `--insecure-no-auth` is given, and that
only on a loopback address.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args, get_origin

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import SecretStr

from mcp_common.auth import load_api_keys
from mcp_common.errors import ConfigError, UnavailableError
from mcp_common.http import is_loopback, run_http
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


def server_parser(prog: str, description: str, settings_cls: type[ServerSettings]) -> argparse.ArgumentParser:
    """The parser every server starts from: its transport flags, and in `--help` every environment variable
    of its settings class (required ones marked), so the help and the settings never disagree."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=environment_help(settings_cls),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_transport_arguments(parser, env_prefix(settings_cls))
    return parser


def env_prefix(settings_cls: type[ServerSettings]) -> str:
    return str(settings_cls.model_config.get("env_prefix", ""))


def environment_help(settings_cls: type[ServerSettings], width: int = 100) -> str:
    """Every variable of `settings_cls`: name, required or default, choices, what it does."""
    prefix = env_prefix(settings_cls)
    lines = ["environment variables (* = required; values from the environment or a .env file):"]
    for name, field in settings_cls.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
        facts = [field.description.rstrip(".") if field.description else ""]
        if choices:
            facts.append("one of " + ", ".join(map(str, choices)))
        if field.is_required():
            variable += " *"
        elif not isinstance(field.default, SecretStr) and field.default not in (None, "", (), []):
            default = ",".join(map(str, field.default)) if isinstance(field.default, tuple | list) else field.default
            facts.append(f"default: {default}")
        text = "; ".join(fact for fact in facts if fact) or "-"
        lines += textwrap.wrap(
            text, width=width, initial_indent=f"  {variable:<34} ", subsequent_indent=" " * 37, break_on_hyphens=False
        )
    return "\n".join(lines)


def add_transport_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The transport flags, for servers that build their own parser (`server_parser` calls it)."""
    host, port = (f"{prefix}HTTP_HOST", f"{prefix}HTTP_PORT") if prefix else ("the HTTP_HOST setting", "HTTP_PORT")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    parser.add_argument("--host", default=None, help=f"HTTP bind address (default: {host}, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help=f"HTTP port (default: {port}, else 8000)")
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
    prefix = str(type(settings).model_config.get("env_prefix", ""))
    try:
        keys = load_api_keys(settings)
    except ConfigError as exc:
        return fail(str(exc))
    host = args.host or settings.http_host
    port = args.port or settings.http_port
    if not keys and not args.insecure_no_auth:
        return fail(
            f"refusing to serve HTTP without API keys: set {prefix}API_KEYS (name:key,...) or "
            f"{prefix}API_KEYS_FILE (name:key lines), or pass --insecure-no-auth for a local experiment"
        )
    if not keys and not is_loopback(host):
        return fail(
            f"--insecure-no-auth serves only on a loopback address (127.0.0.1, ::1, localhost), not {host}: "
            f"anyone who can reach {host} could call every tool; set {prefix}API_KEYS instead"
        )
    if not keys:
        logger.warning("serving HTTP WITHOUT authentication (--insecure-no-auth), on %s only", host)
    logger.info("%s serving streamable HTTP on http://%s:%d/mcp (%d API keys)", server.name, host, port, len(keys))
    try:
        run_http(server, settings, host, port, keys)
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
    args = server_parser(prog, f"{prog}: an MCP server of the SRE lab", settings_cls).parse_args(argv)
    try:
        settings = load_settings(settings_cls)
    except ConfigError as exc:
        return fail(str(exc))
    return serve(args, settings, create_server)
