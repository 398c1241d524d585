"""A local copy of the corpus as stored in Chroma, so that a new server answers at once.

Importing chromadb and reading the collections takes about a second after the MCP SDK's own import; a stdio
server that Claude Desktop (or `docker exec`) starts for every session would answer its first search or
`resources/list` only after both. The copy holds exactly what `RunbookStore.read_corpus()` returned (section
vectors included) with the collection's manifest. `kb-mcp ingest` writes it after writing Chroma, and a server
writes it whenever it reads a corpus version the copy does not have. A server that starts from the copy still
reads the manifest from Chroma in the background and replaces its index if the corpus version differs, so the
copy is trusted only until Chroma has been read (a second or two after start).

The copy is a cache: a missing, unreadable or foreign file is ignored, and failing to write one is logged and
otherwise harmless.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from kb_mcp.codec import runbook_from_json, runbook_to_json
from kb_mcp.config import KbSettings
from kb_mcp.store import Manifest, StoredCorpus, same_corpus

logger = logging.getLogger(__name__)

FORMAT = 2


def location_key(settings: KbSettings) -> str:
    """Which store and collection a copy belongs to: the server URL or the absolute directory, and the name."""
    where = settings.chroma_location() if settings.chroma_url else str(settings.chroma_path.resolve())
    return f"{where}|{settings.collection}"


def cache_file(settings: KbSettings) -> Path:
    """The copy's file for the settings' store and collection."""
    digest = hashlib.sha256(location_key(settings).encode()).hexdigest()[:16]
    return settings.corpus_cache_dir / f"{settings.collection}-{digest}.json"


def load(settings: KbSettings) -> StoredCorpus | None:
    """The copy for the settings' store and collection, or None when there is no usable one."""
    path = cache_file(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("location") != location_key(settings):
            return None
        manifest = Manifest.from_metadata(data["manifest"])
        if manifest is None:
            return None
        runbooks = tuple(runbook_from_json(item) for item in data["runbooks"])
        vectors = _vectors(data["vectors"], sum(len(r.sections) for r in runbooks))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring the corpus copy %s: %s", path, exc)
        return None
    return StoredCorpus(runbooks, manifest, vectors)


def is_current(settings: KbSettings, manifest: Manifest | None) -> bool:
    """Whether the copy holds the corpus version (and model) that `manifest` describes."""
    copy = load(settings)
    return copy is not None and manifest is not None and same_corpus(copy.manifest, manifest)


def save(settings: KbSettings, corpus: StoredCorpus) -> None:
    """Write the copy atomically; a corpus without a manifest (nothing ingested) removes it instead."""
    path = cache_file(settings)
    try:
        if corpus.manifest is None or not corpus.runbooks:
            path.unlink(missing_ok=True)
            return
        payload = {
            "format": FORMAT,
            "location": location_key(settings),
            "manifest": corpus.manifest.as_metadata(),
            "runbooks": [runbook_to_json(runbook) for runbook in corpus.runbooks],
            "vectors": _vectors_data(corpus.vectors),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False)
            os.chmod(staging, 0o644)  # the runbooks are no secret; another user's server may read the copy
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("cannot write the corpus copy %s (KB_MCP_CORPUS_CACHE_DIR): %s", path, exc)


def _vectors_data(vectors: np.ndarray | None) -> dict[str, object] | None:
    if vectors is None:
        return None
    array = np.ascontiguousarray(vectors, dtype="<f4")
    return {"shape": list(array.shape), "float32_le": base64.b64encode(array.tobytes()).decode("ascii")}


def _vectors(data: dict[str, object] | None, rows: int) -> np.ndarray | None:
    if data is None:
        if rows:
            raise ValueError("the copy has sections but no vectors")
        return None
    shape = [int(n) for n in data["shape"]]  # type: ignore[attr-defined]
    array = np.frombuffer(base64.b64decode(str(data["float32_le"])), dtype="<f4").reshape(shape)
    if array.shape[0] != rows:
        raise ValueError(f"the copy has {array.shape[0]} vectors for {rows} sections")
    return array.astype(np.float32)
