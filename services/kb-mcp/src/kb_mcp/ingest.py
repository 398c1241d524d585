"""Runbook folders → Chroma, incrementally.

Incremental twice over: a section or runbook whose content hash is what the store holds is neither embedded nor
written (a run that changes nothing writes nothing and loads no model); and what must be written is embedded
through the machine's embedding cache (`embedding_cache`), so text embedded once before (another store, a
previous lab) is not embedded again, and a run that finds every text there loads no model either. Sections and
runbooks whose files are gone are deleted. Files that cannot be read are skipped and listed in the report; the
rest are ingested.

The lab seeds with `ingest_runbooks(settings)`; the command line is `kb-mcp ingest [DIR ...] [--strict]`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_mcp import corpus_cache
from kb_mcp.codec import runbook_metadata, section_metadata
from kb_mcp.config import KbSettings
from kb_mcp.corpus import Loaded, Runbook, content_hash, load_folders
from kb_mcp.embed import Embedder, ModelIdentity, identify
from kb_mcp.embedding_cache import embedding_cache
from kb_mcp.models import IngestReport
from kb_mcp.retrieval import embedding_text
from kb_mcp.store import SCHEMA_VERSION, Manifest, RunbookStore, describe_location

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Record:
    id: str
    document: str
    metadata: Mapping[str, Any]
    embed_text: str
    hash: str


class _Model:
    """The embedder, loaded on first use only: an ingest that changes nothing, or finds every text it writes in
    the embedding cache, never loads it (0.3 s of CPU, more while `sre-lab up` seeds the logs beside it)."""

    def __init__(self, settings: KbSettings, embedder: Embedder | None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._identity = embedder.identity if embedder is not None else None
        self.embedded = 0

    def get(self) -> Embedder:
        if self.embedder is None:
            self.embedder = Embedder.open(self.settings, ingest=True)
        return self.embedder

    def identity(self) -> ModelIdentity:
        """The model's name, fingerprint and dimension: from its export when it has one, else by loading it."""
        if self._identity is None:
            self._identity = identify(self.settings) or self.get().identity
        return self._identity

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return self.get().encode(texts)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        with embedding_cache(self.settings.embedding_cache_dir, self.identity()) as cache:
            if cache is None:
                return self.encode(texts)
            vectors, _ = cache.embed(texts, self.encode)
        return vectors


def ingest_runbooks(
    target: KbSettings | RunbookStore,
    folders: Path | Sequence[Path] | None = None,
    *,
    embedder: Embedder | None = None,
    strict: bool = False,
) -> IngestReport:
    """Ingest every runbook under `folders` (default: the settings' `runbooks_dir`) into the store.

    `target` is the settings (the store is opened and closed here) or an open `RunbookStore`. Raises
    `corpus.CorpusError` when nothing can be read (or, `strict`, when any file cannot: nothing is written
    then) and `StoreUnavailableError` when Chroma cannot be used.
    """
    started = time.perf_counter()
    settings = target if isinstance(target, KbSettings) else target.settings
    if folders is None:
        folders = [settings.runbooks_dir]
    elif isinstance(folders, Path):
        folders = [folders]
    loaded = load_folders(list(folders), strict=strict)
    for skipped in loaded.skipped:
        logger.warning("skipped %s", skipped)
    store = RunbookStore.open(settings) if isinstance(target, KbSettings) else target
    try:
        return _ingest(store, settings, loaded, _Model(settings, embedder), started)
    finally:
        if isinstance(target, KbSettings):
            store.close()


def _ingest(store: RunbookStore, settings: KbSettings, loaded: Loaded, model: _Model, started: float) -> IngestReport:
    name = settings.model_identity()
    existing = store.manifest()
    if existing is not None and existing.model == name and existing.schema_version == SCHEMA_VERSION:
        dimension = existing.dimension  # confirmed below if anything needs embedding
    else:
        dimension = model.identity().dimension
    rebuilt = store.ensure_collections(Manifest(model=name, dimension=dimension))

    sections = _section_records(loaded.runbooks, name)
    documents = _document_records(loaded.runbooks, name)
    stored_sections = store.stored_hashes("sections")
    stored_documents = store.stored_hashes("documents")
    stale_sections = [r for r in sections if stored_sections.get(r.id) != r.hash]
    stale_documents = [r for r in documents if stored_documents.get(r.id) != r.hash]

    embed_started = time.perf_counter()
    if (stale_sections or stale_documents) and model.identity().dimension != dimension:
        # Same model name, different vectors: the stored ones cannot be mixed with these.
        store.drop()
        dimension = model.identity().dimension
        rebuilt = store.ensure_collections(Manifest(model=name, dimension=dimension))
        stored_sections, stored_documents = {}, {}
        stale_sections, stale_documents = list(sections), list(documents)
    _write(store, "sections", stale_sections, model)
    _write(store, "documents", stale_documents, model)
    embed_seconds = time.perf_counter() - embed_started

    removed_sections = sorted(set(stored_sections) - {r.id for r in sections})
    removed_documents = sorted(set(stored_documents) - {r.id for r in documents})
    store.delete("sections", removed_sections)
    store.delete("documents", removed_documents)

    corpus_version = content_hash(*sorted(f"{r.id}={r.hash}" for r in [*sections, *documents]))
    current = store.manifest()
    if current is None or current.corpus_version != corpus_version or current.dimension != dimension:
        ingested_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        store.write_manifest(Manifest(name, dimension, corpus_version, SCHEMA_VERSION, ingested_at))
    if not corpus_cache.is_current(settings, store.manifest()):
        corpus_cache.save(settings, store.read_corpus())  # what a server reads, so the next one starts from it

    added = sum(1 for r in stale_sections if r.id not in stored_sections)
    report = IngestReport(
        directory=", ".join(loaded.folders),
        location=describe_location(settings),
        collection=settings.collection,
        model=name,
        runbooks=len(loaded.runbooks),
        sections=len(sections),
        added=added,
        updated=len(stale_sections) - added,
        unchanged=len(sections) - len(stale_sections),
        removed=len(removed_sections),
        runbooks_written=len(stale_documents),
        runbooks_removed=len(removed_documents),
        rebuilt=rebuilt,
        embedded=model.embedded,
        skipped=[str(s) for s in loaded.skipped],
        ignored=[str(s) for s in loaded.ignored],
        seconds=round(time.perf_counter() - started, 3),
        embed_seconds=round(embed_seconds, 3),
    )
    logger.info("ingest: %s", report.summary())
    return report


def _write(store: RunbookStore, which: str, records: Sequence[_Record], model: _Model) -> None:
    if not records:
        return
    vectors = model.vectors([r.embed_text for r in records])
    store.upsert(
        which,
        ids=[r.id for r in records],
        documents=[r.document for r in records],
        metadatas=[{**r.metadata, "hash": r.hash} for r in records],
        embeddings=vectors.tolist(),
    )


def _section_records(runbooks: Sequence[Runbook], model: str) -> list[_Record]:
    records = []
    for runbook in runbooks:
        for section in runbook.sections:
            metadata = section_metadata(section)
            text = embedding_text(runbook, section)  # the hash covers it: a new title re-embeds the sections
            records.append(_Record(section.chunk_id, section.text, metadata, text, _hash(model, text, metadata)))
    return records


def _document_records(runbooks: Sequence[Runbook], model: str) -> list[_Record]:
    records = []
    for runbook in runbooks:
        metadata = runbook_metadata(runbook)
        # The runbook-level vector: what the runbook is about, not its body (the sections carry that).
        text = "\n".join(
            [runbook.title, ", ".join(runbook.aliases), ", ".join(runbook.tags), ", ".join(runbook.services)]
        )
        records.append(_Record(runbook.id, runbook.markdown, metadata, text, _hash(model, runbook.markdown, metadata)))
    return records


def _hash(model: str, text: str, metadata: Mapping[str, Any]) -> str:
    return content_hash(str(SCHEMA_VERSION), model, text, json.dumps(metadata, sort_keys=True, ensure_ascii=False))
