"""`sre-lab up --embedded` in one pass: seed the three stores and check the three servers, overlapping what can.

The cluster snapshot is written first (half a second); then the log seeding, the longest step, starts alone:
until its traffic insert begins, its work is Python (chDB's import, the schema, the story rows) and would share
the GIL with the rest. From then on it runs in ClickHouse's threads, and the runbooks are ingested and each
server checked beside it (the ingest's Chroma and ONNX Runtime release the GIL too), each check as soon as its
store is ready. Each check builds the server in this process and talks MCP to it (`sre_lab.local_servers`): a
process per server cost 3-4 s of CPU each, mostly imports this process has already made. Their log lines go to
`<logs>/up-servers.log`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread

from sre_lab import labstate, seeding
from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import Scenario, build_scenario
from sre_lab.servers import SERVERS

if TYPE_CHECKING:
    from kb_mcp.models import IngestReport
    from sre_lab.cluster_snapshot import SnapshotSummary
    from sre_lab.loggen import SeedReport
    from sre_lab.stack import CheckResult


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

    async def checked(name: str) -> None:
        if check_servers:
            # the MCP SDK and the servers' packages: 2 s of imports, made while the seeders' threads run
            from sre_lab.local_servers import check_in_process  # noqa: PLC0415 - see above
            from sre_lab.stack import EmbeddedStack  # noqa: PLC0415 - see above

            # pinned to the clock the snapshot recorded in lab.json
            checks[name] = await check_in_process(EmbeddedStack(root), name)
            done(name, checks[name])

    # set once the log seeding's own Python work is done (or it ended): what runs beside it starts then
    traffic = anyio.Event()

    async def logs() -> None:
        def seed() -> SeedReport:  # in a thread from the start: even the settings import the servers' packages
            settings = seeding.logs_settings(stores.clickhouse, clickhouse_url=None)  # embedded, whatever the env says
            return seeding.seed_logs(
                scenario,
                settings,
                rows,
                progress=False,
                lab_root=root,
                on_traffic=lambda: anyio.from_thread.run_sync(traffic.set),
            )

        try:
            result.logs = await anyio.to_thread.run_sync(seed)
        finally:
            traffic.set()
        done("logs", result.logs)
        await checked("logs-mcp")  # the store's lock is free again: the server may open it

    async def after_traffic(step: Callable[..., Awaitable[None]], *args: str) -> None:
        await traffic.wait()
        await step(*args)

    async def runbooks() -> None:
        def seed() -> IngestReport:
            settings = seeding.kb_settings(stores.chroma, chroma_url=None, corpus_cache_dir=stores.kb_corpus_cache)
            return seeding.seed_runbooks(settings, lab_root=root)

        result.runbooks = await anyio.to_thread.run_sync(seed)
        done("runbooks", result.runbooks)
        await checked("kb-mcp")

    with _server_logging(root.parent / "logs" / "up-servers.log"):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(logs)
            tasks.start_soon(after_traffic, runbooks)
            tasks.start_soon(after_traffic, checked, "k8s-mcp")
    result.checks = [checks[server.name] for server in SERVERS if server.name in checks]
    result.seconds = time.perf_counter() - began
    return result


@contextmanager
def _server_logging(log_file: Path, level: str = "INFO") -> Iterator[None]:
    """While the checks run servers in this process, their log lines go to `log_file`: the terminal shows the
    bring-up's own lines (and the SDK would install a handler of its own on the first server it builds)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(level)
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        handler.close()
