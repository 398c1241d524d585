"""`sre-lab up --embedded` end to end, as a user runs it: every store seeded at one clock, every server checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sre_lab import labstate
from sre_lab.cli import app

pytestmark = [pytest.mark.stack, pytest.mark.slow]
NOW = "2026-11-26T14:23:30Z"


def test_up_seeds_every_store_at_one_clock_and_checks_every_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lab" / "data"
    monkeypatch.setenv("SRE_LAB_DATA_DIR", str(root))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["up", "--embedded", "--rows", "5000", "--now", NOW])
    assert result.exit_code == 0, result.output
    for line in ("k8s-mcp: 12 tools over MCP", "logs-mcp: 7 tools over MCP", "kb-mcp: 3 tools over MCP"):
        assert line in result.stdout
    state = labstate.read_state(root)
    assert state is not None and state.clock_text() == NOW
    assert set(state.stores) == {"cluster", "logs", "runbooks"} and not state.stale_stores()
    assert state.stores["logs"].counts["rows"] >= 5000 and state.stores["runbooks"].counts["runbooks"] > 0
    assert f"scenario clock {NOW}" in result.stdout and "Next" in result.stdout
