"""Seeding the three stores from the one scenario: cluster snapshot, ClickHouse logs, runbooks in Chroma.

The same functions serve the embedded lab (chDB and Chroma directories under the data dir) and the compose
seed job (ClickHouse and Chroma servers, configured by the servers' own `LOGS_MCP_*` / `KB_MCP_*` variables).
Seeding the embedded lab records each store in the data directory's state file (`sre_lab.labstate`), with
the scenario clock the servers will answer relative to.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sre_lab import labstate
from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import Scenario

if TYPE_CHECKING:  # the servers' packages cost a second to import: only the seeders that use them load them
    from kb_mcp.config import KbSettings
    from kb_mcp.models import IngestReport
    from logs_mcp.config import LogsSettings
    from sre_lab.cluster_snapshot import SnapshotSummary
    from sre_lab.loggen import SeedReport

__all__ = [
    "LAB_LOG_ROWS",
    "EmbeddedStores",
    "kb_settings",
    "logs_settings",
    "seed_cluster",
    "seed_logs",
    "seed_runbooks",
]

LAB_LOG_ROWS = 1_500_000
"""The embedded lab's default volume: 24 h of traffic plus the incident, about 17 lines a second. The log
table's own insert (its indexes, projection and text index) is about 60 % of the seeding's CPU and scales with
the rows; the incident's signals are rates and shapes, which do not. `--rows` seeds more."""


def seed_cluster(scenario: Scenario, out: Path, lab_root: Path | None = None) -> SnapshotSummary:
    """Write the cluster snapshot; with `lab_root`, record it in that embedded lab's state."""
    from sre_lab.cluster_snapshot import write_cluster_snapshot  # noqa: PLC0415 - deferred with the other writers

    summary = write_cluster_snapshot(scenario, out)
    if lab_root is not None:
        counts = {name.removesuffix(".json"): n for name, n in summary.counts.items()}
        counts["log files"] = summary.log_files
        labstate.record_store(lab_root, "cluster", counts, scenario.now, scenario.seed)
    return summary


def logs_settings(data_dir: Path | None = None, **overrides: Any) -> LogsSettings:
    """LogsSettings from the environment, pointed at `data_dir` (embedded chDB) when given."""
    from logs_mcp.config import LogsSettings  # noqa: PLC0415 - the servers' packages load only for the store being seeded

    if data_dir is not None:
        overrides.setdefault("data_dir", data_dir)
    return LogsSettings(**overrides)


def kb_settings(chroma_path: Path | None = None, **overrides: Any) -> KbSettings:
    """KbSettings from the environment, pointed at `chroma_path` (embedded Chroma) when given."""
    from kb_mcp.config import KbSettings  # noqa: PLC0415 - the servers' packages load only for the store being seeded

    if chroma_path is not None:
        overrides.setdefault("chroma_path", chroma_path)
    return KbSettings(**overrides)


def seed_logs(
    scenario: Scenario,
    settings: LogsSettings,
    rows: int = LAB_LOG_ROWS,
    progress: bool = True,
    lab_root: Path | None = None,
    on_traffic: Callable[[], object] | None = None,
) -> SeedReport:
    """Replace the log store's data with the incident's; with `lab_root`, record it in that lab's state.
    `on_traffic`: see `sre_lab.loggen.seed_logs`."""
    from sre_lab.loggen import seed_log_store  # noqa: PLC0415 - chDB and clickhouse-connect: only when logs are seeded

    report = seed_log_store(scenario, settings=settings, rows=rows, progress=progress, on_traffic=on_traffic)
    if lab_root is not None:
        counts = {"rows": report.rows, "requests": report.requests, "slow_queries": report.slow_queries}
        labstate.record_store(lab_root, "logs", counts, scenario.now, scenario.seed)
    return report


def seed_runbooks(settings: KbSettings, runbooks_dir: Path | None = None, lab_root: Path | None = None) -> IngestReport:
    """Ingest the runbooks (idempotent); with `lab_root`, record them in that lab's state."""
    from kb_mcp.ingest import ingest_runbooks  # noqa: PLC0415 - Chroma and ONNX Runtime: only when runbooks are ingested

    report = ingest_runbooks(settings, runbooks_dir)
    if lab_root is not None:
        labstate.record_store(lab_root, "runbooks", {"runbooks": report.runbooks, "sections": report.sections}, None)
    return report
