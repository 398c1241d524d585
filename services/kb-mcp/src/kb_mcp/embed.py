"""The embedding model: sentence-transformers loaded from a local directory, never from the network.

Importing sentence-transformers (and torch under it) takes seconds, so nothing here imports it until `load()`
runs; the server calls `start()` from its lifespan, which loads in a background thread while the protocol is
already being served, and a search awaits `ready()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

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


class Embedder:
    """A sentence-transformers model that embeds texts as L2-normalised vectors (cosine = dot product).

    `threads` caps torch's intra-op threads for this process (one short query is fastest on one thread;
    batch ingestion gains from more). `None` leaves torch's default.
    """

    def __init__(self, model_path: Path, name: str, *, threads: int | None = 1) -> None:
        _enforce_offline()  # before anything in this process can import huggingface_hub
        self.model_path = model_path
        self.name = name
        self.threads = threads
        self.load_seconds: float | None = None
        self._model: Any = None
        self._error: str | None = None
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._encode_lock = threading.Lock()  # a fast tokenizer must not be used by two threads at once
        self._thread: threading.Thread | None = None

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set() and self._model is not None

    @property
    def error(self) -> str | None:
        """Why loading failed, once it has."""
        return self._error

    @property
    def dimension(self) -> int:
        return int(self._loaded().get_embedding_dimension())

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

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> list[list[float]]:
        """Normalised embeddings, one per text (texts longer than the model's window are truncated)."""
        model = self._loaded()
        with self._encode_lock:
            vectors = model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return [[float(x) for x in row] for row in vectors]

    def close(self) -> None:
        """Drop the model (the loader thread, if still running, finishes and is discarded)."""
        self._model = None

    def _loaded(self) -> Any:
        if self._error is not None:
            raise ModelNotReadyError(self._error)
        if self._model is None:
            raise ModelNotReadyError("the embedding model is not loaded")
        return self._model

    def _load_quietly(self) -> None:
        started = time.perf_counter()
        try:
            import torch

            if self.threads is not None:
                torch.set_num_threads(self.threads)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
            self._model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
            self.load_seconds = time.perf_counter() - started
            logger.info("embedding model %s loaded from %s in %.1f s", self.name, self.model_path, self.load_seconds)
        except Exception as exc:
            logger.exception("cannot load the embedding model from %s", self.model_path)
            self._error = f"cannot load the embedding model {self.name} from {self.model_path}: {type(exc).__name__}"
        finally:
            self._ready.set()


def _enforce_offline() -> None:
    for key, value in _OFFLINE_ENV.items():
        if key == "HF_HUB_OFFLINE":
            os.environ[key] = value  # not overridable: the model is never fetched at run time
        else:
            os.environ.setdefault(key, value)
