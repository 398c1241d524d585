"""The embedding model, loaded from local files only, behind one interface with two backends.

- `onnx` (default): the sentence-transformers model exported to ONNX (`onnx_export`, at build time) and run
  by ONNX Runtime with the model's own tokenizer (`onnx_model`). Same vectors as sentence-transformers
  (checked at export), a 3–5 ms query instead of 12–20 ms, and 0.2 s to import instead of 6–8 s.
- `sentence-transformers`: the model through `SentenceTransformer.encode` (torch; the `export` extra), for
  models that cannot be exported and as the reference the export is held to.

Nothing here imports either runtime until `load()` runs: the server calls `start()` from its lifespan, which
loads in a background thread while the protocol is already being served, and a search awaits `ready()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from kb_mcp.config import EmbedBackend, default_onnx_cache_dir
from kb_mcp.onnx_model import ExportError

logger = logging.getLogger(__name__)

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # nothing is downloaded at run time: the model is a local directory
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # stderr is for log lines, not progress bars
    "TOKENIZERS_PARALLELISM": "false",
}


class ModelNotReadyError(RuntimeError):
    """The model failed to load, or did not finish loading in time; the message says which and why."""


class EmbeddingBackend(Protocol):
    dimension: int

    def encode(self, texts: Sequence[str], *, batch_size: int) -> Any:
        """L2-normalised float32 vectors, shape (len(texts), dimension)."""
        ...


class SentenceTransformerBackend:
    """The model through sentence-transformers and torch (imports take seconds; a query 12–20 ms here)."""

    def __init__(self, model_path: Path, *, threads: int) -> None:
        try:  # the `export` extra: not installed where the server only serves the ONNX export
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise ModelNotReadyError(
                f"KB_MCP_EMBED_BACKEND=sentence-transformers needs torch and sentence-transformers, and {exc.name} "
                "cannot be imported: install `sre-lab-kb-mcp[export]`, or use the default onnx backend"
            ) from None

        torch.set_num_threads(threads)

        transformers_logging.disable_progress_bar()
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelNotReadyError(f"the model at {model_path} does not declare its embedding dimension")
        self.dimension = int(dimension)
        self._lock = threading.Lock()  # a fast tokenizer must not be used by two threads at once

    def encode(self, texts: Sequence[str], *, batch_size: int) -> Any:
        with self._lock:
            return self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )


class Embedder:
    """The embedding model for one process: loaded once (in the background or now), then thread-safe `encode`.

    `threads` caps the runtime's intra-op threads (one short query is fast and steady on one thread; a batch
    ingest gains from every core). `onnx_cache_dir` holds ONNX exports (default `~/.cache/kb-mcp/onnx`).
    """

    def __init__(
        self,
        model_path: Path | None,
        name: str,
        *,
        threads: int = 1,
        backend: EmbedBackend = "onnx",
        onnx_cache_dir: Path | None = None,
    ) -> None:
        _enforce_offline()  # before anything in this process can import huggingface_hub
        self.model_path = model_path
        self.name = name
        self.threads = threads
        self.backend_name: EmbedBackend = backend
        self.onnx_cache_dir = onnx_cache_dir or default_onnx_cache_dir()
        self.load_seconds: float | None = None
        self._backend: EmbeddingBackend | None = None
        self._error: str | None = None
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set() and self._backend is not None

    @property
    def error(self) -> str | None:
        """Why loading failed, once it has."""
        return self._error

    @property
    def dimension(self) -> int:
        return self._loaded().dimension

    def start(self) -> None:
        """Load in a background thread (once); returns at once."""
        with self._start_lock:
            if self._thread is None and not self._ready.is_set():
                self._thread = threading.Thread(target=self._load_quietly, name="kb-mcp-model", daemon=True)
                self._thread.start()

    def load(self) -> Embedder:
        """Load now in this thread (once); raise `ModelNotReadyError` if the model cannot be loaded."""
        self.start()
        self._ready.wait()
        self._loaded()
        return self

    async def ready(self, timeout_s: float) -> Embedder:
        """Wait (off the event loop) until the model is loaded; raise `ModelNotReadyError` on failure or timeout."""
        self.start()
        if not self._ready.is_set():
            finished = await anyio.to_thread.run_sync(self._ready.wait, timeout_s, abandon_on_cancel=True)
            if not finished:
                raise ModelNotReadyError(
                    f"the embedding model is still loading after {timeout_s:g} s; retry in a few seconds"
                )
        self._loaded()
        return self

    def encode(self, texts: Sequence[str], *, batch_size: int = 8) -> list[list[float]]:
        """Normalised embeddings, one per text (texts longer than the model's window are truncated)."""
        if not texts:
            return []
        import numpy as np

        vectors = self._loaded().encode(texts, batch_size=batch_size)
        return np.asarray(vectors, dtype=np.float32).tolist()

    def close(self) -> None:
        """Drop the model (the loader thread, if still running, finishes and is discarded)."""
        self._backend = None

    def _loaded(self) -> EmbeddingBackend:
        if self._error is not None:
            raise ModelNotReadyError(self._error)
        if self._backend is None:
            raise ModelNotReadyError("the embedding model is not loaded")
        return self._backend

    def _load_quietly(self) -> None:
        started = time.perf_counter()
        try:
            self._backend = self._open_backend()
            self.load_seconds = time.perf_counter() - started
            logger.info(
                "embedding model %s (%s backend, %d thread%s) loaded in %.2f s",
                self.name,
                self.backend_name,
                self.threads,
                "" if self.threads == 1 else "s",
                self.load_seconds,
            )
        except (ExportError, ModelNotReadyError) as exc:
            logger.error("%s", exc)
            self._error = str(exc)
        except Exception as exc:
            logger.exception("cannot load the embedding model from %s", self.model_path)
            self._error = f"cannot load the embedding model {self.name} from {self.model_path}: {type(exc).__name__}"
        finally:
            self._ready.set()

    def _open_backend(self) -> EmbeddingBackend:
        if self.backend_name == "sentence-transformers":
            if self.model_path is None:
                raise ModelNotReadyError(
                    f"KB_MCP_EMBED_BACKEND=sentence-transformers needs the model {self.name} itself: install "
                    "`sre-lab-kb-mcp[export]` (it brings the bundled model) or set KB_MCP_MODEL_PATH"
                )
            return SentenceTransformerBackend(self.model_path, threads=self.threads)
        # Start-up cost: onnxruntime's import (0.2 s) belongs to the loader, not to the server's import.
        from kb_mcp.onnx_export import ensure_export
        from kb_mcp.onnx_model import OnnxBackend, find_export

        directory = find_export(self.onnx_cache_dir, self.name, self.model_path)
        if directory is None:
            if self.model_path is None:
                raise ExportError(
                    f"no ONNX export of {self.name} in {self.onnx_cache_dir} (KB_MCP_ONNX_CACHE_DIR), and the model "
                    "is not installed here to make one: run `kb-mcp export-model` where `sre-lab-kb-mcp[export]` is "
                    "installed and point KB_MCP_ONNX_CACHE_DIR at its cache"
                )
            directory = ensure_export(self.onnx_cache_dir, self.model_path, self.name)
        return OnnxBackend.open(directory, threads=self.threads)


def _enforce_offline() -> None:
    for key, value in _OFFLINE_ENV.items():
        if key == "HF_HUB_OFFLINE":
            os.environ[key] = value  # not overridable: the model is never fetched at run time
        else:
            os.environ.setdefault(key, value)
