"""`logs-mcp` serves the logs over MCP (stdio by default, `--transport http`).

`logs-mcp import FILE...` loads log files into the store's application_logs (see `logs_mcp.importer`) and exits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logs_mcp.config import LogsSettings
from logs_mcp.formats import FORMATS, Options
from logs_mcp.importer import ImportRefusedError, StderrProgress, import_files
from logs_mcp.store import open_writer
from mcp_common.errors import ConfigError, UnavailableError
from mcp_common.runner import fail, serve, server_parser
from mcp_common.settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = server_parser("logs-mcp", "logs-mcp: the logs in ClickHouse over MCP", LogsSettings)
    commands = parser.add_subparsers(dest="command", metavar="{import}")
    add_import_arguments(commands.add_parser("import", help="load log files into the store's application_logs"))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(LogsSettings)
    except ConfigError as exc:
        return fail(str(exc))
    if args.command == "import":
        return import_command(settings, args)
    from logs_mcp.server import create_server  # noqa: PLC0415 - start-up cost: `import` never loads the MCP SDK

    return serve(args, settings, create_server)


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Load log files into application_logs (LOGS_MCP_CLICKHOUSE_URL, else the embedded LOGS_MCP_DATA_DIR), "
        "next to what is there. Progress on stderr, the summary on stdout."
    )
    parser.add_argument("files", nargs="+", type=Path, help="log files (one format per file)")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="auto",
        help="default: auto (from the first lines). json: JSON lines, OpenTelemetry OTLP/JSON too",
    )
    parser.add_argument(
        "--regex", help="a regex with named groups: time and message required; level, service, host, pod, trace_id …"
    )
    parser.add_argument("--service", help="service of lines that name none (default: the file's name)")
    parser.add_argument("--host", help="host of lines that name none")
    parser.add_argument("--tz", default="UTC", help="time zone of times that carry none, an IANA name (default: UTC)")
    parser.add_argument(
        "--ttl-days",
        type=int,
        default=None,
        help="set application_logs' retention first: 0 keeps every line (no TTL). Default: keep the table's "
        "(30 days) and refuse files older than it",
    )


def import_command(settings: LogsSettings, args: argparse.Namespace) -> int:
    """Run `logs-mcp import`; the exit status."""
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        return fail(f"--tz: unknown time zone {args.tz!r} (an IANA name, e.g. UTC, Europe/Berlin)")
    if settings.source != "lab":
        sys.stderr.write(
            f"note: LOGS_MCP_SOURCE is {settings.source}; the lines go to application_logs, which the server reads "
            "with LOGS_MCP_SOURCE=lab\n"
        )
    now = settings.fixed_now or datetime.now(UTC)
    options = Options(zone=zone, now=now, service=args.service or "", host=args.host or "")
    progress = StderrProgress(2 * sum(path.stat().st_size for path in args.files if path.is_file()))
    try:
        client = open_writer(settings)
    except UnavailableError as exc:
        return fail(str(exc))
    try:
        report = import_files(
            client, args.files, fmt=args.fmt, regex=args.regex, options=options, ttl_days=args.ttl_days,
            progress=progress,
        )  # fmt: skip
    except (ConfigError, ImportRefusedError, OSError) as exc:
        progress.close()
        return fail(str(exc))
    finally:
        client.close()
    progress.close()
    out = sys.stdout
    for file in report.files:
        notes = [f"{file.folded:,} continuation lines folded"] if file.folded else []
        if file.unparsed:
            notes.append(f"{file.unparsed:,} lines not parsed (not stored)")
        if file.not_utf8:
            notes.append(f"{file.not_utf8:,} lines not UTF-8 (kept, bad bytes as U+FFFD)")
        extra = f" ({'; '.join(notes)})" if notes else ""
        out.write(f"{file.path}: {file.format}, {file.lines:,} lines -> {file.records:,} records{extra}\n")
        for example in file.unparsed_examples:
            out.write(f"  not parsed: {example}\n")
    span = ""
    if report.first and report.last:
        first, last = report.first.astimezone(UTC), report.last.astimezone(UTC)
        span = f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S} UTC, "
    ttl = f"retention {report.ttl_days} days" if report.ttl_days else "no TTL (every line is kept)"
    out.write(
        f"imported {report.records:,} records; read back {report.stored:,} rows ({span}{report.days} days, "
        f"{report.inserts} inserts, {ttl}) in {report.seconds:.1f} s\n"
    )
    return 1 if any(file.unparsed for file in report.files) and report.records == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
