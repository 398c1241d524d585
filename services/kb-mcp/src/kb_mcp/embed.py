"""The embedding model, loaded from local files only, behind one interface with two backends.

- `onnx` (default): the sentence-transformers model exported to ONNX (`onnx_export`) and run by ONNX Runtime,
  with the model's own tokenizer. Same vectors as sentence-transformers (checked at export), a 3–5 ms query
  instead of 12–20 ms, and 0.2 s to import instead of 6–8 s. The export is made once per model and cached.
- `sentence-transformers`: the model through `SentenceTransformer.encode` (torch), for models that cannot be
  exported and as the reference the export is held to.

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
from kb_mcp.onnx_export import ExportError, ExportInfo, ensure_export

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


class OnnxBackend:
    """An ONNX export of a sentence-transformers model (the whole pipeline: transformer, pooling, normalisation).

    Thread-safe: ONNX Runtime sessions may run concurrently, and the tokenizer's settings are fixed here.
    """

    def __init__(self, directory: Path, info: ExportInfo, *, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.input_names = info.input_names
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # A model's tokenizer.json may carry other truncation/padding (the bundled one: 128): set the model's.
        self.tokenizer.enable_truncation(info.max_seq_length)
        self.tokenizer.enable_padding(pad_id=info.pad_id, pad_token=info.pad_token)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads sleep instead of spinning: the CPU is shared with Chroma, ClickHouse and the client.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initializers are not the operator's concern
        self.session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[1])

    @classmethod
    def open(cls, directory: Path, *, threads: int) -> OnnxBackend:
        return cls(directory, ExportInfo.read(directory), threads=threads)

    def encode(self, texts: Sequence[str], *, batch_size: int) -> Any:
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Longest first, so each batch pads to a similar length (character length is a good enough proxy).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in rows])
            columns = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            [vectors] = self.session.run(None, {name: columns[name] for name in self.input_names})
            out[rows] = vectors
        return out


class SentenceTransformerBackend:
    """The model through sentence-transformers and torch (imports take seconds; a query 12–20 ms here)."""

    def __init__(self, model_path: Path, *, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

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
        model_path: Path,
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
        except ExportError as exc:
            logger.error("%s", exc)
            self._error = str(exc)
        except Exception as exc:
            logger.exception("cannot load the embedding model from %s", self.model_path)
            self._error = f"cannot load the embedding model {self.name} from {self.model_path}: {type(exc).__name__}"
        finally:
            self._ready.set()

    def _open_backend(self) -> EmbeddingBackend:
        if self.backend_name == "sentence-transformers":
            return SentenceTransformerBackend(self.model_path, threads=self.threads)
        directory = ensure_export(self.onnx_cache_dir, self.model_path, self.name)
        return OnnxBackend.open(directory, threads=self.threads)


def _enforce_offline() -> None:
    for key, value in _OFFLINE_ENV.items():
        if key == "HF_HUB_OFFLINE":
            os.environ[key] = value  # not overridable: the model is never fetched at run time
        else:
            os.environ.setdefault(key, value)
