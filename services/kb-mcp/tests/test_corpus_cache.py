"""The local copy of the corpus: a new server answers resources and searches from it before Chroma is read,
replaces it when Chroma holds another version, and ignores a copy it cannot use. Chroma is held back by a gate,
not a sleep; time by an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from mcp import Client

from kb_mcp import corpus_cache
from kb_mcp.config import KbSettings
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.server import create_server
from kb_mcp.store import RunbookStore

pytestmark = pytest.mark.anyio

GATE_TIMEOUT_S = 20.0


class Gate:
    """`open_store` for the server that blocks until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.waiting = threading.Event()

    def __call__(self, settings: KbSettings) -> RunbookStore:
        self.waiting.set()
        if not self.opened.wait(GATE_TIMEOUT_S):
            raise TimeoutError("the test never opened the gate")
        return RunbookStore.open(settings)


def _edit(corpus: Path) -> str:
    """Change one line of db-connections' Mitigation section; return the new line."""
    path = corpus / "db-connections.md"
    line = "- Raise the pool limit only after confirming the database has headroom (kb-mcp copy test)."
    text = path.read_text()
    marker = "## Mitigation\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + "\n" + line + "\n", 1))
    return line


async def test_resources_and_searches_come_from_the_copy_while_chroma_is_not_read(
    tmp_path, make_settings: Callable[..., KbSettings], small_corpus: Path, embedder
) -> None:
    settings = make_settings(tmp_path / "chroma", model_wait_s=10)  # without the copy, calls would time out
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert corpus_cache.cache_file(settings).is_file(), "ingest writes the copy"
    gate = Gate()
    async with Client(create_server(settings, embedder=embedder, open_store=gate)) as client:
        listed = (await client.list_resources()).resources
        text = (await client.read_resource("runbook://pod-crash/mitigation")).contents[0].text
        result = await client.call_tool("search_runbooks", {"query": "pods keep restarting OOMKilled"})
        assert gate.waiting.is_set() and not gate.opened.is_set(), "Chroma was not read yet"
        gate.opened.set()
    assert sorted(str(r.uri) for r in listed) == [
        "runbook://db-connections",
        "runbook://oom-jvm-heap",
        "runbook://pod-crash",
    ]
    assert "kubectl" in text
    assert not result.is_error, result.content[0].text
    assert result.structured_content["hits"][0]["runbook_id"] in {"pod-crash", "oom-jvm-heap"}


async def test_without_a_copy_calls_wait_for_chroma(
    tmp_path, make_settings: Callable[..., KbSettings], small_corpus: Path, embedder
) -> None:
    settings = make_settings(tmp_path / "chroma", model_wait_s=10)
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    corpus_cache.cache_file(settings).unlink()
    gate = Gate()
    async with Client(create_server(settings, embedder=embedder, open_store=gate)) as client:
        found: dict[str, object] = {}

        async def search() -> None:
            found["result"] = await client.call_tool("search_runbooks", {"query": "pods keep restarting OOMKilled"})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(search)
            await anyio.lowlevel.checkpoint()  # let the search start; it cannot finish before the gate opens
            assert "result" not in found
            gate.opened.set()
        result = found["result"]
    assert not result.is_error, result.content[0].text
    assert result.structured_content["hits"][0]["runbook_id"] in {"pod-crash", "oom-jvm-heap"}


async def test_a_copy_older_than_chroma_is_replaced_once_chroma_is_read(
    tmp_path, make_settings: Callable[..., KbSettings], small_corpus: Path, embedder
) -> None:
    settings = make_settings(tmp_path / "chroma")
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    old_copy = corpus_cache.cache_file(settings).read_bytes()
    line = _edit(small_corpus)
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    corpus_cache.cache_file(settings).write_bytes(old_copy)  # as if the copy had missed the second ingest

    gate = Gate()
    clock = Clock()
    async with Client(create_server(settings, embedder=embedder, open_store=gate, clock=clock)) as client:
        before = (await client.read_resource("runbook://db-connections/mitigation")).contents[0].text
        searched = await client.call_tool("search_runbooks", {"query": "raise the pool limit headroom"})
        assert not gate.opened.is_set(), "the search was answered from the copy, without waiting for Chroma"
        gate.opened.set()
        clock.now += settings.refresh_interval_s  # the next call is due to check Chroma (and waits for it)
        after = (await client.read_resource("runbook://db-connections/mitigation")).contents[0].text
    assert line not in before
    assert not searched.is_error
    assert line in after
    stored = RunbookStore.open(settings)
    try:
        assert corpus_cache.is_current(settings, stored.manifest()), "the server rewrote the copy"
    finally:
        stored.close()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_unusable_copy_is_ignored(
    tmp_path, make_settings: Callable[..., KbSettings], small_corpus: Path, embedder, caplog
) -> None:
    settings = make_settings(tmp_path / "chroma")
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    corpus_cache.cache_file(settings).write_text('{"format": 1, "location": "tru')
    assert corpus_cache.load(settings) is None
    assert "ignoring the corpus copy" in caplog.text
    async with Client(create_server(settings, embedder=embedder)) as client:
        listed = (await client.list_resources()).resources
    assert len(listed) == 3
    assert corpus_cache.load(settings) is not None, "the server wrote a good copy after reading Chroma"


def test_ingest_writes_what_a_server_reads_and_an_unchanged_ingest_leaves_it(
    tmp_path, make_settings: Callable[..., KbSettings], small_corpus: Path, embedder
) -> None:
    settings = make_settings(tmp_path / "chroma")
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    path = corpus_cache.cache_file(settings)
    written = path.stat().st_mtime_ns
    stored = RunbookStore.open(settings)
    try:
        copy, read = corpus_cache.load(settings), stored.read_corpus()
        assert copy is not None and (copy.runbooks, copy.manifest) == (read.runbooks, read.manifest)
        assert np.array_equal(copy.vectors, read.vectors) and copy.vectors.shape == (15, 384)
    finally:
        stored.close()
    ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert path.stat().st_mtime_ns == written
    other = make_settings(tmp_path / "other-chroma")
    assert corpus_cache.cache_file(other) != path and corpus_cache.load(other) is None
