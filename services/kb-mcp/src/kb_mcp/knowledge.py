"""What the server holds while it runs — the model, the store, the corpus index — and the searches over them.

The lifespan opens the model and the Chroma store in the background (`mcp_common.background`) and keeps the
corpus in a `Corpus`: the index searched in memory (BM25 and the section vectors). The corpus starts from the
local copy when there is one (`corpus_cache`: the first search then needs only the model, and Chroma's import —
about a second — happens after it), and is replaced whenever Chroma holds another corpus version: checked as
soon as the store is open, then at most every `refresh_interval_s`, so a server started before the seed job
picks the runbooks up.

Nothing here is a thread of its own: blocking work runs through anyio's worker threads with a deadline.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable

import anyio
import anyio.to_thread
import numpy as np

from kb_mcp import corpus_cache
from kb_mcp.config import KbSettings
from kb_mcp.embed import Embedder
from kb_mcp.retrieval import CorpusIndex, Hit, Mode, hybrid_search
from kb_mcp.store import RunbookStore, StoredCorpus, describe_location, same_corpus
from mcp_common.background import Background
from mcp_common.blocking import run_blocking
from mcp_common.errors import StoreUnavailableError, UnavailableError, not_found

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0
"""After a failed read of the store, how long before a request tries again."""

QUERY_CACHE_SIZE = 256
"""Query vectors kept (LRU): agents repeat queries, and ask_knowledge_base retrieves again on each round trip."""


class Corpus:
    """The corpus index the server searches, and when it was last checked against the store."""

    def __init__(self, settings: KbSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.index: CorpusIndex | None = None
        self.problem: str | None = None  # why the last read of the store failed
        self.checked_at = -math.inf
        self._ready = anyio.Event()  # set once there is an index (from the copy or the store) or a first failure
        self._lock = anyio.Lock()  # one read of the store at a time

    async def load_copy(self) -> bool:
        """Take the index from the local copy of the corpus, if there is one; whether there was."""
        index = await anyio.to_thread.run_sync(self._index_from_copy)
        if index is None:
            return False
        if self.index is None:
            self.index = index
            self.checked_at = self.clock()  # the start-up read of the store checks it, not each request
            logger.info("knowledge base: %d runbooks from the local copy, checking Chroma", len(index.runbooks))
        self._ready.set()
        return True

    async def refresh(self, store: Background[RunbookStore], *, force: bool = False) -> None:
        """Re-read the corpus if the store holds another version (or on `force`); record a failure, not raise."""
        async with self._lock:
            if not force and not self._due():
                return
            self.checked_at = self.clock()
            try:
                opened = await store.get()
                index = await run_blocking(
                    self._read, opened, timeout_s=self.settings.search_timeout_s, what="reading the knowledge base"
                )
            except UnavailableError as exc:
                self.problem = str(exc)
                logger.error("%s", exc)
            else:
                self.problem = None
                if index is not None:
                    self.index = index
                    logger.info(
                        "knowledge base: %d runbooks, %d sections from collection '%s' in %s",
                        len(index.runbooks),
                        len(index.sections),
                        self.settings.collection,
                        describe_location(self.settings),
                    )
            finally:
                self._ready.set()

    async def current(self, store: Background[RunbookStore], *, allow_empty: bool = False) -> CorpusIndex:
        """The index (re-checked against the store when due); `StoreUnavailableError` saying what to do."""
        if not self._ready.is_set():  # a cancel scope per call costs more than the rest of this check
            with anyio.move_on_after(self.settings.model_wait_s):
                await self._ready.wait()
        if not self._ready.is_set():
            raise StoreUnavailableError("the knowledge base is still being read; retry in a few seconds")
        if self._due():
            await self.refresh(store)
        index = self.index
        if index is None:
            raise StoreUnavailableError(
                self.problem or "the knowledge base is not available yet; retry in a few seconds"
            )
        if index.is_empty and not allow_empty:
            raise StoreUnavailableError(
                f"the knowledge base is empty: collection '{self.settings.collection}' in "
                f"{describe_location(self.settings)} has no runbooks. Ingest them with `kb-mcp ingest` "
                "(or `sre-lab seed runbooks`), then retry."
            )
        return index

    def _due(self) -> bool:
        elapsed = self.clock() - self.checked_at
        if self.index is None or self.problem is not None:
            return elapsed >= RETRY_AFTER_S
        interval = self.settings.refresh_interval_s
        return interval > 0 and elapsed >= interval

    def _index_from_copy(self) -> CorpusIndex | None:
        copy = corpus_cache.load(self.settings)
        return None if copy is None else _index(copy)

    def _read(self, store: RunbookStore) -> CorpusIndex | None:
        """The store's corpus as an index, or None when it is the version already held (blocking)."""
        manifest = store.manifest()
        current = self.index
        if current is not None and same_corpus(current.manifest, manifest):
            return None
        stored = store.read_corpus()
        corpus_cache.save(self.settings, stored)
        return _index(stored)


class QueryVectors:
    """Query embeddings by query text (LRU), shared by the worker threads that search."""

    def __init__(self, size: int = QUERY_CACHE_SIZE) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, query: str) -> bool:
        """Whether `query`'s vector is held (then a search needs no embedding)."""
        with self._lock:
            return query in self._vectors

    def get(self, embedder: Embedder, query: str) -> np.ndarray:
        with self._lock:
            cached = self._vectors.get(query)
            if cached is not None:
                self._vectors.move_to_end(query)
                return cached
        vector = embedder.encode([query])[0]
        with self._lock:
            self._vectors[query] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector


def search(
    index: CorpusIndex,
    query: str,
    n_results: int,
    *,
    embedder: Embedder | None,
    queries: QueryVectors | None = None,
    team: str | None = None,
    service: str | None = None,
    mode: Mode = "hybrid",
) -> list[Hit]:
    """The best sections for `query` (blocking: embeds the query). `embedder` may be None for `mode="bm25"`."""
    vector = None
    if mode != "bm25":
        if embedder is None:
            raise ValueError(f"mode {mode} needs the embedding model")
        vector = queries.get(embedder, query) if queries is not None else embedder.encode([query])[0]
    return hybrid_search(index, query, n_results, query_vector=vector, team=team, service=service, mode=mode)


def model_mismatch(settings: KbSettings, index: CorpusIndex, embedder: Embedder | None) -> str | None:
    """Why the stored vectors cannot be compared with this server's query vectors, if they cannot."""
    if index.is_empty:
        return None
    manifest = index.manifest
    expected = settings.model_identity()
    where = f"collection '{settings.collection}' in {describe_location(settings)}"
    fix = "re-ingest with `kb-mcp ingest` using this model, or point KB_MCP_MODEL_PATH at the model that built it"
    if manifest is None:
        return f"{where} records no embedding model (not written by kb-mcp ingest); {fix}"
    if manifest.model != expected:
        return (
            f"{where} was built with model '{manifest.model}' (dimension {manifest.dimension}) but this server "
            f"embeds queries with '{expected}'; {fix}"
        )
    if embedder is not None and embedder.dimension != manifest.dimension:
        return (
            f"{where} holds {manifest.dimension}-dimensional vectors but model '{expected}' makes "
            f"{embedder.dimension}-dimensional ones; {fix}"
        )
    return None


def check_filters(index: CorpusIndex, team: str | None, service: str | None) -> None:
    """Defence in depth: a team or service filter must name one the corpus has (the error lists them)."""
    if team is not None and team not in index.teams:
        raise not_found("team", team[:80], index.teams)
    if service is not None and service not in index.services:
        raise not_found("service", service[:80], index.services, limit=40)


def _index(stored: StoredCorpus) -> CorpusIndex:
    return CorpusIndex(stored.runbooks, stored.manifest, stored.vectors)
