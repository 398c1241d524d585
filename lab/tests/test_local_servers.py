"""`sre-lab up`'s in-process server checks: the check can fail, and says why as the server's start would."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from sre_lab.local_servers import check_in_process, settings_for
from sre_lab.stack import EmbeddedStack


def test_a_server_over_a_missing_store_fails_its_check_with_the_servers_own_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOGS_MCP_CLICKHOUSE_URL", raising=False)
    stack = EmbeddedStack(tmp_path / "data")  # nothing seeded
    result = anyio.run(check_in_process, stack, "logs-mcp")
    assert not result.ok and result.tools == 0
    assert "LOGS_MCP_DATA_DIR" in (result.error or ""), result.error


def test_the_settings_are_those_the_servers_process_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_MCP_DENIED_NAMESPACES", "kube-system")  # the environment still counts
    stack = EmbeddedStack(tmp_path / "data")
    settings = settings_for(stack, "k8s-mcp")
    assert settings.backend == "snapshot" and settings.snapshot_dir == tmp_path / "data" / "cluster"
    assert "kube-system" in settings.denied_namespaces
    assert settings.audit_log == tmp_path / "audit" / "k8s-mcp.jsonl"  # beside the data, as the configs have it
