"""Ingestion into real embedded Chroma: idempotent by content hash, updates, deletions, bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kb_mcp.corpus import CorpusError
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


def test_a_malformed_runbook_writes_nothing_and_names_the_file(
    tmp_path, make_settings, small_corpus: Path, embedder
) -> None:
    (small_corpus / "broken.md").write_text("# No front matter\n\n## Symptoms\nSomething.\n")
    (small_corpus / "dup.md").write_text((small_corpus / "pod-crash.md").read_text())
    settings = make_settings(tmp_path / "chroma")
    with pytest.raises(CorpusError) as error:
        ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert "broken.md: no YAML front matter" in str(error.value)
    assert "id 'pod-crash' is used by 2 files" in str(error.value)
    assert RunbookStore.open(settings).manifest() is None, "nothing was written"


def test_a_model_change_rebuilds_the_collection(tmp_path, make_settings, small_corpus: Path, embedder) -> None:
    old = make_settings(tmp_path / "chroma", model_name="previous-model")
    ingest_runbooks(old, small_corpus, embedder=embedder)
    new = make_settings(tmp_path / "chroma")
    report = ingest_runbooks(new, small_corpus, embedder=embedder)
    assert report.rebuilt and report.added == report.sections and report.unchanged == 0
    assert snapshot(new)["runbooks"]["metadata"]["embedding_model"] == "all-MiniLM-L6-v2"
