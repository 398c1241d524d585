"""Fixtures for k8s-mcp tests: a hand-moved clock, and a cluster snapshot written from the lab's scenario."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server

# `cluster_objects` (real-shaped API objects) is shared by several test modules; pytest's importlib mode does not
# put this folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


class FakeClock:
    """A clock the test moves by hand (no sleeps)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's incident written as a snapshot. Tests use the lab as a seeder only: the server never imports it."""
    from sre_lab.cluster_snapshot import write_cluster_snapshot  # noqa: PLC0415 - the lab only where a test seeds
    from sre_lab.scenario import build_scenario  # noqa: PLC0415 - the lab only where a test seeds

    out = tmp_path_factory.mktemp("cluster")
    write_cluster_snapshot(build_scenario(now=NOW), out)
    return out


@pytest.fixture
def make_server(snapshot_dir: Path, tmp_path: Path, clock: FakeClock) -> Callable[..., Any]:
    """Build k8s-mcp on a fresh snapshot backend (scaling mutates it), pinned to the scenario clock."""

    def build(**env: Any) -> Any:
        settings = K8sSettings(backend="snapshot", snapshot_dir=snapshot_dir, audit_log=tmp_path / "audit.jsonl", **env)
        return create_server(settings, clock=lambda: NOW, token_clock=clock)

    return build
