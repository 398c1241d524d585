"""The incident's application logs, written into the log store (`sre-lab seed logs`).

Two kinds of rows, both from `sre_lab.scenario` (every name, pod, trace id and moment comes from there):

- **story rows** (tens of thousands): every line the scenario defines (the four traces, the notable lines,
  every OOM crash of the crash-looping pods, start-ups and heartbeats of the running pods), each slow query
  as the WARN line its pod logged, and the periodic lines that change with the incident (Redis evictions,
  cache hit rates, circuit-breaker probes, GC pauses, connection pools, the odd rejected injection attempt),
  built in Python and inserted as columns (`sre_lab.story_logs`);
- **traffic rows** (millions): 24 h of payment and auth requests generated inside ClickHouse by one
  `INSERT … SELECT … FROM numbers_mt()` per chunk. Each request gets a time (a day-shaped rate), pods among
  those serving at that time (a pod in CrashLoopBackOff serves nothing; the scaled-up pods serve from their
  start), an outcome from the incident's phase (cache misses once Redis evicts, card-network timeouts, the
  open breaker on payment-gw-abc12), and expands into its log lines through `STEPS` (`sre_lab.traffic`,
  `sql/traffic.sql`). Only parameters cross the client boundary; ClickHouse formats the strings.

Deterministic: the same scenario (`now`, `seed`), `rows` and `seed` give the same rows. Re-seeding truncates
both tables first, so it replaces the dataset instead of adding to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clickhouse_connect.driver.client import Client
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from logs_mcp.config import LogsSettings
from logs_mcp.store import open_writer
from sre_lab.scenario import Scenario
from sre_lab.story_logs import insert_records, insert_slow_queries, slow_query_rows, story_records
from sre_lab.traffic import TrafficPlan, insert_traffic, requests_for, step_signatures

DEFAULT_ROWS = 3_000_000
WINDOW = timedelta(hours=24)
CHUNK_REQUESTS = 500_000  # requests per INSERT … SELECT (≈ 2 M rows): bounded memory, a progress tick each


@dataclass(frozen=True)
class SeedReport:
    """What `seed_logs` wrote."""

    rows: int  # application_logs rows
    traffic_rows: int
    story_rows: int
    requests: int
    slow_queries: int
    since: datetime
    until: datetime
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# -- opening ------------------------------------------------------------------------------------------


def open_log_store(settings: LogsSettings | None = None) -> Client:
    """A writer client for the configured store (env `LOGS_MCP_*`), with the schema applied."""
    return open_writer(settings or LogsSettings())


def seed_log_store(
    scenario: Scenario,
    *,
    settings: LogsSettings | None = None,
    rows: int = DEFAULT_ROWS,
    seed: int | None = None,
    progress: bool = True,
    on_traffic: Callable[[], object] | None = None,
) -> SeedReport:
    """Open the store, replace its logs with the incident's, close it. What `sre-lab seed logs` calls."""
    client = open_log_store(settings)
    try:
        return seed_logs(client, scenario, rows=rows, seed=seed, progress=progress, on_traffic=on_traffic)
    finally:
        client.close()


# -- seeding ------------------------------------------------------------------------------------------


def seed_logs(
    client: Client,
    scenario: Scenario,
    *,
    rows: int = DEFAULT_ROWS,
    seed: int | None = None,
    progress: bool = True,
    on_traffic: Callable[[], object] | None = None,
) -> SeedReport:
    """Replace the logs in `client`'s database with the incident's: about `rows` application log lines.

    `seed` varies the traffic (default: the scenario's seed). The client needs the schema applied
    (`open_log_store`) and write access. `on_traffic` is called once the story rows are in, as the traffic
    insert starts: from then on the seeding runs in ClickHouse's threads, without the GIL.
    """
    if rows < 1000:
        raise ValueError("rows must be at least 1000")
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    until = scenario.now
    since = until - WINDOW
    slow = slow_query_rows(scenario, since, seed)
    story = story_records(scenario, since, seed, slow)
    plan = TrafficPlan.build(scenario, since, until, requests=requests_for(rows - len(story)), seed=seed)

    client.command("TRUNCATE TABLE IF EXISTS application_logs")
    client.command("TRUNCATE TABLE IF EXISTS slow_queries")
    with _progress(progress, total_rows=rows) as advance:
        insert_records(client, story, {pod.name: pod.namespace for pod in scenario.pods})
        advance(len(story))
        traffic_rows = 0
        signatures = step_signatures(client)
        if on_traffic is not None:
            on_traffic()
        for first in range(0, plan.requests, CHUNK_REQUESTS):
            count = min(CHUNK_REQUESTS, plan.requests - first)
            written = insert_traffic(client, plan, first, count, signatures)
            traffic_rows += written
            advance(written)
        insert_slow_queries(client, slow)
    return SeedReport(
        rows=len(story) + traffic_rows,
        traffic_rows=traffic_rows,
        story_rows=len(story),
        requests=plan.requests,
        slow_queries=len(slow),
        since=since,
        until=until,
        seconds=time.perf_counter() - started,
    )


class _NoProgress:
    def __enter__(self) -> Callable[[int], None]:
        return lambda rows: None

    def __exit__(self, *exc: object) -> None:
        return None


class _RichProgress:
    def __init__(self, total_rows: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]seeding logs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._task = self._progress.add_task("logs", total=total_rows, rate="")
        self._started = time.perf_counter()
        self._done = 0

    def __enter__(self) -> Callable[[int], None]:
        self._progress.start()
        return self._advance

    def _advance(self, rows: int) -> None:
        self._done += rows
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        total = max(self._done, int(self._progress.tasks[0].total or 0))
        self._progress.update(
            self._task, completed=self._done, total=total, rate=f"{self._done / elapsed / 1e6:.2f} M rows/s"
        )

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _progress(enabled: bool, total_rows: int) -> _NoProgress | _RichProgress:
    return _RichProgress(total_rows) if enabled else _NoProgress()


def wait_for_merges(client: Client, timeout_s: float = 120.0) -> float:
    """Wait until the background merges of the fresh parts are done (or `timeout_s`); return the seconds waited.

    A seeded store keeps merging its parts for a while; with chDB, in whichever process opens it next. The
    benchmark waits, so it measures queries rather than merges; the lab may wait too before serving.
    """
    started = time.perf_counter()
    quiet = 0
    while time.perf_counter() - started < timeout_s and quiet < 2:
        running = client.query("SELECT count() FROM system.merges WHERE table = 'application_logs'").result_rows[0][0]
        quiet = quiet + 1 if running == 0 else 0
        time.sleep(0.5)
    return time.perf_counter() - started
