"""`kb-mcp` serves the knowledge base over MCP (stdio by default, `--transport http`).

`kb-mcp ingest [DIR ...]` ingests runbook folders; `kb-mcp export-model` makes the ONNX export of the model ahead
of time (an image build, `make setup`), so that neither the server nor an ingest has to.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from kb_mcp.config import KbSettings
from kb_mcp.corpus import CorpusError
from mcp_common.errors import UnavailableError
from mcp_common.runner import configure_logging, fail, serve, server_parser
from mcp_common.settings import ConfigError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = server_parser("kb-mcp", "kb-mcp: the SRE runbook knowledge base over MCP", KbSettings)
    commands = parser.add_subparsers(dest="command", metavar="{ingest,export-model}")
    ingest = commands.add_parser(
        "ingest",
        help="ingest runbook folders into Chroma (incremental) and exit",
        description="Read every Markdown runbook under the folders (recursively; front matter optional) and bring "
        "the store up to date: only what changed is embedded and written. Files that cannot be read are skipped "
        "and listed; the exit status is non-zero only when nothing could be ingested, or with --strict.",
    )
    ingest.add_argument(
        "directories", nargs="*", type=Path, metavar="DIR", help="runbook folders (default: KB_MCP_RUNBOOKS_DIR)"
    )
    ingest.add_argument(
        "--strict", action="store_true", help="fail, writing nothing, when any file cannot be read (default: skip it)"
    )
    export = commands.add_parser(
        "export-model", help="export the embedding model to ONNX into KB_MCP_ONNX_CACHE_DIR (idempotent) and exit"
    )
    export.add_argument("--force", action="store_true", help="export again even if the cache has this model")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(KbSettings)
    except ConfigError as exc:
        return fail(str(exc))
    if args.command == "ingest":
        return _ingest(settings, args.directories or None, strict=args.strict)
    if args.command == "export-model":
        return _export_model(settings, force=args.force)
    # Start-up cost: the server (and the MCP SDK) is imported only when serving.
    from kb_mcp.server import create_server  # noqa: PLC0415 - start-up cost: the MCP SDK, only when serving

    return serve(args, settings, create_server)


def _ingest(settings: KbSettings, directories: list[Path] | None, *, strict: bool) -> int:
    from kb_mcp.ingest import ingest_runbooks  # noqa: PLC0415 - chromadb and the model runtime: only when ingesting

    configure_logging(settings.log_level)
    try:
        report = ingest_runbooks(settings, directories, strict=strict)  # logs its summary on stderr
    except (CorpusError, UnavailableError) as exc:
        return fail(str(exc))
    sys.stdout.write(report.summary() + "\n")
    for skipped in report.skipped:
        sys.stdout.write(f"skipped {skipped}\n")
    for ignored in report.ignored:  # READMEs, section indexes, documents in other markups
        sys.stdout.write(f"not read {ignored}\n")
    return 0


def _export_model(settings: KbSettings, *, force: bool) -> int:
    # The `export` extra (torch): imported only for this command.
    from kb_mcp.onnx_export import ensure_export  # noqa: PLC0415 - optional extra: torch, only for this command
    from kb_mcp.onnx_model import ExportError  # noqa: PLC0415 - start-up cost: onnxruntime, only for this command

    configure_logging(settings.log_level)
    model_path = settings.resolved_model_path()
    if model_path is None:
        return fail(
            f"the model {settings.model_identity()} is not installed here: exporting it needs kb-mcp's build-time "
            "extra (`pip install 'sre-lab-kb-mcp[export]'`, torch from the lock) or KB_MCP_MODEL_PATH"
        )
    try:
        target = ensure_export(settings.onnx_cache_dir, model_path, settings.model_identity(), force=force)
    except (ExportError, OSError) as exc:
        return fail(str(exc))
    sys.stdout.write(f"{target}\n")  # the export's directory, for scripts (logs go to stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
