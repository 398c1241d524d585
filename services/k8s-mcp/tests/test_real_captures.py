"""The real captures collected after the server was written (`tests/fixtures/real/survey2/`, see SOURCE.md), read
the way the evaluation reads them: each becomes a snapshot and goes through an in-memory MCP session."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp.evaluate import evaluate_case

pytestmark = pytest.mark.anyio

SURVEY2 = Path(__file__).parent / "fixtures" / "real" / "survey2"


async def test_a_kube_system_capture_is_read_and_its_derived_rows_are_scored(tmp_path: Path) -> None:
    """`*` denies kube-system, so the evaluation once could not read a capture of it and counted its rows as
    misses; a case's own namespace is now allowed, as a user names it (`*,kube-system`)."""
    result = await evaluate_case(SURVEY2 / "kstatus-minikube-kube-system", tmp_path)
    assert result.collection == "survey2" and result.holdout
    assert result.kubectl_derived == {"etcd-minikube": True, "storage-provisioner": True}
