"""The embedding model's ONNX export as it is served: where it lives in the cache, and running it.

An export lives in `<cache>/<model name>-<fingerprint>/` (`model.onnx`, `tokenizer.json`, `export.json`); the
fingerprint is a SHA-256 over the source model directory's files, so a changed model is never served by a
stale export. Serving needs only onnxruntime and tokenizers: the export is the whole sentence-transformers
pipeline (transformer, pooling, normalisation) in one graph, with the model's tokenizer beside it.

Where the source model is installed (the `export` extra, or KB_MCP_MODEL_PATH), the export must match its
fingerprint; the fingerprint is remembered per file list, sizes and modification times, so a start does not
re-hash 90 MB. Where it is not (a serving image: the model was exported at build time), the export is found
by the model's name. Making an export is `onnx_export`'s job, at build time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

EXPORT_FORMAT = 1
"""Bumped when the layout of an export directory changes; older exports are then made again."""

SKIPPED_FILES = frozenset({"README.md", ".gitattributes"})
"""Files of a model directory that do not change its vectors (left out of the fingerprint)."""

_FINGERPRINTS = ".fingerprints.json"


class ExportError(RuntimeError):
    """The model cannot be exported, or no usable export exists; the message says why and what to do."""


@dataclass(frozen=True)
class ExportInfo:
    """What `export.json` records: enough to run the export without the original model library."""

    model: str
    fingerprint: str
    dimension: int
    max_seq_length: int
    input_names: tuple[str, ...]
    pad_token: str
    pad_id: int
    parity_max_abs_diff: float
    source: str
    exported_at: str
    versions: dict[str, str]
    format: int = EXPORT_FORMAT

    @classmethod
    def read(cls, directory: Path) -> ExportInfo:
        data = json.loads((directory / "export.json").read_text(encoding="utf-8"))
        data["input_names"] = tuple(data["input_names"])
        return cls(**data)


def fingerprint(model_path: Path, *, memo_dir: Path | None = None) -> str:
    """SHA-256 over the relative paths and contents of the model directory's files (docs excluded).

    With `memo_dir`, the result is remembered there against the files' names, sizes and modification times
    and reused while they are unchanged (a best-effort cache: a read-only directory just means hashing).
    """
    files = sorted(p for p in model_path.rglob("*") if p.is_file() and p.name not in SKIPPED_FILES)
    signature = [[p.relative_to(model_path).as_posix(), *_size_and_mtime(p)] for p in files]
    key = str(model_path.resolve())
    memo = _read_memo(memo_dir) if memo_dir is not None else {}
    remembered = memo.get(key)
    if isinstance(remembered, dict) and remembered.get("files") == signature:
        return str(remembered["fingerprint"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(model_path).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    value = digest.hexdigest()
    if memo_dir is not None:
        _write_memo(memo_dir, {**memo, key: {"files": signature, "fingerprint": value}})
    return value


def export_dir(cache_dir: Path, model_name: str, model_fingerprint: str) -> Path:
    """Where the export of this model (by name and fingerprint) lives in the cache."""
    return cache_dir / f"{_safe(model_name)}-{model_fingerprint[:16]}"


def is_complete(directory: Path) -> bool:
    """Whether `directory` holds a finished export in this version's layout."""
    try:
        info = ExportInfo.read(directory)
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return info.format == EXPORT_FORMAT and (directory / "model.onnx").is_file()


def find_export(cache_dir: Path, model_name: str, model_path: Path | None) -> Path | None:
    """The usable export in the cache: of exactly `model_path` when given, else the newest one of `model_name`."""
    if model_path is not None:
        directory = export_dir(cache_dir, model_name, fingerprint(model_path, memo_dir=cache_dir))
        return directory if is_complete(directory) else None
    candidates = [
        (ExportInfo.read(path).exported_at, path)
        for path in cache_dir.glob(f"{_safe(model_name)}-*")
        if is_complete(path) and ExportInfo.read(path).model == model_name
    ]
    return max(candidates)[1] if candidates else None


class OnnxBackend:
    """An export run by ONNX Runtime with the model's own tokenizer.

    Thread-safe: ONNX Runtime sessions may run concurrently, and the tokenizer's settings are fixed here.
    """

    def __init__(self, directory: Path, info: ExportInfo, *, threads: int) -> None:
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
        """L2-normalised float32 vectors, shape (len(texts), dimension)."""
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


def _safe(model_name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)[:80] or "model"


def _size_and_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _read_memo(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / _FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(directory: Path, memo: dict[str, Any]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f"{_FINGERPRINTS}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(memo, out)
            os.chmod(staging, 0o644)
            os.replace(staging, directory / _FINGERPRINTS)
        finally:
            Path(staging).unlink(missing_ok=True)  # gone already once replaced
    except OSError as exc:  # a read-only cache (an image's): hashing again next time is the only cost
        logger.debug("cannot remember the model's fingerprint in %s: %s", directory, exc)
