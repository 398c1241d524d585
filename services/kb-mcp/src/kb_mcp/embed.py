"""The embedding model, loaded from local files only, behind one interface with two backends.

- `onnx` (default): the sentence-transformers model exported to ONNX (`onnx_export`, at build time) and run
  by ONNX Runtime with the model's own tokenizer (`onnx_model`). Same vectors as sentence-transformers
  (checked at export), a 3–5 ms query instead of 12–20 ms, and 0.2 s to import instead of 6–8 s.
- `sentence-transformers`: the model through `SentenceTransformer.encode` (torch; the `export` extra), for
  models that cannot be exported and as the reference the export is held to.

`Embedder.open` loads in the calling thread and returns a ready model: the server's lifespan runs it in the
background (`mcp_common.background`), `kb-mcp ingest` and the eval call it directly. `identify` tells what an
ONNX export's vectors are (name, fingerprint, dimension: what the embedding cache is keyed by) without loading
it, so an ingest whose every text is cached never loads the model. Nothing here imports a runtime at module
import time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb_mcp.config import EmbedBackend, KbSettings, default_onnx_cache_dir
from mcp_common.errors import StoreUnavailableError

logger = logging.getLogger(__name__)

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # nothing is downloaded at run time: the model is a local directory
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # stderr is for log lines, not progress bars
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass(frozen=True)
class ModelIdentity:
    """What a model's vectors are: two models with the same name and fingerprint make the same vectors."""

    name: str
    fingerprint: str
    dimension: int


def identify(settings: KbSettings) -> ModelIdentity | None:
    """The identity of the model the settings describe, read from its ONNX export's `export.json` without loading
    the model; None where only loading it tells (the sentence-transformers backend, no export made yet)."""
    if settings.embed_backend != "onnx":
        return None
    # Start-up cost: onnxruntime's import belongs to the loader, not to the server's import.
    from kb_mcp.onnx_model import ExportInfo, find_export  # noqa: PLC0415 - start-up cost (above)

    name = settings.model_identity()
    cache_dir = settings.onnx_cache_dir or default_onnx_cache_dir()
    try:
        directory = find_export(cache_dir, name, settings.resolved_model_path())
        info = ExportInfo.read(directory) if directory is not None else None
    except (OSError, ValueError, TypeError, KeyError):  # an unreadable export: loading it says why
        return None
    return ModelIdentity(name, info.fingerprint, info.dimension) if info is not None else None


class EmbeddingBackend(Protocol):
    dimension: int

    def encode(self, texts: Sequence[str], *, batch_size: int) -> Any:
        """L2-normalised float32 vectors, shape (len(texts), dimension)."""
        ...


class SentenceTransformerBackend:
    """The model through sentence-transformers and torch (imports take seconds; a query 12–20 ms here)."""

    def __init__(self, model_path: Path, *, threads: int) -> None:
        try:  # the `export` extra: not installed where the server only serves the ONNX export
            import torch  # noqa: PLC0415 - optional extra: `export`
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional extra: `export`
            from transformers.utils import logging as transformers_logging  # noqa: PLC0415 - optional extra: `export`
        except ImportError as exc:
            raise StoreUnavailableError(
                f"KB_MCP_EMBED_BACKEND=sentence-transformers needs torch and sentence-transformers, and {exc.name} "
                "cannot be imported: install `sre-lab-kb-mcp[export]`, or use the default onnx backend"
            ) from None

        torch.set_num_threads(threads)
        transformers_logging.disable_progress_bar()
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise StoreUnavailableError(f"the model at {model_path} does not declare its embedding dimension")
        self.dimension = int(dimension)
        self._lock = threading.Lock()  # a fast tokenizer must not be used by two threads at once

    def encode(self, texts: Sequence[str], *, batch_size: int) -> Any:
        with self._lock:
            return self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )


class Embedder:
    """A loaded embedding model: thread-safe `encode`, its dimension, and what identifies its vectors.

    `fingerprint` is the SHA-256 of the model's files (recorded in its ONNX export): two embedders with the same
    name and fingerprint make the same vectors, which is what the embedding cache is keyed by.
    """

    def __init__(
        self, backend: EmbeddingBackend, *, name: str, fingerprint: str, backend_name: EmbedBackend, threads: int
    ) -> None:
        self.backend = backend
        self.name = name
        self.fingerprint = fingerprint
        self.backend_name: EmbedBackend = backend_name
        self.threads = threads
        self.dimension = backend.dimension

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.name, self.fingerprint, self.dimension)

    @classmethod
    def open(cls, settings: KbSettings, *, ingest: bool = False) -> Embedder:
        """The model the settings describe: query-sized threads, or every CPU for a batch `ingest`."""
        return cls.load(
            settings.resolved_model_path(),
            settings.model_identity(),
            threads=settings.threads_for_ingest() if ingest else settings.embed_threads,
            backend=settings.embed_backend,
            onnx_cache_dir=settings.onnx_cache_dir,
        )

    @classmethod
    def load(
        cls,
        model_path: Path | None,
        name: str,
        *,
        threads: int = 1,
        backend: EmbedBackend = "onnx",
        onnx_cache_dir: Path | None = None,
    ) -> Embedder:
        """Load the model now; raise `StoreUnavailableError` saying why it cannot be loaded."""
        _enforce_offline()  # before anything in this process can import huggingface_hub
        started = time.perf_counter()
        try:
            if backend == "sentence-transformers":
                loaded, fingerprint = _sentence_transformers(model_path, name, threads)
            else:
                loaded, fingerprint = _onnx(model_path, name, threads, onnx_cache_dir or default_onnx_cache_dir())
        except (OSError, ValueError, RuntimeError) as exc:  # a model directory the libraries cannot load
            if isinstance(exc, StoreUnavailableError):
                raise
            reason = " ".join(str(exc).split())[:200]
            raise StoreUnavailableError(
                f"cannot load the embedding model {name} from {model_path or 'its ONNX export'}: "
                f"{type(exc).__name__}: {reason}"
            ) from exc
        logger.info(
            "embedding model %s (%s backend, %d thread%s) loaded in %.2f s",
            name,
            backend,
            threads,
            "" if threads == 1 else "s",
            time.perf_counter() - started,
        )
        return cls(loaded, name=name, fingerprint=fingerprint, backend_name=backend, threads=threads)

    def encode(self, texts: Sequence[str], *, batch_size: int = 8) -> np.ndarray:
        """Normalised float32 embeddings, one row per text (texts longer than the model's window are truncated)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.backend.encode(texts, batch_size=batch_size), dtype=np.float32)

    def close(self) -> None:
        """Nothing to release beyond memory (the session goes with the object); here for the lifespan's symmetry."""


def _onnx(model_path: Path | None, name: str, threads: int, cache_dir: Path) -> tuple[EmbeddingBackend, str]:
    # Start-up cost: onnxruntime's import belongs to the loader, not to the server's import.
    from kb_mcp.onnx_model import ExportError, ExportInfo, OnnxBackend, find_export  # noqa: PLC0415 - start-up cost (above)

    try:
        directory = find_export(cache_dir, name, model_path)
        if directory is None:
            if model_path is None:
                raise ExportError(
                    f"no ONNX export of {name} in {cache_dir} (KB_MCP_ONNX_CACHE_DIR), and the model is not "
                    "installed here to make one: run `kb-mcp export-model` where `sre-lab-kb-mcp[export]` is "
                    "installed and point KB_MCP_ONNX_CACHE_DIR at its cache"
                )
            # Only where the `export` extra's model is installed and no export was made yet.
            from kb_mcp.onnx_export import ensure_export  # noqa: PLC0415 - optional extra: torch, only to make a missing export

            directory = ensure_export(cache_dir, model_path, name)
        info = ExportInfo.read(directory)
        return OnnxBackend(directory, info, threads=threads), info.fingerprint
    except ExportError as exc:
        raise StoreUnavailableError(str(exc)) from None


def _sentence_transformers(model_path: Path | None, name: str, threads: int) -> tuple[EmbeddingBackend, str]:
    # The model's identity, as its export records it; onnx_model imports onnxruntime, kept off the module's import.
    from kb_mcp.onnx_model import fingerprint  # noqa: PLC0415 - start-up cost: onnxruntime

    if model_path is None:
        raise StoreUnavailableError(
            f"KB_MCP_EMBED_BACKEND=sentence-transformers needs the model {name} itself: install "
            "`sre-lab-kb-mcp[export]` (it brings the bundled model) or set KB_MCP_MODEL_PATH"
        )
    return SentenceTransformerBackend(model_path, threads=threads), fingerprint(model_path)


def _enforce_offline() -> None:
    for key, value in _OFFLINE_ENV.items():
        if key == "HF_HUB_OFFLINE":
            os.environ[key] = value  # not overridable: the model is never fetched at run time
        else:
            os.environ.setdefault(key, value)
