"""Ingestion into real embedded Chroma: idempotent by content hash, updates, deletions, bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kb_mcp.config import KbSettings
from kb_mcp.corpus import CorpusError
from kb_mcp.embed import Embedder
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.store import RunbookStore

pytestmark = pytest.mark.slow  # the real model and Chroma


def snapshot(settings) -> dict[str, Any]:
    """Everything stored: ids, documents, metadata and vectors of both collections, and their metadata."""
    store = RunbookStore.open(settings)
    try:
        state = {}
        for name in (store.sections_name, store.documents_name):
            collection = store.client.get_collection(name, embedding_function=None)
            got = collection.get(include=["documents", "metadatas", "embeddings"])
            rows = zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"].tolist(), strict=True)
            state[name] = {"metadata": collection.metadata, "rows": sorted(rows)}
        return state
    finally:
        store.close()


def test_reingesting_leaves_the_collection_as_it_was(tmp_path, make_settings, small_corpus, embedder) -> None:
    settings = make_settings(tmp_path / "chroma")
    first = ingest_runbooks(settings, small_corpus, embedder=embedder)
    before = snapshot(settings)
    second = ingest_runbooks(settings, small_corpus, embedder=embedder)
    after = snapshot(settings)

    assert (first.runbooks, first.added, first.updated, first.removed) == (3, first.sections, 0, 0)
    assert first.runbooks_written == 3 and not first.rebuilt
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, first.sections, 0)
    assert second.runbooks_written == 0 and not second.changed
    assert after == before, "ids, documents, metadata, vectors and the manifest are untouched"
    manifest = before["runbooks"]["metadata"]
    assert manifest["embedding_model"] == "all-MiniLM-L6-v2" and manifest["embedding_dimension"] == 384
    assert len(before["runbooks"]["rows"][0][3]) == 384


def test_an_edit_updates_one_section_and_a_deleted_runbook_is_removed(
    tmp_path, make_settings, small_corpus: Path, embedder
) -> None:
    settings = make_settings(tmp_path / "chroma")
    first = ingest_runbooks(settings, small_corpus, embedder=embedder)
    pod = small_corpus / "pod-crash.md"
    pod.write_text(pod.read_text().replace("Never delete pods in a loop", "Do not delete pods in a loop"))
    edited = ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert (edited.added, edited.updated, edited.removed) == (0, 1, 0)
    assert edited.runbooks_written == 1, "the full Markdown of the edited runbook is rewritten too"

    db_sections = len(
        [line for line in (small_corpus / "db-connections.md").read_text().splitlines() if line.startswith("## ")]
    )
    (small_corpus / "db-connections.md").unlink()
    shrunk = ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert (shrunk.added, shrunk.updated, shrunk.removed, shrunk.runbooks_removed) == (0, 0, db_sections, 1)
    assert shrunk.sections == first.sections - db_sections

    state = snapshot(settings)
    assert {row[0].split("#")[0] for row in state["runbooks"]["rows"]} == {"pod-crash", "oom-jvm-heap"}
    assert [row[0] for row in state["runbooks_documents"]["rows"]] == ["oom-jvm-heap", "pod-crash"]
    mitigation = next(row for row in state["runbooks"]["rows"] if row[0] == "pod-crash#mitigation")
    assert "Do not delete pods in a loop" in mitigation[1]


def test_bad_files_are_skipped_and_reported_and_strict_writes_nothing(
    tmp_path, make_settings, small_corpus: Path, embedder
) -> None:
    (small_corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n## Symptoms\nSomething.\n")
    (small_corpus / "zz-copy.md").write_text((small_corpus / "pod-crash.md").read_text())
    settings = make_settings(tmp_path / "chroma")
    with pytest.raises(CorpusError) as error:
        ingest_runbooks(settings, small_corpus, embedder=embedder, strict=True)
    assert "broken.md: the front matter is not valid YAML" in str(error.value)
    assert "zz-copy.md: id 'pod-crash' is already used by pod-crash.md" in str(error.value)
    assert RunbookStore.open(settings).manifest() is None, "nothing was written"

    report = ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert report.runbooks == 3 and report.added == report.sections
    assert [s.split(":")[0] for s in report.skipped] == ["broken.md", "zz-copy.md"]


def test_the_embedding_cache_spares_the_model_what_it_embedded_before(
    tmp_path, make_settings, small_corpus: Path, embedder
) -> None:
    """A second store on the same machine (the lab after `down --volumes`) embeds nothing; an edit embeds one."""
    cache = tmp_path / "embeddings"
    first = ingest_runbooks(make_settings(tmp_path / "a", embedding_cache_dir=cache), small_corpus, embedder=embedder)
    second_settings = make_settings(tmp_path / "b", embedding_cache_dir=cache)
    second = ingest_runbooks(second_settings, small_corpus, embedder=embedder)
    assert first.embedded == first.sections + first.runbooks_written
    assert second.embedded == 0 and second.added == second.sections, "written from the cache, not embedded"
    assert snapshot(second_settings)["runbooks"]["rows"] == snapshot(make_settings(tmp_path / "a"))["runbooks"]["rows"]
    pod = small_corpus / "pod-crash.md"
    pod.write_text(pod.read_text().replace("Never delete pods in a loop", "Do not delete pods in a loop"))
    edited = ingest_runbooks(second_settings, small_corpus, embedder=embedder)
    assert edited.embedded == 1 + 0, "the edited section; the runbook's own text (title, tags) did not change"
    no_cache = ingest_runbooks(make_settings(tmp_path / "c", embedding_cache_dir=None), small_corpus, embedder=embedder)
    assert no_cache.embedded == no_cache.sections + no_cache.runbooks_written


def test_an_ingest_whose_every_text_is_cached_loads_no_model(
    tmp_path, make_settings, small_corpus: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sre-lab up` on a machine that ran it before: the store is new, every vector is in the cache, and the
    model's identity (name, fingerprint, dimension) comes from its export, so the model is never loaded."""
    cache = tmp_path / "embeddings"
    first = ingest_runbooks(make_settings(tmp_path / "a", embedding_cache_dir=cache), small_corpus, embedder=embedder)
    loads: list[object] = []
    real_open = Embedder.open

    def counted_open(settings: KbSettings, *, ingest: bool = False) -> Embedder:
        loads.append(settings)
        return real_open(settings, ingest=ingest)

    monkeypatch.setattr(Embedder, "open", counted_open)
    second_settings = make_settings(tmp_path / "b", embedding_cache_dir=cache)
    second = ingest_runbooks(second_settings, small_corpus)  # no embedder given: it would be loaded on demand
    assert loads == [] and second.embedded == 0 and second.added == second.sections == first.sections
    written, reference = snapshot(second_settings), snapshot(make_settings(tmp_path / "a"))
    assert {name: state["rows"] for name, state in written.items()} == {
        name: state["rows"] for name, state in reference.items()
    }, "the same ids, documents, metadata and vectors as the store that embedded them"

    pod = small_corpus / "pod-crash.md"
    pod.write_text(pod.read_text().replace("Never delete pods in a loop", "Do not delete pods in a loop"))
    edited = ingest_runbooks(second_settings, small_corpus)
    assert len(loads) == 1 and edited.embedded == 1, "a text the cache lacks loads the model, once"


def test_a_model_change_rebuilds_the_collection(tmp_path, make_settings, small_corpus: Path, embedder) -> None:
    old = make_settings(tmp_path / "chroma", model_name="previous-model")
    ingest_runbooks(old, small_corpus, embedder=embedder)
    new = make_settings(tmp_path / "chroma")
    report = ingest_runbooks(new, small_corpus, embedder=embedder)
    assert report.rebuilt and report.added == report.sections and report.unchanged == 0
    assert snapshot(new)["runbooks"]["metadata"]["embedding_model"] == "all-MiniLM-L6-v2"


def test_an_unusable_embedding_cache_only_costs_time(tmp_path, make_settings, small_corpus: Path, embedder) -> None:
    """A read-only or impossible cache directory (an image's read-only root) never fails an ingest."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    report = ingest_runbooks(
        make_settings(tmp_path / "chroma", embedding_cache_dir=blocker / "embeddings"), small_corpus, embedder=embedder
    )
    assert report.added == report.sections and report.embedded == report.sections + report.runbooks_written
