"""`sre-lab`: seed the incident, wire Claude Desktop to the servers, verify audit logs, investigate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console

from sre_lab.paths import EmbeddedStores, data_dir

T = TypeVar("T")
app = typer.Typer(
    help="The SRE MCP lab: an incident, three MCP servers, and the wiring for Claude.", no_args_is_help=True
)
seed_app = typer.Typer(help="Write the incident's data into the stores.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log tools.", no_args_is_help=True)
app.add_typer(seed_app, name="seed")
app.add_typer(audit_app, name="audit")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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

    out = out or _stores().cluster
    scenario = build_scenario(now=parse_now(now))
    summary = write_cluster_snapshot(scenario, out)
    counts = ", ".join(f"{n} {name.removesuffix('.json')}" for name, n in summary.counts.items())
    console.print(f"[green]cluster snapshot[/] → {out}: {counts}, {summary.log_files} log files")


@app.command("timeline")
def timeline_command(now: NowOption = None) -> None:
    """The incident's named moments, oldest first, as of the scenario clock."""
    from rich.table import Table

    from sre_lab.scenario import build_scenario

    scenario = build_scenario(now=parse_now(now))
    table = Table("when (UTC)", "T−", "what happens")
    for name, at, what in scenario.timeline.rows():
        table.add_row(at.strftime("%Y-%m-%d %H:%M:%S"), _ago(scenario.now - at), f"{what} [dim]({name})[/]")
    console.print(table)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


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


@seed_app.command("logs")
def seed_logs_command(
    rows: Annotated[int, typer.Option(min=1000, help="About this many log lines")] = 3_000_000,
    seed: Annotated[int, typer.Option(help="Traffic seed (same seed and --now: same data)")] = 7,
    now: NowOption = None,
) -> None:
    """Replace the log store's data with the incident's logs (LOGS_MCP_CLICKHOUSE_URL, else the embedded dir)."""
    from sre_lab import seeding
    from sre_lab.scenario import build_scenario

    settings = seeding.logs_settings(None if _server_configured("LOGS_MCP_CLICKHOUSE_URL") else _stores().clickhouse)
    report = _fail_clearly(lambda: seeding.seed_logs(build_scenario(now=parse_now(now), seed=seed), settings, rows))
    console.print(
        f"[green]logs[/]: {report.rows:,} lines ({report.requests:,} requests, {report.slow_queries} slow queries) "
        f"in {report.seconds:.1f} s = {report.rows_per_s / 1e6:.2f} M rows/s"
    )


@seed_app.command("runbooks")
def seed_runbooks_command(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Runbooks directory [default: the bundled corpus]")
    ] = None,
) -> None:
    """Ingest the runbooks into Chroma (KB_MCP_CHROMA_URL, else the embedded dir); idempotent."""
    from sre_lab import seeding

    if _server_configured("KB_MCP_CHROMA_URL"):
        settings = seeding.kb_settings()
    else:
        stores = _stores()
        settings = seeding.kb_settings(stores.chroma, corpus_cache_dir=stores.kb_corpus_cache)
    report = _fail_clearly(lambda: seeding.seed_runbooks(settings, directory))
    console.print(
        f"[green]runbooks[/]: {report.runbooks} runbooks, {report.sections} sections "
        f"(+{report.added} ~{report.updated} ={report.unchanged} -{report.removed}) in {report.seconds:.1f} s"
    )


@seed_app.command("all")
def seed_all(
    rows: Annotated[int, typer.Option(min=1000, help="About this many log lines")] = 3_000_000,
    now: NowOption = None,
    cluster_out: Annotated[Path | None, typer.Option(help="Snapshot directory [default: <data dir>/cluster]")] = None,
) -> None:
    """Cluster snapshot, logs and runbooks: everything the three servers read."""
    seed_cluster(out=cluster_out, now=now)
    seed_logs_command(rows=rows, seed=7, now=now)
    seed_runbooks_command(directory=None)


def _server_configured(variable: str) -> bool:
    import os

    return bool(os.environ.get(variable))


def _fail_clearly(action: Callable[[], T]) -> T:
    """Expected failures (store locked, server unreachable, bad corpus) end with their message, not a trace."""
    from mcp_common.errors import ConfigError, UnavailableError

    try:
        return action()
    except (ConfigError, UnavailableError, OSError, ValueError) as exc:
        err.print(f"[red]seed failed:[/] {exc}")
        raise typer.Exit(1) from None


@app.command("up")
def up(
    embedded: Annotated[bool, typer.Option("--embedded/--docker", help="Local processes (default) or compose")] = True,
    rows: Annotated[int, typer.Option(min=1000, help="Log lines to seed (embedded)")] = 3_000_000,
    now: NowOption = None,
) -> None:
    """Bring the lab up, then check every server with a real MCP initialize + tools/list."""
    if not embedded:
        _up_docker()
        return
    import anyio
    from rich.table import Table

    from sre_lab.stack import SERVERS, EmbeddedStack, check

    root = data_dir().resolve()
    console.rule("seeding the embedded lab")
    seed_cluster(out=EmbeddedStores(root).cluster, now=now)
    seed_logs_command(rows=rows, seed=7, now=now)
    seed_runbooks_command(directory=None)
    console.rule("checking the servers over MCP (stdio)")
    stack = EmbeddedStack(root)
    table = Table("server", "status", "tools", "start → tools/list")
    failed = False
    for server in SERVERS:
        result = anyio.run(check, server, stack.params(server.name))
        failed |= not result.ok
        status = "[green]ok[/]" if result.ok else f"[red]failed[/] {result.error}"
        table.add_row(server.name, status, str(result.tools), f"{result.seconds:.2f} s")
    console.print(table)
    if failed:
        raise typer.Exit(1)
    console.print(
        "\n[bold]Next[/]:\n"
        "  • Claude Desktop: [cyan]sre-lab config claude-desktop --mode embedded --write[/], then restart it and ask:\n"
        f"    [italic]{DRILL4}[/]\n"
        "  • without Claude: [cyan]sre-lab investigate[/]\n"
        "  • the workshop path with containers: [cyan]sre-lab up --docker[/]"
    )


def _up_docker() -> None:
    import subprocess

    import anyio

    from sre_lab.docker import DockerError, ensure_env_file, preflight, up_command
    from sre_lab.stack import SERVERS, ComposeStack, check

    try:
        preflight()
    except DockerError as exc:
        err.print(f"[red]cannot start the compose lab:[/] {exc}")
        raise typer.Exit(2) from None
    env_file = _env_file()
    ensure_env_file(env_file)
    console.print(f"secrets: {env_file} (generated once, git-ignored)")
    command = up_command(env_file)
    console.print("$ " + " ".join(command))
    if subprocess.run(command, check=False).returncode != 0:
        err.print("[red]docker compose up failed[/]: see the output above; `docker compose logs seed` for the seed job")
        raise typer.Exit(1)
    stack = ComposeStack()
    for server in SERVERS:
        result = anyio.run(check, server, stack.params(server.name))
        console.print(f"{server.name}: {'ok' if result.ok else 'FAILED ' + str(result.error)} ({result.tools} tools)")
    console.print("Next: [cyan]sre-lab config claude-desktop --mode docker --write[/], restart Claude Desktop.")


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


def _stores() -> EmbeddedStores:
    return EmbeddedStores(data_dir())


def _audit_dir() -> Path:
    return _stores().audit


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
    if stack == "embedded" and not (_stores().cluster / "manifest.json").exists():
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


@app.command("status")
def status(
    embedded: Annotated[bool, typer.Option("--embedded/--docker", help="Which lab to report on")] = True,
) -> None:
    """What is seeded (embedded) or running (docker), and whether the audit logs verify."""
    import json
    import subprocess

    from rich.table import Table

    from mcp_common.audit import verify

    if not embedded:
        from sre_lab.docker import compose_command

        subprocess.run(compose_command(_env_file(), "ps"), check=False)
        return
    root = data_dir()
    table = Table("store", "where", "state")
    stores = EmbeddedStores(root)
    manifest = stores.cluster / "manifest.json"
    captured = json.loads(manifest.read_text())["captured_at"] if manifest.exists() else None
    table.add_row("cluster snapshot", str(stores.cluster), f"captured {captured}" if captured else "[red]missing[/]")
    for name, path in (("logs (chDB)", stores.clickhouse), ("runbooks (Chroma)", stores.chroma)):
        table.add_row(name, str(path), "present" if path.is_dir() and any(path.iterdir()) else "[red]missing[/]")
    for log in sorted(_audit_dir().glob("*.jsonl")):
        result = verify(log)
        state = f"{result.lines} lines, chain intact" if result.ok else f"[red]broken at line {result.bad_line}[/]"
        table.add_row("audit", str(log), state)
    console.print(table)


@app.command("down")
def down(
    embedded: Annotated[bool, typer.Option("--embedded/--docker", help="Which lab")] = True,
    volumes: Annotated[bool, typer.Option("--volumes", help="Also delete the seeded data")] = False,
) -> None:
    """Stop the compose lab (docker), or delete the embedded data (with --volumes)."""
    import shutil
    import subprocess

    from sre_lab.docker import down_command

    if not embedded:
        raise typer.Exit(subprocess.run(down_command(_env_file(), volumes), check=False).returncode)
    if not volumes:
        console.print("The embedded lab runs no background processes: clients start the servers. Nothing to stop.")
        return
    root = data_dir()
    if root.exists():
        shutil.rmtree(root)
    console.print(f"removed {root}")
