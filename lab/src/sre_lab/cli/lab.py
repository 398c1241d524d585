"""`sre-lab up | status | down | timeline`: the lab as a whole, embedded or compose."""

from __future__ import annotations

import atexit
import gc
import subprocess
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer
from rich.table import Table

from sre_lab import labstate, seeding
from sre_lab.cli.base import NowOption, ago, app, console, note, parse_now
from sre_lab.clients import claude_desktop_config_path, pinned_clock
from sre_lab.docker import (
    CLOCK_KEY,
    compose_command,
    down_command,
    ensure_env_file,
    preflight,
    read_env_file,
    up_command,
)
from sre_lab.errors import LabError
from sre_lab.paths import EmbeddedStores, compose_file, data_dir, env_file, find_checkout
from sre_lab.scenario import build_scenario

if TYPE_CHECKING:
    from sre_lab.stack import CheckResult

DRILL4 = (
    "The payment gateway seems degraded. Use all available tools to investigate: check Kubernetes pod status, "
    "search the logs, and find any relevant runbooks."
)
EmbeddedFlag = Annotated[
    bool, typer.Option("--embedded/--docker", help="The embedded lab (local processes) or the compose lab")
]


@app.command("up", short_help="Seed the lab and check every server over MCP.")
def up(
    embedded: EmbeddedFlag = True,
    rows: Annotated[int, typer.Option(min=1000, help="Log lines to seed")] = seeding.LAB_LOG_ROWS,
    now: NowOption = None,
    build: Annotated[
        bool, typer.Option("--build/--no-build", help="--docker: build the images first, or use those already built")
    ] = True,
) -> None:
    """Seed the lab at a new scenario clock (--now, else the current time), then check every server over MCP."""
    moment = parse_now(now) or datetime.now(UTC).replace(microsecond=0)
    if not embedded:
        _up_docker(labstate.iso(moment), build=build)
        return
    from sre_lab.bringup import bring_up  # noqa: PLC0415 - the MCP SDK: a second to import, only for commands that talk MCP

    root = data_dir()
    console.rule(f"seeding the embedded lab in {root}; each server is checked once its store is ready")

    def report(what: str, result: Any, seconds: float) -> None:
        console.print(f"{what:>9}: {_describe(what, result)}  [dim]({seconds:.1f} s)[/]", highlight=False)

    done = anyio.run(lambda: bring_up(root, moment, rows=rows, report=report))
    checks = done.checks or []
    _check_table(checks)
    _fail_on(checks, hint=f"server logs: {root.parent / 'logs'}")
    console.print(
        f"ready in {done.seconds:.1f} s; scenario clock {labstate.iso(done.scenario.now)} "
        "(every server answers as of it until the next `sre-lab up`)"
    )
    _note_stale_configs(labstate.iso(done.scenario.now))
    # The interpreter's exit would run full collections over everything `up` imported (the SDK, three servers,
    # chDB, Chroma): 0.4 s, a tenth of the command, to find garbage the exit frees anyway. Everything that
    # holds data is closed by now (stores explicitly, log and audit files by their own atexit handlers, which
    # still run), so the exit's collections are skipped; in-process callers (tests) are unaffected until exit.
    atexit.register(gc.freeze)
    console.print(
        "\n[bold]Next[/]:\n"
        "  • Claude Desktop: [cyan]sre-lab config claude-desktop --mode embedded --write[/], then restart it and ask:\n"
        f"    [italic]{DRILL4}[/]\n"
        "  • without Claude: [cyan]sre-lab investigate[/]\n"
        "  • the workshop path with containers: [cyan]sre-lab up --docker[/]"
    )


def _describe(step: str, result: Any) -> str:
    """One line per seeded store or checked server (`result`: the store's own report, or the check's result)."""
    if step.endswith("-mcp"):
        return f"{result.tools} tools over MCP" if result.ok else f"[red]failed[/]: {result.error}"
    if step == "cluster":
        return f"{result.counts.get('pods.json', 0)} pods, {result.counts.get('events.json', 0)} events"
    if step == "logs":
        return f"{result.rows:,} log lines ({result.rows_per_s / 1e6:.2f} M rows/s)"
    cached = f", {result.unchanged} unchanged" if result.unchanged else ""
    return f"{result.runbooks} runbooks, {result.sections} sections{cached}"


def _check_table(results: list[CheckResult]) -> None:
    table = Table("server", "status", "tools", "start → tools/list")
    for result in results:
        status = "[green]ok[/]" if result.ok else f"[red]failed[/]: {result.error}"
        table.add_row(result.server, status, str(result.tools), f"{result.seconds:.2f} s")
    console.print(table)


def _fail_on(results: list[CheckResult], hint: str) -> None:
    failed = [r for r in results if not r.ok]
    if failed:
        names = ", ".join(r.server for r in failed)
        raise LabError(f"{len(failed)} of {len(results)} servers failed their check ({names})", hint)


def _note_stale_configs(clock: str) -> None:
    """Client configs written for an earlier seeding pin logs-mcp to the old clock: say how to update them."""
    checkout = find_checkout()
    candidates = [(claude_desktop_config_path(), "claude-desktop")]
    if checkout is not None:
        candidates.append((checkout / ".mcp.json", "claude-code"))
    for path, client in candidates:
        pinned = pinned_clock(path)
        if pinned is not None and pinned != clock:
            note(
                f"{path} pins the lab's earlier clock ({pinned}); update it: "
                f"`sre-lab config {client} --mode embedded --write`"
            )


def _up_docker(clock: str, *, build: bool) -> None:
    from sre_lab.stack import ComposeStack, check_all  # noqa: PLC0415 - the MCP SDK: a second to import, only when it is used

    checks = preflight()
    compose, environment = compose_file(), env_file()
    ensure_env_file(environment, clock)
    console.print(f"secrets and scenario clock ({clock}): {environment} (generated, git-ignored)")
    command = up_command(compose, environment, checks.docker, build=build)
    console.print("$ " + " ".join(command))
    if subprocess.run(command, check=False).returncode != 0:
        raise LabError(
            "docker compose up failed (its output is above)",
            f"see `docker compose -f {compose} logs seed` for the seed job",
        )
    results = anyio.run(check_all, ComposeStack(environment.parent / "logs", clock, checks.docker))
    _check_table(results)
    _fail_on(results, hint=f"`docker compose -f {compose} logs <server>` shows why")
    console.print("Next: [cyan]sre-lab config claude-desktop --mode docker --write[/], restart Claude Desktop.")


@app.command("status", short_help="The scenario clock, what is seeded, audit logs.")
def status(embedded: EmbeddedFlag = True) -> None:
    """What is seeded and as of which scenario clock (embedded), or what runs (docker); audit logs verified."""
    from mcp_common.audit import verify  # noqa: PLC0415 - the audit module pulls in the MCP SDK; only status needs it

    if not embedded:
        checks = preflight(ports=())
        environment = env_file()
        clock = read_env_file(environment).get(CLOCK_KEY) if environment.exists() else None
        console.print(f"scenario clock: {clock or 'not set (run `sre-lab up --docker`)'}")
        command = compose_command(compose_file(), environment, "ps", docker=checks.docker)
        raise typer.Exit(subprocess.run(command, check=False).returncode)
    root = data_dir()
    state = labstate.read_state(root)
    if state is None:
        raise LabError(f"no embedded lab in {root}", "run `sre-lab up --embedded` (or `make lab`)")
    now = datetime.now(UTC)
    if state.scenario_now:
        console.print(
            f"scenario clock: {state.clock_text()} — the servers answer as of this moment "
            f"(seeded {ago(now - state.scenario_now)} ago; `sre-lab up` starts a new clock)"
        )
    stores = EmbeddedStores(root)
    table = Table("store", "where", "seeded", "holds")
    for column in table.columns:
        column.overflow = "fold"  # paths wrap rather than lose their middle
    for name, where in (("cluster", stores.cluster), ("logs", stores.clickhouse), ("runbooks", stores.chroma)):
        record = state.stores.get(name)  # type: ignore[call-overload]
        if record is None or not where.exists():
            table.add_row(name, str(where), "[red]missing[/]", "")
            continue
        holds = _holds(name, record.counts)
        stale = " [yellow](other clock)[/]" if name in state.stale_stores() else ""
        table.add_row(name, str(where), f"{ago(now - record.seeded_at)} ago{stale}", holds)
    for log in sorted(stores.audit.glob("*.jsonl")):
        result = verify(log)
        if result.ok:
            chain = f"{result.lines} lines, chain intact"
        elif result.intact:
            chain = f"[yellow]{result.lines} lines, intact; {len(result.problems)} lost to faults (audit verify)[/]"
        else:
            chain = f"[red]broken at line {result.bad_line}[/]"
        table.add_row("audit", str(log), "", chain)
    console.print(table)


@app.command("down", short_help="Stop the compose lab, or delete the lab's data.")
def down(
    embedded: EmbeddedFlag = True,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also delete the seeded data (asks first) [default: keep it]")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking [default: ask]")] = False,
) -> None:
    """Stop the compose lab (docker), or delete the embedded lab's data (with --volumes)."""
    if not embedded:
        checks = preflight(ports=())
        if volumes:
            _confirm("Delete the compose lab's volumes (logs, runbooks, snapshot, audit logs)?", yes)
        command = down_command(compose_file(), env_file(), volumes, docker=checks.docker)
        raise typer.Exit(subprocess.run(command, check=False).returncode)
    if not volumes:
        console.print("The embedded lab runs no background processes: clients start the servers. Nothing to stop.")
        return
    root = data_dir()
    state = labstate.read_state(root) if root.is_dir() else None
    if state is None and root.exists():
        labstate.remove_lab(root)  # refuses: no marker
    if not root.exists():
        console.print(f"no embedded lab in {root}: nothing to delete")
        return
    _confirm(f"Delete the embedded lab's data in {root}?", yes)
    labstate.remove_lab(root)
    console.print(f"removed {root}")


def _holds(store: str, counts: dict[str, int]) -> str:
    """What a store holds, in a few words."""
    if store == "cluster":
        workloads = sum(counts.get(kind, 0) for kind in ("deployments", "statefulsets", "jobs", "cronjobs"))
        return (
            f"{counts.get('pods', 0)} pods, {workloads} workloads in {counts.get('namespaces', 0)} namespaces, "
            f"{counts.get('events', 0)} events"
        )
    return ", ".join(f"{count:,} {what.replace('_', ' ')}" for what, count in counts.items())


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    try:
        confirmed = typer.confirm(question, default=False)
    except typer.Abort:  # no answer (end of input)
        confirmed = False
    if not confirmed:
        raise LabError("nothing was deleted", "answer y, or add --yes to delete without asking")


@app.command("timeline", short_help="The incident's moments as of the clock.")
def timeline(now: NowOption = None) -> None:
    """The incident's named moments, oldest first, as of the lab's scenario clock (or --now)."""
    moment = parse_now(now)
    if moment is None:
        state = labstate.read_state(data_dir())
        moment = state.scenario_now if state else None
    scenario = build_scenario(now=moment)
    table = Table("when (UTC)", "T−", "what happens")
    for name, at, what in scenario.timeline.rows():
        table.add_row(at.strftime("%Y-%m-%d %H:%M:%S"), ago(scenario.now - at, units=4), f"{what} [dim]({name})[/]")
    console.print(table)
