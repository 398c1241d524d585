"""The runtime's small parts: the model's early loading handed to the lifespan, the query-vector cache."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest

from kb_mcp.knowledge import QueryVectors, StartedFirst


def test_an_early_loading_is_used_once_and_a_retry_opens_afresh() -> None:
    failed: Future[str] = Future()
    failed.set_exception(OSError("the model file is unreadable"))
    opened: list[str] = []

    def again() -> str:
        opened.append("again")
        return "fresh"

    opener = StartedFirst(failed, again)
    with pytest.raises(OSError, match="unreadable"):
        opener()  # the lifespan's first opening: the early loading's outcome
    assert opener() == "fresh" and opened == ["again"], "a retry does not replay the failure"

    done: Future[str] = Future()
    done.set_result("early")
    assert StartedFirst(done, lambda: "fresh")() == "early"
    assert StartedFirst(None, lambda: "fresh")() == "fresh"


def test_query_vectors_are_cached_least_recently_used_first_out(embedder) -> None:
    cache = QueryVectors(size=2)
    first = cache.get(embedder, "pods keep restarting")
    second = cache.get(embedder, "disk full")
    assert cache.get(embedder, "pods keep restarting") is first, "a repeated query is not embedded again"
    assert np.allclose(first, embedder.encode(["pods keep restarting"])[0], atol=1e-6)
    cache.get(embedder, "certificate expired")  # evicts "disk full", the least recently used
    assert cache.get(embedder, "pods keep restarting") is first
    again = cache.get(embedder, "disk full")
    assert again is not second and np.allclose(again, second, atol=1e-6), "embedded again after eviction"
