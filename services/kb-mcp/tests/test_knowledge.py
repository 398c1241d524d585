"""The runtime's small parts: the query-vector cache."""

from __future__ import annotations

import numpy as np

from kb_mcp.knowledge import QueryVectors


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
