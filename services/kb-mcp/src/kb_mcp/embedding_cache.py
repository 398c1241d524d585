"""Embeddings kept by content on this machine, so an ingest embeds only text it has never embedded before.

Embedding is nearly all of an ingest's time (about 10 s for the lab's 197 texts on two cores). The vectors depend
only on the text and the model, so they are kept in one SQLite file per model (`<dir>/<model>-<fingerprint>.sqlite`,
keyed by the SHA-256 of the text): a fresh store (`sre-lab up --embedded` after `down --volumes`, a second lab, a
test session) is filled from the cache, and a changed model has another fingerprint, hence another file.

A cache problem (a read-only directory, a full disk, a damaged file) is logged and the ingest embeds as if there
were no cache: it never fails an ingest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kb_mcp.embed import ModelIdentity

logger = logging.getLogger(__name__)

FORMAT = 1
"""Bumped if the file layout changes (an older file is then left alone and a new one started)."""


class EmbeddingCache:
    """Vectors by text for one model, in a SQLite file; safe for several processes at once (WAL, busy timeout)."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.dimension = dimension
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
            db.commit()
            self._db = db
        except (sqlite3.Error, OSError) as exc:  # a read-only filesystem (an image's), a file that is not a database
            logger.warning("embedding cache %s not used: %s", path, exc)

    @classmethod
    def for_model(cls, directory: Path | None, model: ModelIdentity) -> EmbeddingCache | None:
        """The cache of `model`'s vectors under `directory` (None: caching is off)."""
        if directory is None:
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model.name)[:80] or "model"
        return cls(directory / f"{safe}-{model.fingerprint[:16]}-v{FORMAT}.sqlite", model.dimension)

    def embed(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, int]:
        """The vectors of `texts` (one row each) and how many had to be embedded now: `encode` is called only
        for the texts not in the cache (not at all when every one is)."""
        keys = [hashlib.sha256(text.encode("utf-8")).digest() for text in texts]
        found = self._get(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        if missing:
            fresh = encode([texts[i] for i in missing])
            out[missing] = fresh
            self._put([keys[i] for i in missing], fresh)
        return out, len(missing)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        if self._db is None or not keys:
            return found
        try:
            for batch in _batches(keys, 500):
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch)  # noqa: S608 (placeholders only)
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype="<f4")
                    if vector.shape == (self.dimension,):
                        found[bytes(key)] = vector
        except sqlite3.Error as exc:
            logger.warning("embedding cache %s not read: %s", self.path, exc)
            return {}
        return found

    def _put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        if self._db is None:
            return
        rows = [
            (key, np.ascontiguousarray(vector, dtype="<f4").tobytes())
            for key, vector in zip(keys, vectors, strict=True)
        ]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
        except sqlite3.Error as exc:
            logger.warning("embedding cache %s not written: %s", self.path, exc)


@contextlib.contextmanager
def embedding_cache(directory: Path | None, model: ModelIdentity) -> Iterator[EmbeddingCache | None]:
    """The model's cache for the length of a block (closed after)."""
    cache = EmbeddingCache.for_model(directory, model)
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()


def _batches(items: Sequence[bytes], size: int) -> Iterator[list[bytes]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
