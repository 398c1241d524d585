"""Runbook files → Chroma. Idempotent by content hash: unchanged sections are neither re-embedded nor rewritten,
sections and runbooks whose files are gone are deleted, and a run that changes nothing writes nothing.

The lab seeds with `ingest_runbooks(settings)`; the command line is `kb-mcp ingest [DIR]`.
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

from kb_mcp import corpus_cache
from kb_mcp.config import KbSettings
from kb_mcp.corpus import Runbook, content_hash, embedding_text, load_runbooks
from kb_mcp.embed import Embedder
from kb_mcp.knowledge import embedder_for
from kb_mcp.models import IngestReport
from kb_mcp.store import SCHEMA_VERSION, Manifest, RunbookStore, describe_location

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Record:
    id: str
    document: str
    metadata: Mapping[str, Any]
    embed_text: str
    hash: str


def ingest_runbooks(
    target: KbSettings | RunbookStore,
    runbooks_dir: Path | None = None,
    *,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Ingest every runbook in `runbooks_dir` (default: the settings' `runbooks_dir`) into the store.

    `target` is the settings (the store is opened and closed here) or an open `RunbookStore`. The model is
    loaded only when something needs embedding. Raises `corpus.CorpusError` for malformed runbooks (nothing
    is written then) and `store.StoreError` when Chroma cannot be used.
    """
    started = time.perf_counter()
    settings = target if isinstance(target, KbSettings) else target.settings
    directory = runbooks_dir or settings.runbooks_dir
    runbooks = load_runbooks(directory)
    store = RunbookStore.open(settings) if isinstance(target, KbSettings) else target
    embedder = embedder or embedder_for(settings, ingest=True)
    try:
        return _ingest(store, settings, directory, runbooks, embedder, started)
    finally:
        if isinstance(target, KbSettings):
            store.close()


def _ingest(
    store: RunbookStore,
    settings: KbSettings,
    directory: Path,
    runbooks: Sequence[Runbook],
    embedder: Embedder,
    started: float,
) -> IngestReport:
    model = settings.model_identity()
    existing = store.manifest()
    if existing is not None and existing.model == model and existing.schema_version == SCHEMA_VERSION:
        dimension = existing.dimension  # confirmed below if anything needs embedding
    else:
        dimension = embedder.load().dimension
    rebuilt = store.ensure_collections(Manifest(model=model, dimension=dimension))

    sections = _section_records(runbooks, model)
    documents = _document_records(runbooks, model)
    stored_sections = store.stored_hashes("sections")
    stored_documents = store.stored_hashes("documents")
    stale_sections = [r for r in sections if stored_sections.get(r.id) != r.hash]
    stale_documents = [r for r in documents if stored_documents.get(r.id) != r.hash]

    embed_started = time.perf_counter()
    if (stale_sections or stale_documents) and embedder.load().dimension != dimension:
        # Same model name, different vectors: the stored ones cannot be mixed with these.
        store.drop()
        dimension = embedder.dimension
        rebuilt = store.ensure_collections(Manifest(model=model, dimension=dimension))
        stored_sections, stored_documents = {}, {}
        stale_sections, stale_documents = list(sections), list(documents)
    _write(store, "sections", stale_sections, embedder)
    _write(store, "documents", stale_documents, embedder)
    embed_seconds = time.perf_counter() - embed_started

    removed_sections = sorted(set(stored_sections) - {r.id for r in sections})
    removed_documents = sorted(set(stored_documents) - {r.id for r in documents})
    store.delete("sections", removed_sections)
    store.delete("documents", removed_documents)

    corpus_version = content_hash(*sorted(f"{r.id}={r.hash}" for r in [*sections, *documents]))
    current = store.manifest()
    if current is None or current.corpus_version != corpus_version or current.dimension != dimension:
        ingested_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        store.write_manifest(Manifest(model, dimension, corpus_version, SCHEMA_VERSION, ingested_at))
    if not corpus_cache.is_current(settings, store.manifest()):
        corpus_cache.save(settings, store.read_corpus())  # what a server reads, so the next one starts from it

    added = sum(1 for r in stale_sections if r.id not in stored_sections)
    report = IngestReport(
        directory=str(directory),
        location=describe_location(settings),
        collection=settings.collection,
        model=model,
        runbooks=len(runbooks),
        sections=len(sections),
        added=added,
        updated=len(stale_sections) - added,
        unchanged=len(sections) - len(stale_sections),
        removed=len(removed_sections),
        runbooks_written=len(stale_documents),
        runbooks_removed=len(removed_documents),
        rebuilt=rebuilt,
        seconds=round(time.perf_counter() - started, 3),
        embed_seconds=round(embed_seconds, 3),
    )
    logger.info("ingest: %s", report.summary())
    return report


def _write(store: RunbookStore, which: str, records: Sequence[_Record], embedder: Embedder) -> None:
    if not records:
        return
    vectors = embedder.encode([r.embed_text for r in records])
    store.upsert(
        which,
        ids=[r.id for r in records],
        documents=[r.document for r in records],
        metadatas=[{**r.metadata, "hash": r.hash} for r in records],
        embeddings=vectors,
    )


def _section_records(runbooks: Sequence[Runbook], model: str) -> list[_Record]:
    records = []
    for runbook in runbooks:
        for section in runbook.sections:
            metadata = {
                "runbook_id": runbook.id,
                "title": runbook.title,
                "team": runbook.team,
                "section": section.heading,
                "slug": section.slug,
                "ordinal": section.ordinal,
                "services": list(runbook.services),
                "tags": list(runbook.tags),
                "last_reviewed": runbook.last_reviewed,
            }
            text = embedding_text(runbook.title, section.heading, section.text)
            records.append(_Record(section.chunk_id, section.text, metadata, text, _hash(model, text, metadata)))
    return records


def _document_records(runbooks: Sequence[Runbook], model: str) -> list[_Record]:
    records = []
    for runbook in runbooks:
        metadata = {
            "title": runbook.title,
            "team": runbook.team,
            "services": list(runbook.services),
            "tags": list(runbook.tags),
            "last_reviewed": runbook.last_reviewed,
            "sections": len(runbook.sections),
        }
        # The runbook-level vector: what the runbook is about, not its body (the sections carry that).
        text = f"{runbook.title}\n{', '.join(runbook.tags)}\n{', '.join(runbook.services)}"
        records.append(_Record(runbook.id, runbook.markdown, metadata, text, _hash(model, runbook.markdown, metadata)))
    return records


def _hash(model: str, text: str, metadata: Mapping[str, Any]) -> str:
    return content_hash(str(SCHEMA_VERSION), model, text, json.dumps(metadata, sort_keys=True, ensure_ascii=False))
