"""`sre-lab`: seed the incident, wire Claude Desktop to the servers, verify audit logs, investigate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from sre_lab.paths import data_dir

app = typer.Typer(
    help="The SRE MCP lab: an incident, three MCP servers, and the wiring for Claude.", no_args_is_help=True
)
seed_app = typer.Typer(help="Write the incident's data into the stores.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log tools.", no_args_is_help=True)
app.add_typer(seed_app, name="seed")
app.add_typer(audit_app, name="audit")
console = Console()
err = Console(stderr=True)


def parse_now(value: str | None) -> datetime | None:
    """`--now` as an ISO timestamp (UTC if no zone given)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO timestamp: {value!r} (e.g. 2026-11-26T14:23:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


NowOption = Annotated[
    str | None, typer.Option("--now", help="Scenario clock as ISO time (default: now, UTC)", show_default=False)
]


@seed_app.command("cluster")
def seed_cluster(
    out: Annotated[Path | None, typer.Option(help="Snapshot directory [default: <data dir>/cluster]")] = None,
    now: NowOption = None,
) -> None:
    """Write the cluster snapshot (kubectl JSON + container logs) that k8s-mcp's snapshot backend reads."""
    from sre_lab.cluster_snapshot import write_cluster_snapshot
    from sre_lab.scenario import build_scenario

    out = out or data_dir() / "cluster"
    scenario = build_scenario(now=parse_now(now))
    summary = write_cluster_snapshot(scenario, out)
    counts = ", ".join(f"{n} {name.removesuffix('.json')}" for name, n in summary.counts.items())
    console.print(f"[green]cluster snapshot[/] → {out}: {counts}, {summary.log_files} log files")


@audit_app.command("verify")
def audit_verify(path: Annotated[Path, typer.Argument(help="Audit log file (JSON lines)")]) -> None:
    """Check the audit log's hash chain; report the first broken or altered line."""
    from mcp_common.audit import verify

    if not path.is_file():
        err.print(f"[red]no such file:[/] {path}")
        raise typer.Exit(2)
    result = verify(path)
    if result.ok:
        console.print(f"[green]ok[/]: {result.lines} lines, chain intact")
        return
    err.print(f"[red]broken[/] at line {result.bad_line}: {result.reason}")
    raise typer.Exit(1)


@app.command("up")
def up(
    embedded: Annotated[bool, typer.Option("--embedded/--docker", help="Local processes (default) or compose")] = True,
    now: NowOption = None,
) -> None:
    """Seed the lab and check every server with a real MCP initialize + tools/list."""
    import os

    import anyio
    from rich.table import Table

    from sre_lab.stack import SERVERS, check, embedded_params, installed

    if not embedded:
        err.print("[red]--docker[/]: the compose path is not wired yet; use --embedded")
        raise typer.Exit(2)
    root = data_dir().resolve()
    audit_dir = root.parent / "audit"
    seed_cluster(out=root / "cluster", now=now)
    table = Table("server", "status", "tools", "start → tools/list")
    failed = False
    for server in SERVERS:
        if not installed(server):
            continue
        result = anyio.run(check, server, embedded_params(server, root, audit_dir, os.environ))
        failed |= not result.ok
        status = "[green]ok[/]" if result.ok else f"[red]failed[/] {result.error}"
        table.add_row(server.name, status, str(result.tools), f"{result.seconds:.2f} s")
    console.print(table)
    if failed:
        raise typer.Exit(1)


config_app = typer.Typer(help="MCP client configuration for the lab's servers.", no_args_is_help=True)
app.add_typer(config_app, name="config")
ModeOption = Annotated[str, typer.Option("--mode", help="docker (docker exec into the containers) or embedded")]


def _mode(value: str) -> Literal["docker", "embedded"]:
    if value not in ("docker", "embedded"):
        raise typer.BadParameter(f"--mode must be docker or embedded, not {value!r}")
    return value  # type: ignore[return-value]


@config_app.command("claude-desktop")
def config_claude_desktop(
    mode: ModeOption = "docker",
    write: Annotated[bool, typer.Option("--write", help="Merge into Claude Desktop's config (backs it up)")] = False,
    path: Annotated[Path | None, typer.Option(help="Config file [default: the platform's path]")] = None,
) -> None:
    """Print (or merge into Claude Desktop's config) the mcpServers entries for the three servers."""
    from sre_lab.clients import ConfigFileError, claude_desktop_config_path, merge_servers, server_entries

    entries = server_entries(_mode(mode), data_dir(), _audit_dir())
    if not write:
        console.print_json(data={"mcpServers": entries})
        return
    target = path or claude_desktop_config_path()
    try:
        result = merge_servers(target, entries)
    except ConfigFileError as exc:
        err.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]merged[/] into {result.path}")
    if result.backup:
        console.print(f"  backup: {result.backup}")
    console.print(f"  added: {result.added or '-'}  updated: {result.updated or '-'}  kept: {result.kept or '-'}")
    console.print("Restart Claude Desktop to load the servers.")


@config_app.command("claude-code")
def config_claude_code(
    mode: ModeOption = "docker",
    path: Annotated[Path, typer.Option(help="Project config file")] = Path(".mcp.json"),
) -> None:
    """Merge the servers into a Claude Code project config (.mcp.json)."""
    from sre_lab.clients import ConfigFileError, merge_servers, server_entries

    stdio = server_entries(_mode(mode), data_dir(), _audit_dir())
    entries = {key: {"type": "stdio", **entry} for key, entry in stdio.items()}
    try:
        result = merge_servers(path, entries)
    except ConfigFileError as exc:
        err.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]merged[/] into {result.path} (added {result.added or '-'}, updated {result.updated or '-'})")


@config_app.command("generic")
def config_generic(mode: ModeOption = "docker") -> None:
    """Print a client-neutral JSON description (stdio commands; in docker mode the HTTP endpoints too)."""
    from sre_lab.clients import generic_config
    from sre_lab.docker import ensure_env_file, lab_api_key

    key = lab_api_key(ensure_env_file(_env_file())) if mode == "docker" else None
    console.print_json(data=generic_config(_mode(mode), data_dir(), _audit_dir(), key))


def _audit_dir() -> Path:
    return data_dir().parent / "audit"


def _env_file() -> Path:
    return data_dir().parent / "lab.env"


DRILL4 = (
    "The payment gateway seems degraded. Use all available tools to investigate: check Kubernetes pod status, "
    "search the logs, and find any relevant runbooks."
)


@app.command("investigate")
def investigate_command(
    symptom: Annotated[str, typer.Argument(help="What users or alerts report")] = DRILL4,
    stack: Annotated[str, typer.Option(help="embedded (local processes) or docker (the compose lab)")] = "embedded",
    output: Annotated[str, typer.Option("--format", help="text, markdown or json")] = "text",
    driver: Annotated[str, typer.Option(help="auto (agent if ANTHROPIC_API_KEY is set), playbook or agent")] = "auto",
    model: Annotated[str, typer.Option(help="Claude model for the agent driver")] = "claude-sonnet-4-5",
    max_steps: Annotated[int, typer.Option(min=1, max=200, help="Tool-call limit")] = 40,
    max_seconds: Annotated[float, typer.Option(min=5, max=3600, help="Time limit")] = 180.0,
) -> None:
    """Investigate an incident across all three servers as a real MCP client; print the report."""
    import os

    import anyio
    from rich.markdown import Markdown

    from sre_lab.investigate import AnthropicModel, investigate, render_markdown
    from sre_lab.stack import ComposeStack, EmbeddedStack

    if output not in ("text", "markdown", "json"):
        raise typer.BadParameter("--format must be text, markdown or json")
    if stack not in ("embedded", "docker"):
        raise typer.BadParameter("--stack must be embedded or docker")
    if driver not in ("auto", "playbook", "agent"):
        raise typer.BadParameter("--driver must be auto, playbook or agent")
    use_agent = driver == "agent" or (driver == "auto" and bool(os.environ.get("ANTHROPIC_API_KEY")))
    if use_agent and not os.environ.get("ANTHROPIC_API_KEY"):
        err.print("[red]--driver agent needs ANTHROPIC_API_KEY[/] (or use --driver playbook, no model needed)")
        raise typer.Exit(2)
    if stack == "embedded" and not (data_dir() / "cluster" / "manifest.json").exists():
        err.print(f"[red]no embedded lab at {data_dir()}[/]: run `sre-lab up --embedded` (or `make lab`) first")
        raise typer.Exit(2)
    target = EmbeddedStack(data_dir().resolve()) if stack == "embedded" else ComposeStack()
    agent = AnthropicModel(model) if use_agent else None
    with err.status("investigating across k8s-mcp, logs-mcp and kb-mcp…"):
        report = anyio.run(
            lambda: investigate(target, symptom, model=agent, max_steps=max_steps, max_seconds=max_seconds)
        )
    if output == "json":
        typer.echo(report.model_dump_json(indent=2))
    elif output == "markdown":
        typer.echo(render_markdown(report))
    else:
        console.print(Markdown(render_markdown(report)))
    if report.limits.reached:
        err.print(f"[yellow]limit reached:[/] {report.limits.message}")
