"""The sre-lab command line through typer's runner: audit verify, config --write, the docker path's errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcp_common.audit import AuditEntry, AuditLog
from sre_lab.cli import app

runner = CliRunner()


def test_audit_verify_reports_ok_and_the_first_altered_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for namespace in ["payments", "auth", "monitoring"]:
        log.record(AuditEntry("k8s-mcp", "list_pods", {"namespace": namespace}, "stdio", "ok", 1.0))
    ok = runner.invoke(app, ["audit", "verify", str(path)])
    assert ok.exit_code == 0 and "3 lines, chain intact" in ok.output
    path.write_text(path.read_text().replace('"auth"', '"kube-system"'))
    broken = runner.invoke(app, ["audit", "verify", str(path)])
    assert broken.exit_code == 1 and "line 2" in broken.output
    missing = runner.invoke(app, ["audit", "verify", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2


def test_config_write_merges_into_the_given_file(tmp_path: Path) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(json.dumps({"mcpServers": {"github": {"command": "gh"}}}))
    result = runner.invoke(app, ["config", "claude-desktop", "--mode", "docker", "--write", "--path", str(target)])
    assert result.exit_code == 0, result.output
    servers = json.loads(target.read_text())["mcpServers"]
    assert set(servers) == {"github", "kubernetes", "clickhouse-logs", "sre-knowledge-base"}
    target.write_text("{broken")
    refused = runner.invoke(app, ["config", "claude-desktop", "--write", "--path", str(target)])
    assert refused.exit_code == 1 and "not valid JSON" in refused.output and target.read_text() == "{broken"


def test_up_docker_without_a_daemon_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        '#!/bin/sh\n[ "$1" = info ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }\nexit 0\n'
    )
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = runner.invoke(app, ["up", "--docker"])
    assert result.exit_code == 2
    assert "daemon is not reachable" in result.output and "sre-lab up --embedded" in result.output


def test_seed_cluster_then_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRE_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells to the terminal width
    seeded = runner.invoke(app, ["seed", "cluster", "--now", "2026-11-26T14:23:30Z"])
    assert seeded.exit_code == 0 and "19 pods" in seeded.output
    bad_now = runner.invoke(app, ["seed", "cluster", "--now", "yesterday"])
    assert bad_now.exit_code == 2 and "not an ISO timestamp" in bad_now.output
    status = runner.invoke(app, ["status"])
    assert "captured 2026-11-26T14:23:30Z" in status.output
