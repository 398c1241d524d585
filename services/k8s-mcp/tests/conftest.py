"""Fixtures for k8s-mcp tests: a hand-moved clock, and a cluster snapshot written from the lab's scenario."""

from __future__ import annotations

import pytest


class FakeClock:
    """A clock the test moves by hand (no sleeps)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
