"""Shared pytest set-up: async tests run on anyio's asyncio backend (the MCP SDK is anyio-based)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
