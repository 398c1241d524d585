"""`sre-lab up --embedded` in one pass: seed the three stores and check the three servers, overlapping what can.

The cluster snapshot is written first (half a second); then the logs are generated, the runbooks ingested
and each server checked as soon as its store is ready, all at once: the log generator runs in ClickHouse's
threads and the runbook ingest in ONNX Runtime's and Chroma's (both release the GIL), and each check is a
server process of its own. On two cores this turns three waits in a row into one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from sre_lab import labstate, seeding
from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import Scenario, build_scenario
from sre_lab.servers import SERVERS
from sre_lab.stack import CheckResult, EmbeddedStack, check

if TYPE_CHECKING:
    from kb_mcp.models import IngestReport
    from sre_lab.cluster_snapshot import SnapshotSummary
    from sre_lab.loggen import SeedReport


@dataclass
class BringUp:
    scenario: Scenario
    cluster: SnapshotSummary | None = None
    logs: SeedReport | None = None
    runbooks: IngestReport | None = None
    checks: list[CheckResult] | None = None  # in the order of SERVERS
    seconds: float = 0.0


Report = Callable[[str, Any, float], None]  # (what finished, its result, seconds since the start)


async def bring_up(
    root: Path,
    now: datetime,
    *,
    rows: int = seeding.LAB_LOG_ROWS,
    seed: int = 7,
    report: Report | None = None,
    check_servers: bool = True,
) -> BringUp:
    """Seed the embedded lab under `root` at scenario clock `now` and (unless told not to) check every server
    over MCP as soon as its store is ready."""
    began = time.perf_counter()

    def done(what: str, result: Any) -> None:
        if report is not None:
            report(what, result, time.perf_counter() - began)

    labstate.claim(root)
    stores = EmbeddedStores(root)
    scenario = build_scenario(now=now, seed=seed)
    result = BringUp(scenario)
    checks: dict[str, CheckResult] = {}
    result.cluster = seeding.seed_cluster(scenario, stores.cluster, lab_root=root)
    done("cluster", result.cluster)
    stack = EmbeddedStack(root)  # pinned to the clock the snapshot just recorded in lab.json

    async def checked(name: str) -> None:
        if check_servers:
            checks[name] = await check(stack, name)
            done(name, checks[name])

    async def logs() -> None:
        settings = seeding.logs_settings(stores.clickhouse, clickhouse_url=None)  # embedded, whatever the env says
        result.logs = await anyio.to_thread.run_sync(
            lambda: seeding.seed_logs(scenario, settings, rows, progress=False, lab_root=root)
        )
        done("logs", result.logs)
        await checked("logs-mcp")  # the store's lock is free again: the server may open it

    async def runbooks() -> None:
        settings = seeding.kb_settings(stores.chroma, chroma_url=None, corpus_cache_dir=stores.kb_corpus_cache)
        result.runbooks = await anyio.to_thread.run_sync(lambda: seeding.seed_runbooks(settings, lab_root=root))
        done("runbooks", result.runbooks)
        await checked("kb-mcp")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(logs)
        tasks.start_soon(runbooks)
        tasks.start_soon(checked, "k8s-mcp")
    result.checks = [checks[server.name] for server in SERVERS if server.name in checks]
    result.seconds = time.perf_counter() - began
    return result
