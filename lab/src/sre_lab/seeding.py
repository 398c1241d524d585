"""Seeding the three stores from the one scenario: cluster snapshot, ClickHouse logs, runbooks in Chroma.

The same functions serve the embedded lab (chDB and Chroma directories under the data dir) and the compose
seed job (ClickHouse and Chroma servers, configured by the servers' own `LOGS_MCP_*` / `KB_MCP_*` variables).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import Scenario

__all__ = ["EmbeddedStores", "kb_settings", "logs_settings", "seed_cluster", "seed_logs", "seed_runbooks"]

if TYPE_CHECKING:
    from kb_mcp.models import IngestReport
    from sre_lab.cluster_snapshot import SnapshotSummary
    from sre_lab.loggen import SeedReport

LAB_LOG_ROWS = 3_000_000
"""The embedded lab's default volume: 24 h of traffic plus the incident (a few million rows)."""


def seed_cluster(scenario: Scenario, out: Path) -> SnapshotSummary:
    from sre_lab.cluster_snapshot import write_cluster_snapshot

    return write_cluster_snapshot(scenario, out)


def logs_settings(data_dir: Path | None = None, **overrides: Any) -> Any:
    """LogsSettings from the environment, pointed at `data_dir` (embedded chDB) when given."""
    from logs_mcp.config import LogsSettings

    if data_dir is not None:
        overrides.setdefault("data_dir", data_dir)
    return LogsSettings(**overrides)


def kb_settings(chroma_path: Path | None = None, **overrides: Any) -> Any:
    """KbSettings from the environment, pointed at `chroma_path` (embedded Chroma) when given."""
    from kb_mcp.config import KbSettings

    if chroma_path is not None:
        overrides.setdefault("chroma_path", chroma_path)
    return KbSettings(**overrides)


def seed_logs(scenario: Scenario, settings: Any, rows: int = LAB_LOG_ROWS, progress: bool = True) -> SeedReport:
    from sre_lab.loggen import seed_log_store

    return seed_log_store(scenario, settings=settings, rows=rows, progress=progress)


def seed_runbooks(settings: Any, runbooks_dir: Path | None = None) -> IngestReport:
    from kb_mcp.ingest import ingest_runbooks

    return ingest_runbooks(settings, runbooks_dir)
