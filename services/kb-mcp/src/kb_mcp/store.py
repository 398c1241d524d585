"""Chroma: an embedded `PersistentClient` by default, an `HttpClient` when `KB_MCP_CHROMA_URL` is set.

Two collections. `<collection>` holds one record per runbook section (its text, metadata and embedding) and,
in its collection metadata, the manifest: which model built it, the vector dimension, a corpus version.
`<collection>_documents` holds each runbook's full Markdown and fields, so a server that only reads Chroma (the
compose lab: the seed job ingests) can serve `runbook://` resources and rebuild its index without the files.
The server reads everything once (section vectors included) and searches in memory; Chroma is the record.

Every collection is opened with `embedding_function=None`: vectors always come from `embed.Embedder`, so
Chroma never falls back to its own default model (which it would download).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kb_mcp.codec import runbook_from, section_from
from kb_mcp.config import KbSettings
from kb_mcp.corpus import Runbook, Section
from mcp_common.errors import StoreUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateCollectionConfiguration
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""Bumped when the stored layout changes; a server refuses a collection written with another layout."""

_COSINE: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}


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
    """Everything the server reads from Chroma: the runbooks with their sections, the manifest, and the section
    vectors (one row per section, in the order the runbooks and their sections come; None when empty)."""

    runbooks: tuple[Runbook, ...] = ()
    manifest: Manifest | None = None
    vectors: Any = None


def open_client(settings: KbSettings) -> ClientAPI:
    """The Chroma client the settings describe (imports chromadb: call it off the start-up path)."""
    # Start-up cost: importing chromadb takes about a second; the server does it in the background.
    import chromadb  # noqa: PLC0415 - start-up cost (see above)
    from chromadb.config import Settings as ChromaSettings  # noqa: PLC0415 - start-up cost, with chromadb

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = settings.chroma_url
    if url is not None:
        try:
            return chromadb.HttpClient(
                host=url.host or "", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_location()} (KB_MCP_CHROMA_URL): {_reason(exc)}"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def describe_location(settings: KbSettings) -> str:
    """Where the store is, for messages: the URL or the directory."""
    return settings.chroma_location()


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
        with self._reading("the collection's manifest"):
            collection = self._get(self.sections_name)
            return None if collection is None else Manifest.from_metadata(collection.metadata)

    def read_corpus(self) -> StoredCorpus:
        """The whole corpus as stored, vectors included (an empty one when nothing was ingested yet)."""
        with self._reading("the runbooks"):
            return self._read_corpus()

    def _read_corpus(self) -> StoredCorpus:
        sections_collection = self._get(self.sections_name)
        documents_collection = self._get(self.documents_name)
        if sections_collection is None or documents_collection is None:
            return StoredCorpus()
        manifest = Manifest.from_metadata(sections_collection.metadata)
        if manifest is not None and manifest.schema_version != SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"collection '{self.sections_name}' was written with layout v{manifest.schema_version}; "
                f"this server reads v{SCHEMA_VERSION}: re-ingest with `kb-mcp ingest`"
            )
        docs = documents_collection.get(include=["documents", "metadatas"])
        chunks = sections_collection.get(include=["documents", "metadatas", "embeddings"])
        by_runbook: dict[str, list[Section]] = {}
        vector_of: dict[str, Any] = {}
        embeddings = chunks["embeddings"] if chunks["embeddings"] is not None else []
        rows = zip(chunks["ids"], chunks["documents"] or [], chunks["metadatas"] or [], embeddings, strict=True)
        for chunk_id, text, meta, vector in rows:
            section = section_from(meta, text or "")
            by_runbook.setdefault(section.runbook_id, []).append(section)
            vector_of[chunk_id] = vector
        runbooks = sorted(
            (
                runbook_from(runbook_id, meta or {}, markdown or "", by_runbook.get(runbook_id, []))
                for runbook_id, markdown, meta in zip(
                    docs["ids"], docs["documents"] or [], docs["metadatas"] or [], strict=True
                )
            ),
            key=lambda r: r.id,
        )
        order = [s.chunk_id for r in runbooks for s in r.sections]
        vectors = np.asarray([vector_of[c] for c in order], dtype=np.float32) if order else None
        return StoredCorpus(tuple(runbooks), manifest, vectors)

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

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Chroma gone or failing while the server reads it: a `StoreUnavailableError` saying what to check."""
        # Imported by now with chromadb (the client exists); at the top they would cost the server's start-up
        # 0.1-0.3 s (httpx brings rich) for an error type that only a Chroma client can raise.
        import httpx  # noqa: PLC0415 - start-up cost (see above)
        from chromadb.errors import ChromaError  # noqa: PLC0415 - start-up cost: chromadb, imported by now with the client

        try:
            yield
        except (ChromaError, httpx.HTTPError, OSError) as exc:
            raise StoreUnavailableError(
                f"cannot read {what} from Chroma at {describe_location(self.settings)}: {_reason(exc)}; check "
                "that Chroma is running and that KB_MCP_CHROMA_URL / KB_MCP_CHROMA_PATH point at it"
            ) from exc

    def _get(self, name: str) -> Collection | None:
        from chromadb.errors import NotFoundError  # noqa: PLC0415 - start-up cost: chromadb, imported by now with the client

        try:
            return self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None

    def _require(self, name: str) -> Collection:
        collection = self._get(name)
        if collection is None:
            raise StoreUnavailableError(f"collection '{name}' does not exist in {describe_location(self.settings)}")
        return collection


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
