"""`sre-lab seed …`: write the incident's data into the stores (the embedded lab's, or the servers' the
LOGS_MCP_* / KB_MCP_* variables name), recording the embedded lab's scenario clock."""

from __future__ import annotations

import os
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sre_lab import labstate, seeding
from sre_lab.cli.base import NowOption, app, console, new_app, note, parse_now
from sre_lab.errors import advised, option_value
from sre_lab.paths import EmbeddedStores, data_dir
from sre_lab.scenario import Scenario, build_scenario

seed_app = new_app("Write the incident's data into the stores.")
app.add_typer(seed_app, name="seed")

RowsOption = Annotated[int, typer.Option(min=1000, help="About this many log lines")]
SeedOption = Annotated[int, typer.Option(help="Traffic and id seed (the same seed and --now give the same data)")]


def _server(variable: str) -> bool:
    return bool(os.environ.get(variable))


def scenario_for(now: str | None, seed: int, *, fresh: bool) -> Scenario:
    """The scenario at --now; else (one store re-seeded) at the embedded lab's recorded clock; else at the
    current time. `fresh`: seeding everything starts a new clock unless --now says otherwise."""
    moment = parse_now(now)
    if moment is None and not fresh:
        state = labstate.read_state(data_dir())
        moment = state.scenario_now if state else None
    return build_scenario(now=moment or datetime.now(UTC), seed=seed)


def warn_if_mixed(root: Path) -> None:
    state = labstate.read_state(root)
    stale = state.stale_stores() if state else []
    if stale:
        note(
            f"{', '.join(stale)} still hold(s) the incident at another scenario clock; "
            "seed everything at one clock: `sre-lab seed all --now …` (or `sre-lab up`)"
        )


@seed_app.command("cluster", short_help="The cluster snapshot k8s-mcp reads.")
def seed_cluster(
    out: Annotated[
        Path | None, typer.Option(help="Snapshot directory [default: the embedded lab's <data dir>/cluster]")
    ] = None,
    now: NowOption = None,
    seed: SeedOption = 7,
) -> None:
    """Write the cluster snapshot (kubectl JSON + container logs) that k8s-mcp's snapshot backend reads."""
    cluster(scenario_for(now, seed, fresh=False), out)
    if out is None:
        warn_if_mixed(data_dir())


@seed_app.command("logs", short_help="The incident's logs into ClickHouse.")
def seed_logs(rows: RowsOption = seeding.LAB_LOG_ROWS, seed: SeedOption = 7, now: NowOption = None) -> None:
    """Replace the log store's data with the incident's (LOGS_MCP_CLICKHOUSE_URL, else the embedded lab)."""
    logs(scenario_for(now, seed, fresh=False), rows)
    if not _server("LOGS_MCP_CLICKHOUSE_URL"):
        warn_if_mixed(data_dir())


@seed_app.command("runbooks", short_help="The runbooks into Chroma (idempotent).")
def seed_runbooks(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Runbooks directory [default: the bundled corpus]")
    ] = None,
) -> None:
    """Ingest the runbooks into Chroma (KB_MCP_CHROMA_URL, else the embedded lab); idempotent."""
    runbooks(directory)


@seed_app.command("all", short_help="Everything, at one scenario clock.")
def seed_all(
    rows: RowsOption = seeding.LAB_LOG_ROWS,
    now: NowOption = None,
    seed: SeedOption = 7,
    cluster_out: Annotated[
        Path | None, typer.Option(help="Snapshot directory [default: the embedded lab's <data dir>/cluster]")
    ] = None,
) -> None:
    """Cluster snapshot, logs and runbooks at one scenario clock (--now, else the current time)."""
    scenario = scenario_for(now, seed, fresh=True)
    cluster(scenario, cluster_out)
    logs(scenario, rows)
    runbooks(None)


def cluster(scenario: Scenario, out: Path | None) -> None:
    lab_root = None if out is not None else data_dir()
    if lab_root is not None:
        labstate.claim(lab_root)
    target = out if out is not None else EmbeddedStores(data_dir()).cluster
    todo = "give a new or empty directory, or an earlier snapshot's"
    given = option_value("--out", out, todo) if out else nullcontext()
    with given:
        summary = seeding.seed_cluster(scenario, target, lab_root=lab_root)
    counts = ", ".join(f"{n} {name.removesuffix('.json')}" for name, n in summary.counts.items())
    console.print(f"[green]cluster snapshot[/] → {target}: {counts}, {summary.log_files} log files")


def logs(scenario: Scenario, rows: int) -> None:
    if _server("LOGS_MCP_CLICKHOUSE_URL"):
        with advised("start ClickHouse (or check LOGS_MCP_CLICKHOUSE_URL), or unset it to seed the embedded lab"):
            report = seeding.seed_logs(scenario, seeding.logs_settings(), rows)
    else:
        root = data_dir()
        labstate.claim(root)
        settings = seeding.logs_settings(EmbeddedStores(root).clickhouse)
        report = seeding.seed_logs(scenario, settings, rows, lab_root=root)
    console.print(
        f"[green]logs[/]: {report.rows:,} lines ({report.requests:,} requests, {report.slow_queries} slow queries) "
        f"in {report.seconds:.1f} s = {report.rows_per_s / 1e6:.2f} M rows/s"
    )


def runbooks(directory: Path | None) -> None:
    if _server("KB_MCP_CHROMA_URL"):
        with advised("start Chroma (`chroma run`, or check KB_MCP_CHROMA_URL), or unset it to seed the embedded lab"):
            report = seeding.seed_runbooks(seeding.kb_settings(), directory)
    else:
        root = data_dir()
        labstate.claim(root)
        stores = EmbeddedStores(root)
        settings = seeding.kb_settings(stores.chroma, corpus_cache_dir=stores.kb_corpus_cache)
        report = seeding.seed_runbooks(settings, directory, lab_root=root)
    console.print(
        f"[green]runbooks[/]: {report.runbooks} runbooks, {report.sections} sections "
        f"(+{report.added} ~{report.updated} ={report.unchanged} -{report.removed}) in {report.seconds:.1f} s"
    )
