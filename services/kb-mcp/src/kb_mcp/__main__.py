"""`kb-mcp` serves the knowledge base over MCP (stdio by default, `--transport http`); `kb-mcp ingest [DIR]` ingests."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from kb_mcp.config import KbSettings
from kb_mcp.corpus import CorpusError
from kb_mcp.embed import ModelNotReadyError
from kb_mcp.store import StoreError
from mcp_common.runner import add_transport_arguments, configure_logging, fail, serve
from mcp_common.settings import ConfigError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb-mcp", description="kb-mcp: the SRE runbook knowledge base over MCP")
    add_transport_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="{ingest}")
    ingest = commands.add_parser("ingest", help="ingest runbooks into Chroma (idempotent) and exit")
    ingest.add_argument("directory", nargs="?", type=Path, help="runbooks directory (default: KB_MCP_RUNBOOKS_DIR)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(KbSettings)
    except ConfigError as exc:
        return fail(str(exc))
    if args.command == "ingest":
        return _ingest(settings, args.directory)
    from kb_mcp.server import create_server

    return serve(args, settings, create_server)


def _ingest(settings: KbSettings, directory: Path | None) -> int:
    from kb_mcp.ingest import ingest_runbooks

    configure_logging(settings.log_level)
    try:
        ingest_runbooks(settings, directory)  # logs its summary on stderr
    except (CorpusError, StoreError, ModelNotReadyError) as exc:
        return fail(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
