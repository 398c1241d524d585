"""What the server holds while it runs: the Chroma store, the corpus index built from it, and the model.

Start-up must not wait for any of them (importing chromadb takes about a second, the model a few tenths):
`start()` takes the corpus from the local copy (`corpus_cache`) if there is one, then reads Chroma in a
background thread and then loads the model in another. Requests wait for what they need and no more:
resources need the corpus, searches need Chroma read and the model.

The corpus is re-read when the collection's corpus version changes (checked at most every
`refresh_interval_s`), so a server started before the seed job ingested picks the runbooks up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from kb_mcp import corpus_cache
from kb_mcp.config import KbSettings
from kb_mcp.embed import Embedder, ModelNotReadyError
from kb_mcp.retrieval import CorpusIndex, Hit, Mode, hybrid_search
from kb_mcp.store import RunbookStore, StoreError, describe_location, same_corpus
from mcp_common.blocking import run_blocking
from mcp_common.errors import ToolError, not_found

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0
"""After a failed read of the store, how long before a request tries again."""

QUERY_CACHE_SIZE = 256
"""Query vectors kept (LRU): agents repeat queries, and ask_knowledge_base retrieves again on each round trip."""


def embedder_for(settings: KbSettings, *, ingest: bool = False) -> Embedder:
    """The embedder the settings describe (not loaded yet): query-sized threads, or every CPU for `ingest`."""
    return Embedder(
        settings.resolved_model_path(),
        settings.model_identity(),
        threads=settings.threads_for_ingest() if ingest else settings.embed_threads,
        backend=settings.embed_backend,
        onnx_cache_dir=settings.onnx_cache_dir,
    )


class KnowledgeBase:
    """The running knowledge base. Create it, `start()` it, `close()` it (the server's lifespan does)."""

    def __init__(
        self,
        settings: KbSettings,
        *,
        embedder: Embedder | None = None,
        open_store: Callable[[KbSettings], RunbookStore] = RunbookStore.open,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._owns_embedder = embedder is None
        self.embedder = embedder or embedder_for(settings)
        self._open_store = open_store
        self._clock = clock
        self._store: RunbookStore | None = None
        self._index: CorpusIndex | None = None
        self._error: str | None = None
        self._checked_at = float("-inf")
        self._loaded = threading.Event()  # an index exists (from the local copy or from Chroma), or never will
        self._store_read = threading.Event()  # the start-up read of Chroma is over, either way
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._query_vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ---- life cycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the corpus, then load the model, in the background; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._start_up, name="kb-mcp-corpus", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        if self._owns_embedder:
            self.embedder.close()

    def load_blocking(self) -> CorpusIndex:
        """Read the corpus now, in this thread (for the eval and scripts; the server uses `start()`)."""
        self._refresh(force=True)
        self._loaded.set()
        if self._index is None:
            raise RuntimeError(self._error or "the knowledge base could not be read")
        return self._index

    def _start_up(self) -> None:
        try:
            self._load_copy()
            self._refresh(force=True)
        except Exception:
            logger.exception("unexpected failure reading the knowledge base")
        finally:
            self._loaded.set()
            self._store_read.set()
            self.embedder.start()

    def _load_copy(self) -> None:
        """Serve resources from the local copy of the corpus until Chroma has been read (a second or so)."""
        copy = corpus_cache.load(self.settings)
        if copy is None:
            return
        with self._lock:
            if self._index is None:
                self._index = CorpusIndex(copy.runbooks, copy.manifest)
                self._checked_at = self._clock()  # the start-up read below is what checks it, not each request
                logger.info("knowledge base: %d runbooks from the local copy, checking Chroma", len(copy.runbooks))
        self._loaded.set()

    # ---- the corpus ----------------------------------------------------------------------------------------

    async def index(self, *, allow_empty: bool = False) -> CorpusIndex:
        """The corpus index once loaded (and not empty, unless `allow_empty`); a `ToolError` saying what to do."""
        await self._wait(self._loaded, "reading the knowledge base")
        if self._due():
            await run_blocking(
                self._refresh, timeout_s=self.settings.search_timeout_s, what="reading the knowledge base from Chroma"
            )
        index = self._index
        if index is None:
            raise ToolError(self._error or "the knowledge base is not available yet; retry in a few seconds")
        if index.is_empty and not allow_empty:
            raise ToolError(
                f"the knowledge base is empty: collection '{self.settings.collection}' in "
                f"{describe_location(self.settings)} has no runbooks. Ingest them with `kb-mcp ingest` "
                "(or `sre-lab seed runbooks`), then retry."
            )
        return index

    def _due(self) -> bool:
        elapsed = self._clock() - self._checked_at
        if self._index is None:
            return elapsed >= RETRY_AFTER_S
        interval = self.settings.refresh_interval_s
        return interval > 0 and elapsed >= interval

    def _refresh(self, force: bool = False) -> None:
        """Re-read the corpus if its version changed (or on `force`); record an error instead of raising."""
        with self._lock:
            if not force and not self._due():
                return
            self._checked_at = self._clock()
            try:
                if self._store is None:
                    self._store = self._open_store(self.settings)
                manifest = self._store.manifest()
                current = self._index
                if current is not None and same_corpus(current.manifest, manifest):
                    return
                stored = self._store.read_corpus()
                corpus_cache.save(self.settings, stored)
            except StoreError as exc:
                self._error = str(exc)
                logger.error("%s", exc)
                return
            except Exception as exc:
                logger.exception("cannot read the knowledge base from %s", describe_location(self.settings))
                self._error = (
                    f"cannot read the knowledge base from {describe_location(self.settings)} "
                    f"({type(exc).__name__}); check that Chroma is running and KB_MCP_CHROMA_URL / "
                    "KB_MCP_CHROMA_PATH point at it"
                )
                return
            self._index = CorpusIndex(stored.runbooks, stored.manifest)
            self._error = None
            logger.info(
                "knowledge base: %d runbooks, %d sections from collection '%s' in %s%s",
                len(self._index.runbooks),
                len(self._index.sections),
                self.settings.collection,
                describe_location(self.settings),
                f" (built with {manifest.model}, dimension {manifest.dimension})" if manifest else "",
            )
            problem = self.model_mismatch()
            if problem:
                logger.error("%s", problem)

    def model_mismatch(self) -> str | None:
        """Why the stored vectors cannot be compared with this server's query vectors, if they cannot."""
        index = self._index
        if index is None or index.is_empty:
            return None
        manifest = index.manifest
        expected = self.settings.model_identity()
        where = f"collection '{self.settings.collection}' in {describe_location(self.settings)}"
        fix = "re-ingest with `kb-mcp ingest` using this model, or point KB_MCP_MODEL_PATH at the model that built it"
        if manifest is None:
            return f"{where} records no embedding model (not written by kb-mcp ingest); {fix}"
        if manifest.model != expected:
            return (
                f"{where} was built with model '{manifest.model}' (dimension {manifest.dimension}) but this server "
                f"embeds queries with '{expected}'; {fix}"
            )
        if self.embedder.is_ready and self.embedder.dimension != manifest.dimension:
            return (
                f"{where} holds {manifest.dimension}-dimensional vectors but model '{expected}' makes "
                f"{self.embedder.dimension}-dimensional ones; {fix}"
            )
        return None

    # ---- searching -----------------------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        n_results: int,
        *,
        team: str | None = None,
        service: str | None = None,
        mode: Mode = "hybrid",
    ) -> tuple[CorpusIndex, list[Hit]]:
        """The best sections for `query`; waits for the model if it is still loading."""
        if mode != "bm25":  # the index must be Chroma's (not the local copy's) before its vectors are searched
            await self._wait(self._store_read, "opening the vector store")
            if self._store is None:
                raise ToolError(self._error or "the vector store is not open; retry in a few seconds")
        index = await self.index()
        check_filters(index, team, service)
        if mode != "bm25":
            try:
                await self.embedder.ready(self.settings.model_wait_s)
            except ModelNotReadyError as exc:
                raise ToolError(str(exc)) from None
            problem = self.model_mismatch()
            if problem:
                raise ToolError(problem)
        hits = await run_blocking(
            self.search_blocking,
            index,
            query,
            n_results,
            team=team,
            service=service,
            mode=mode,
            timeout_s=self.settings.search_timeout_s,
            what="search_runbooks",
        )
        return index, hits

    def search_blocking(
        self,
        index: CorpusIndex,
        query: str,
        n_results: int,
        *,
        team: str | None = None,
        service: str | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The search itself, in the calling thread (the eval calls it directly)."""
        return hybrid_search(
            index,
            query,
            n_results,
            vector_search=self._vector_search,
            team=team,
            service=service,
            mode=mode,
        )

    def _vector_search(self, query: str, n: int, where: Mapping[str, Any] | None) -> list[tuple[str, float]]:
        vector = self._query_vector(query)
        store = self._store
        if store is None:
            raise ToolError("the vector store is not open; retry in a few seconds")
        try:
            return store.query(vector, n, where)
        except Exception:
            logger.exception("vector query failed against %s", describe_location(self.settings))
            raise ToolError(
                f"the vector store at {describe_location(self.settings)} did not answer; retry, "
                "or check that Chroma is running"
            ) from None

    def _query_vector(self, query: str) -> list[float]:
        with self._cache_lock:
            cached = self._query_vectors.get(query)
            if cached is not None:
                self._query_vectors.move_to_end(query)
                return cached
        [vector] = self.embedder.encode([query])
        with self._cache_lock:
            self._query_vectors[query] = vector
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return vector

    # ---- health --------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Serving is possible: the store was read (possibly empty), the model did not fail, no model mismatch."""
        return (
            self._store_read.is_set()
            and self._error is None
            and self._index is not None
            and self.embedder.error is None
            and self.model_mismatch() is None
        )

    async def _wait(self, event: threading.Event, what: str) -> None:
        if event.is_set():
            return
        done = await anyio.to_thread.run_sync(event.wait, self.settings.model_wait_s, abandon_on_cancel=True)
        if not done:
            raise ToolError(f"{what} is taking longer than {self.settings.model_wait_s:g} s; retry shortly")


def check_filters(index: CorpusIndex, team: str | None, service: str | None) -> None:
    """Defence in depth: a team or service filter must name one the corpus has (the error lists them)."""
    if team is not None and team not in index.teams:
        raise not_found("team", team[:80], index.teams)
    if service is not None and service not in index.services:
        raise not_found("service", service[:80], index.services, limit=40)
