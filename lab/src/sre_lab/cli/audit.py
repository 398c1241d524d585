"""`sre-lab audit verify`: check an audit log (its chain, rotated files, torn writes, seal) and say how far."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sre_lab.cli.base import app, console, new_app
from sre_lab.errors import LabError

audit_app = new_app("Audit log tools.")
app.add_typer(audit_app, name="audit")

KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="The server's audit key (its AUDIT_KEY_FILE): checks the HMACs and the seal "
        "[default: none: the chain only]",
    ),
]


@audit_app.command("verify")
def audit_verify(
    path: Annotated[Path, typer.Argument(help="Audit log file (JSON lines); its rotated files are checked too")],
    key_file: KeyFile = None,
) -> None:
    """Check an audit log: the hash chain across rotated files, torn writes, changes without an outcome, and
    with the key the HMACs and the seal. Prints what it could check and what it could not.

    Exit status: 0 intact; 3 intact, but records were lost to faults (torn writes, unfinished changes);
    1 altered, removed, inserted or cut; 2 no such file, or an unreadable key."""
    from mcp_common.audit import verify  # noqa: PLC0415 - the audit module pulls in the MCP SDK; only this command needs it

    if not path.is_file():
        raise LabError(
            f"no such file: {path}", "give the path of an audit log (e.g. .lab/audit/k8s-mcp.jsonl)", exit_code=2
        )
    key = None
    if key_file is not None:
        try:
            key = key_file.read_text(encoding="utf-8").strip().encode()
        except OSError as exc:
            raise LabError(
                f"cannot read the key {key_file}: {exc.strerror}", "pass the file the server reads", exit_code=2
            ) from None
    result = verify(path, key=key)
    for line in result.checked:
        console.print(f"[green]checked[/]: {line}")
    for line in result.not_checked:
        console.print(f"[yellow]not checked[/]: {line}")
    for problem in result.problems:
        colour = "yellow" if problem.is_gap else "red"
        console.print(f"[{colour}]{problem.kind}[/] {problem.file} line {problem.line}: {problem.reason}")
    files = f" in {len(result.files)} files" if len(result.files) > 1 else ""
    if result.ok:
        console.print(f"[green]ok[/]: {result.lines} lines{files}, chain intact")
        return
    if result.intact:
        raise LabError(
            f"intact, but {len(result.problems)} record(s) lost to faults, first at line {result.bad_line}",
            "a crash or a full disk cut a line, or a change has no outcome; see the lines above",
            exit_code=3,
        )
    raise LabError(f"broken at line {result.bad_line}: {result.reason}", "the log was altered, cut or rearranged")
