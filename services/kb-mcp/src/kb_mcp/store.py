"""Chroma: an embedded `PersistentClient` by default, an `HttpClient` when `KB_MCP_CHROMA_URL` is set.

Two collections. `<collection>` holds one record per runbook section (its text, metadata and embedding) and,
in its collection metadata, the manifest: which model built it, the vector dimension, a corpus version.
`<collection>_documents` holds each runbook's full Markdown, so a server that only reads Chroma (the compose
lab: the seed job ingests) can serve `runbook://` resources and rebuild its BM25 index without the files.

Every collection is opened with `embedding_function=None`: vectors always come from `embed.Embedder`, so
Chroma never falls back to its own default model (which it would download).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kb_mcp.config import KbSettings
from kb_mcp.corpus import Runbook, Section

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateCollectionConfiguration
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bumped when the stored layout changes; a server refuses a collection written with another layout."""

_COSINE: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}


class StoreError(RuntimeError):
    """Chroma is unreachable or holds something this version cannot use; the message says what to do."""


@dataclass(frozen=True)
class Manifest:
    """What the sections collection records about how it was built."""

    model: str
    dimension: int
    corpus_version: str = ""
    schema_version: int = SCHEMA_VERSION
    ingested_at: str = ""

    def as_metadata(self) -> dict[str, str | int]:
        return {
            "embedding_model": self.model,
            "embedding_dimension": self.dimension,
            "corpus_version": self.corpus_version,
            "schema_version": self.schema_version,
            "ingested_at": self.ingested_at,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Manifest | None:
        if not metadata or "embedding_model" not in metadata:
            return None
        return cls(
            model=str(metadata["embedding_model"]),
            dimension=int(metadata.get("embedding_dimension", 0)),
            corpus_version=str(metadata.get("corpus_version", "")),
            schema_version=int(metadata.get("schema_version", 0)),
            ingested_at=str(metadata.get("ingested_at", "")),
        )


def same_corpus(a: Manifest | None, b: Manifest | None) -> bool:
    """Whether two manifests describe the same corpus version built with the same model (two Nones: both empty)."""
    if a is None or b is None:
        return a is None and b is None
    return a.corpus_version == b.corpus_version and a.model == b.model


@dataclass(frozen=True)
class StoredCorpus:
    """Everything the server reads from Chroma at start: the runbooks with their sections, and the manifest."""

    runbooks: tuple[Runbook, ...] = ()
    manifest: Manifest | None = None


def open_client(settings: KbSettings) -> ClientAPI:
    """The Chroma client the settings describe (imports chromadb: call it off the start-up path)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        parts = urlsplit(settings.chroma_url)
        ssl = parts.scheme == "https"
        port = parts.port or (443 if ssl else 8000)
        try:
            return chromadb.HttpClient(host=parts.hostname or "", port=port, ssl=ssl, settings=chroma_settings)
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} (KB_MCP_CHROMA_URL): {_reason(exc)}"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def describe_location(settings: KbSettings) -> str:
    """Where the store is, for messages: the URL or the directory."""
    return settings.chroma_url or str(settings.chroma_path)


class RunbookStore:
    """The two collections, read and written through one Chroma client (embedded or HTTP: one code path)."""

    def __init__(self, client: ClientAPI, settings: KbSettings) -> None:
        self.client = client
        self.settings = settings
        self.sections_name = settings.collection
        self.documents_name = settings.documents_collection()

    @classmethod
    def open(cls, settings: KbSettings) -> RunbookStore:
        return cls(open_client(settings), settings)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    # ---- reading -------------------------------------------------------------------------------------------

    def manifest(self) -> Manifest | None:
        collection = self._get(self.sections_name)
        return None if collection is None else Manifest.from_metadata(collection.metadata)

    def read_corpus(self) -> StoredCorpus:
        """The whole corpus as stored (an empty one when nothing was ingested yet)."""
        sections_collection = self._get(self.sections_name)
        documents_collection = self._get(self.documents_name)
        if sections_collection is None or documents_collection is None:
            return StoredCorpus()
        manifest = Manifest.from_metadata(sections_collection.metadata)
        if manifest is not None and manifest.schema_version != SCHEMA_VERSION:
            raise StoreError(
                f"collection '{self.sections_name}' was written with layout v{manifest.schema_version}; "
                f"this server reads v{SCHEMA_VERSION}: re-ingest with `kb-mcp ingest`"
            )
        docs = documents_collection.get(include=["documents", "metadatas"])
        chunks = sections_collection.get(include=["documents", "metadatas"])
        by_runbook: dict[str, list[Section]] = {}
        chunk_rows = zip(chunks["documents"] or [], chunks["metadatas"] or [], strict=True)
        for text, meta in chunk_rows:
            runbook_id = _str(meta, "runbook_id")
            section = Section(runbook_id, _str(meta, "section"), _str(meta, "slug"), text or "", _int(meta, "ordinal"))
            by_runbook.setdefault(runbook_id, []).append(section)
        runbooks = []
        doc_rows = zip(docs["ids"], docs["documents"] or [], docs["metadatas"] or [], strict=True)
        for runbook_id, markdown, meta in doc_rows:
            sections = sorted(by_runbook.get(runbook_id, []), key=lambda s: s.ordinal)
            runbooks.append(
                Runbook(
                    id=runbook_id,
                    title=_str(meta, "title"),
                    team=_str(meta, "team"),
                    services=_strings(meta, "services"),
                    tags=_strings(meta, "tags"),
                    last_reviewed=_str(meta, "last_reviewed"),
                    markdown=markdown or "",
                    sections=tuple(sections),
                )
            )
        return StoredCorpus(tuple(sorted(runbooks, key=lambda r: r.id)), manifest)

    def query(
        self, embedding: Sequence[float], n_results: int, where: Mapping[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest sections, nearest first."""
        collection = self._get(self.sections_name)
        if collection is None:
            return []
        vectors: list[Sequence[float]] = [list(embedding)]
        result = collection.query(
            query_embeddings=vectors,
            n_results=n_results,
            where=dict(where) if where else None,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        # Cosine space: distance = 1 - cosine similarity.
        return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(ids, distances, strict=True)]

    # ---- writing (ingest only; the server never writes) ----------------------------------------------------

    def ensure_collections(self, manifest: Manifest) -> bool:
        """Open or create both collections for `manifest`'s model; return True when existing ones were dropped.

        A collection built with another model or dimension cannot take these vectors, so it is dropped and
        rebuilt (ingest re-embeds everything).
        """
        existing = self.manifest()
        rebuilt = False
        if existing is not None and (
            existing.model != manifest.model
            or existing.dimension != manifest.dimension
            or existing.schema_version != manifest.schema_version
        ):
            logger.warning(
                "collection '%s' was built with %s (dimension %d, layout v%d); rebuilding it for %s (dimension %d)",
                self.sections_name,
                existing.model,
                existing.dimension,
                existing.schema_version,
                manifest.model,
                manifest.dimension,
            )
            self.drop()
            rebuilt = True
        for name in (self.sections_name, self.documents_name):
            self.client.get_or_create_collection(
                name, configuration=_COSINE, metadata=manifest.as_metadata(), embedding_function=None
            )
        return rebuilt

    def drop(self) -> None:
        for name in (self.sections_name, self.documents_name):
            if self._get(name) is not None:
                self.client.delete_collection(name)

    def stored_hashes(self, which: str) -> dict[str, str]:
        """id → content hash for the 'sections' or 'documents' collection."""
        collection = self._require(self._name(which))
        got = collection.get(include=["metadatas"])
        return {i: str((m or {}).get("hash", "")) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)}

    def upsert(
        self,
        which: str,
        ids: Sequence[str],
        documents: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        embeddings: Sequence[Sequence[float]],
    ) -> None:
        if not ids:
            return
        collection = self._require(self._name(which))
        batch = max(1, int(self.client.get_max_batch_size()))
        for start in range(0, len(ids), batch):
            end = start + batch
            vectors: list[Sequence[float]] = [list(e) for e in embeddings[start:end]]
            collection.upsert(
                ids=list(ids[start:end]),
                documents=list(documents[start:end]),
                metadatas=[_chroma_metadata(m) for m in metadatas[start:end]],
                embeddings=vectors,
            )

    def delete(self, which: str, ids: Sequence[str]) -> None:
        if ids:
            self._require(self._name(which)).delete(ids=list(ids))

    def write_manifest(self, manifest: Manifest) -> None:
        for name in (self.sections_name, self.documents_name):
            self._require(name).modify(metadata=manifest.as_metadata())

    # ---- helpers -------------------------------------------------------------------------------------------

    def _name(self, which: str) -> str:
        return self.sections_name if which == "sections" else self.documents_name

    def _get(self, name: str) -> Collection | None:
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None

    def _require(self, name: str) -> Collection:
        collection = self._get(name)
        if collection is None:
            raise StoreError(f"collection '{name}' does not exist in {describe_location(self.settings)}")
        return collection


def _str(metadata: Mapping[str, Any], key: str) -> str:
    value = metadata.get(key)
    return "" if value is None else str(value)


def _int(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    return int(value) if isinstance(value, int | float | str) else 0


def _strings(metadata: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = metadata.get(key)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _chroma_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    # Chroma rejects None values and empty lists: leave those keys out (readers default them).
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        out[key] = list(value) if isinstance(value, list | tuple) else value
    return out


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
