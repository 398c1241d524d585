"""Shared pytest set-up: async tests run on anyio's asyncio backend (the MCP SDK is anyio-based)."""

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
