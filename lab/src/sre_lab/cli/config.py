"""`sre-lab config …`: the MCP client configuration for the lab's servers (Claude Desktop, Claude Code, any)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from sre_lab import labstate
from sre_lab.cli.base import app, console, echo_json, new_app
from sre_lab.clients import (
    ConfigFileError,
    MergeResult,
    claude_desktop_config_path,
    generic_config,
    merge_servers,
    server_entries,
)
from sre_lab.docker import lab_api_key, read_env_file
from sre_lab.errors import LabError, UsageError
from sre_lab.paths import EmbeddedStores, data_dir, env_file, find_checkout

config_app = new_app("MCP client configuration for the lab's servers.")
app.add_typer(config_app, name="config")

Mode = Literal["docker", "embedded"]
ModeOption = Annotated[
    Mode,
    typer.Option(
        "--mode", help="docker: stdio through `docker exec` into the compose containers; embedded: the venv's servers"
    ),
]


def _entries(mode: Mode) -> dict[str, dict[str, object]]:
    root = data_dir()
    clock = None
    if mode == "embedded":
        state = labstate.read_state(root)
        if state is None or state.scenario_now is None:
            raise LabError(
                f"no seeded embedded lab in {root}",
                "run `sre-lab up --embedded` first: the config pins the servers to the lab's scenario clock",
            )
        clock = state.clock_text()
    return server_entries(mode, root, EmbeddedStores(root).audit, clock)


def _merge(path: Path, entries: dict[str, dict[str, object]], *, given: bool) -> MergeResult:
    """Merge into `path`; `given`: --path named it, so a directory there is the command line's error."""
    if given and path.is_dir():
        raise UsageError(f"--path {path}: is a directory", "give the path of the config file; nothing was changed")
    try:
        return merge_servers(path, entries)
    except ConfigFileError as exc:
        raise LabError(f"refused: {exc}") from None


def _report(result: MergeResult) -> None:
    if not result.changed:
        console.print(f"{result.path} already has these servers: nothing written, no backup")
        return
    console.print(f"[green]merged[/] into {result.path}")
    if result.backup:
        console.print(f"  backup: {result.backup}")
    console.print(f"  added: {result.added or '-'}  updated: {result.updated or '-'}  kept: {result.kept or '-'}")


@config_app.command("claude-desktop", short_help="Claude Desktop's mcpServers (print or --write).")
def claude_desktop(
    mode: ModeOption = "docker",
    write: Annotated[
        bool, typer.Option("--write", help="Merge into Claude Desktop's config (backs it up) [default: print it]")
    ] = False,
    path: Annotated[Path | None, typer.Option(help="Config file [default: the platform's Claude Desktop path]")] = None,
) -> None:
    """Print (or merge into Claude Desktop's config) the mcpServers entries for the three servers."""
    entries = _entries(mode)
    if not write:
        echo_json({"mcpServers": entries})
        return
    result = _merge(path or claude_desktop_config_path(), entries, given=path is not None)
    _report(result)
    if result.changed:
        console.print("Restart Claude Desktop to load the servers.")


@config_app.command("claude-code", short_help="Merge the servers into a project .mcp.json.")
def claude_code(
    mode: ModeOption = "docker",
    path: Annotated[Path | None, typer.Option(help="Project config file [default: <checkout>/.mcp.json]")] = None,
) -> None:
    """Merge the servers into a Claude Code project config (.mcp.json)."""
    entries = {key: {"type": "stdio", **entry} for key, entry in _entries(mode).items()}
    checkout = find_checkout()
    target = path or (checkout / ".mcp.json" if checkout else Path(".mcp.json").resolve())
    _report(_merge(target, entries, given=path is not None))


@config_app.command("generic", short_help="Client-neutral JSON: stdio and HTTP endpoints.")
def generic(mode: ModeOption = "docker") -> None:
    """Print a client-neutral JSON description (stdio commands; in docker mode the HTTP endpoints too)."""
    environment = env_file() if mode == "docker" else None
    key = lab_api_key(read_env_file(environment)) if environment and environment.exists() else None
    root = data_dir()
    state = labstate.read_state(root) if mode == "embedded" else None
    clock = state.clock_text() if state else None
    echo_json(generic_config(mode, root, EmbeddedStores(root).audit, key, clock))
