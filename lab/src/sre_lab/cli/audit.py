"""`sre-lab audit verify`: check an audit log's hash chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sre_lab.cli.base import app, console, new_app
from sre_lab.errors import LabError

audit_app = new_app("Audit log tools.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(path: Annotated[Path, typer.Argument(help="Audit log file (JSON lines)")]) -> None:
    """Check the audit log's hash chain; report the first broken or altered line."""
    from mcp_common.audit import verify  # the audit module pulls in the MCP SDK; only this command needs it

    if not path.is_file():
        raise LabError(
            f"no such file: {path}", "give the path of an audit log (e.g. .lab/audit/k8s-mcp.jsonl)", exit_code=2
        )
    result = verify(path)
    if not result.ok:
        raise LabError(f"broken at line {result.bad_line}: {result.reason}", "the log was altered or truncated")
    console.print(f"[green]ok[/]: {result.lines} lines, chain intact")
