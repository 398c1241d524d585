"""Shared pytest set-up: async tests run on anyio's asyncio backend (the MCP SDK is anyio-based)."""

from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stack",
        choices=["embedded", "compose"],
        default="embedded",
        help="tests/: run the scenarios on local processes (embedded, default) or the running compose lab",
    )


@pytest.fixture
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sre-lab's embedded data directory in a scratch folder, and no lab settings from the caller's environment
    (lab/tests and tests/ run the CLI)."""
    root = tmp_path / "lab" / "data"
    monkeypatch.setenv("SRE_LAB_DATA_DIR", str(root))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells to the terminal width
    for variable in ("LOGS_MCP_CLICKHOUSE_URL", "KB_MCP_CHROMA_URL", "ANTHROPIC_API_KEY", "SRE_LAB_HOME"):
        monkeypatch.delenv(variable, raising=False)
    return root
