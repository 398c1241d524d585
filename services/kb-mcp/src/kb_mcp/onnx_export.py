"""The sentence-transformers model, exported once to ONNX for serving and ingesting.

Why: on these CPUs a short query takes 12–20 ms through torch and 3–5 ms through ONNX Runtime, and importing
sentence-transformers with torch takes 6–8 s against 0.2 s for onnxruntime. The export is the model itself,
not an approximation: the whole sentence-transformers pipeline (transformer, pooling, normalisation) becomes
one graph in fp32, and the export is refused unless it reproduces `SentenceTransformer.encode` on a fixed set
of texts (short, long enough to be truncated, non-ASCII) to within `PARITY_TOLERANCE`. Vectors from either
backend can therefore be mixed in one collection.

Where an export lives and how it is served is `onnx_model`'s. Exporting needs torch, sentence-transformers and
onnx: the `export` extra, installed at build time (`make setup`, an image's build stage), never for serving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from kb_mcp.onnx_model import ExportError, ExportInfo, OnnxBackend, export_dir, fingerprint, is_complete
from mcp_common.filelock import FileLock

logger = logging.getLogger(__name__)

PARITY_TOLERANCE = 1e-4
"""Largest difference allowed between an exported vector's components and sentence-transformers' (fp32 gives ~1e-7)."""

OPSET = 17

PARITY_TEXTS = (
    "pods keep restarting out of memory",
    "OOMKilled exit code 137",
    "java.lang.OutOfMemoryError: Java heap space at BatchReconciliation.loadAllTransactions",
    "Zertifikat abgelaufen — x509: certificate has expired or is not yet valid; 证书过期",
    # long enough to be truncated at the model's window: truncation must match too
    " ".join(["Circuit breaker OPEN for card-network-gateway after 50% of calls failed within 10s."] * 40),
    "",
)


def ensure_export(cache_dir: Path, model_path: Path, model_name: str, *, force: bool = False) -> Path:
    """The export of `model_path`, made now if the cache has none, or `force` (one process at a time exports).

    Raises `ExportError` when it must be made and cannot be (the export libraries are not installed, the
    model's pipeline cannot be traced, or the parity check fails).
    """
    model_fingerprint = fingerprint(model_path, memo_dir=cache_dir)
    directory = export_dir(cache_dir, model_name, model_fingerprint)
    if is_complete(directory) and not force:
        return directory
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the ONNX cache {cache_dir} (KB_MCP_ONNX_CACHE_DIR): {exc}") from None
    with _export_lock(cache_dir):
        if is_complete(directory) and not force:  # another process exported while this one waited
            return directory
        export(model_path, model_name, directory, model_fingerprint=model_fingerprint)
    return directory


def export(model_path: Path, model_name: str, target: Path, *, model_fingerprint: str | None = None) -> ExportInfo:
    """Export the sentence-transformers model at `model_path` to `target` (replaced atomically) and verify it."""
    started = time.perf_counter()
    versions = _export_libraries(model_name)
    model = _reference_model(model_path, model_name)
    tokenizer = model.tokenizer
    info = ExportInfo(
        model=model_name,
        fingerprint=model_fingerprint or fingerprint(model_path),
        dimension=int(model.get_embedding_dimension() or 0),
        max_seq_length=int(model.max_seq_length),
        input_names=tuple(name for name in tokenizer.model_input_names if name != "position_ids"),
        pad_token=str(tokenizer.pad_token),
        pad_id=int(tokenizer.pad_token_id),
        parity_max_abs_diff=float("nan"),
        source=str(model_path),
        exported_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        versions=versions,
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        staging.chmod(0o755)  # readable by the unprivileged user that serves it (an image exports as root)
        _write_graph(model, info.input_names, staging / "model.onnx")
        backend = tokenizer.backend_tokenizer
        backend.enable_truncation(info.max_seq_length)
        backend.enable_padding(pad_id=info.pad_id, pad_token=info.pad_token)
        backend.save(str(staging / "tokenizer.json"))
        info = replace(info, parity_max_abs_diff=_parity(model, staging, info))
        (staging / "export.json").write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "exported %s to ONNX in %.1f s: %s (parity with sentence-transformers: max |Δ| %.1e)",
        model_name,
        time.perf_counter() - started,
        target,
        info.parity_max_abs_diff,
    )
    return info


def _export_libraries(model_name: str) -> dict[str, str]:
    """The versions of what exporting needs; an `ExportError` saying what to do when one cannot be imported."""
    try:  # the `export` extra, imported only when exporting (serving never needs it)
        import onnx  # noqa: PLC0415 - torch.onnx's exporter writes through it: fail here, with a clear message
        import onnxruntime  # noqa: PLC0415 - optional extra (the parity check)
        import sentence_transformers  # noqa: PLC0415 - optional extra: `export`
        import torch  # noqa: PLC0415 - optional extra: `export`
    except ImportError as exc:
        raise ExportError(
            f"exporting {model_name} to ONNX needs torch, sentence-transformers and onnx, and {exc.name} cannot be "
            "imported: install kb-mcp's build-time extra (`pip install 'sre-lab-kb-mcp[export]'`, torch from the "
            "lock), or point KB_MCP_ONNX_CACHE_DIR at a cache that holds the export (`kb-mcp export-model` where "
            "they are installed)"
        ) from None
    return {
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opset": str(OPSET),
    }


def _reference_model(model_path: Path, model_name: str) -> Any:
    # the `export` extra (checked by _export_libraries): imported only when exporting
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional extra: `export`
    from transformers.utils import logging as transformers_logging  # noqa: PLC0415 - optional extra: `export`

    transformers_logging.disable_progress_bar()  # stderr is for log lines
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    model.eval()
    if not model.max_seq_length or not model.get_embedding_dimension():
        raise ExportError(
            f"model {model_name} at {model_path} declares no max_seq_length or embedding dimension; "
            "it cannot be exported (KB_MCP_EMBED_BACKEND=sentence-transformers runs it as it is)"
        )
    return model


def _write_graph(model: Any, input_names: tuple[str, ...], path: Path) -> None:
    """Trace the whole pipeline (positional tensors in, L2-normalised sentence embeddings out) into `path`."""
    import torch  # noqa: PLC0415 - the `export` extra, imported only when exporting

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            features = dict(zip(input_names, tensors, strict=True))
            embedding = self.model(features)["sentence_embedding"]
            return torch.nn.functional.normalize(embedding, p=2.0, dim=1)

    sample = model.tokenizer(["an example", "a second, longer example sentence"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in input_names}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns about constructs it handles (advanced indexing, tracing of Python
        # values); the parity check is what decides whether the graph is right.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline(),
            tuple(sample[name] for name in input_names),
            str(path),
            input_names=list(input_names),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def _parity(model: Any, staging: Path, info: ExportInfo) -> float:
    """The largest difference between the export's vectors (run as the server runs them) and the model's own."""
    texts = list(PARITY_TEXTS)
    expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    got = OnnxBackend(staging, info, threads=1).encode(texts, batch_size=4)
    diff = float(np.abs(np.asarray(expected, dtype=np.float32) - got).max())
    if not diff <= PARITY_TOLERANCE:  # also refuses NaN
        raise ExportError(
            f"the ONNX export of {info.model} differs from sentence-transformers by {diff:.2e} "
            f"(allowed {PARITY_TOLERANCE:g}); use KB_MCP_EMBED_BACKEND=sentence-transformers for this model"
        )
    return diff


@contextlib.contextmanager
def _export_lock(cache_dir: Path) -> Iterator[None]:
    lock = FileLock(cache_dir / ".export.lock")  # flock on POSIX, msvcrt.locking on Windows
    try:
        with lock:
            yield
    finally:
        lock.close()
