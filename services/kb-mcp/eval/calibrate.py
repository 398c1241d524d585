"""Fit the relevance score (`kb_mcp.relevance`) and show what it means.

    .venv/bin/python services/kb-mcp/eval/calibrate.py [--check]

Data: the top three hits of every labelled question of the tuning collections (the lab's corpus,
prometheus-operator, openshift; a hit is right when it comes from an accepted runbook) and of every question of
`off-topic.yaml` searched in each of them (all wrong). Features: each hit's cosine similarity and term coverage,
as the server computes them. Model: logistic regression (Newton's method, a little L2), three numbers.

Prints the coefficients to put in `relevance.COEFFICIENTS`, the calibration table (predicted against observed,
by tenths), and what `NO_MATCH_BELOW` does at a few values: off-topic questions answered per corpus and
labelled questions refused — on the tuning data and on the held-out checks (`off-topic-held-out.yaml`, the
held-out collection), which are never used to fit. `--check` scores with the coefficients in the package
instead of fitting.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb_mcp.config import KbSettings
from kb_mcp.embed import Embedder
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.knowledge import search
from kb_mcp.relevance import COEFFICIENTS, NO_MATCH_BELOW
from kb_mcp.retrieval import CorpusIndex, Hit
from kb_mcp.store import RunbookStore
from mcp_common.settings import load_settings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from recall import OFF_TOPIC, Collection, load_collection, names, off_topic_questions  # noqa: E402 (a sibling script)

TUNING = ("lab", "prometheus-operator", "openshift")
TOP = 3
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


@dataclass
class Sample:
    corpus: str
    kind: str  # labelled | off-topic | off-topic-held-out
    rank: int
    similarity: float
    coverage: float
    right: bool


def samples(
    collection: Collection, off_topic: Sequence[str], held_out: Sequence[str], embedder: Embedder, scratch: Path
) -> list[Sample]:
    settings = load_settings(
        KbSettings, chroma_path=scratch / collection.name, chroma_url=None, corpus_cache_dir=scratch / "copies"
    )
    ingest_runbooks(settings, collection.runbooks, embedder=embedder)
    store = RunbookStore.open(settings)
    try:
        stored = store.read_corpus()
    finally:
        store.close()
    index = CorpusIndex(stored.runbooks, stored.manifest, stored.vectors)

    def hits(text: str) -> list[Hit]:
        return search(index, text, TOP, embedder=embedder)

    out = []
    for question in collection.questions:
        for rank, hit in enumerate(hits(question.text), start=1):
            right = bool(names(index, hit.runbook.id) & question.accepted)
            out.append(Sample(collection.name, "labelled", rank, hit.similarity or 0.0, hit.coverage, right))
    for kind, texts in (("off-topic", off_topic), ("off-topic-held-out", held_out)):
        for text in texts:
            for rank, hit in enumerate(hits(text), start=1):
                out.append(Sample(collection.name, kind, rank, hit.similarity or 0.0, hit.coverage, False))
    return out


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> np.ndarray:
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    penalty = l2 * np.diag(np.r_[np.ones(design.shape[1] - 1), 0.0])  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + penalty @ weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def probability(weights: Sequence[float], sample: Sample) -> float:
    a, b, c = weights
    return float(1.0 / (1.0 + np.exp(-(a * sample.similarity + b * sample.coverage + c))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calibrate.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="score with the package's coefficients, no fitting")
    parser.add_argument("--show-held-out", action="store_true", help="also show the held-out collection's figures")
    args = parser.parse_args(argv)
    embedder = Embedder.open(load_settings(KbSettings))
    off_topic = off_topic_questions(OFF_TOPIC)
    held_out_off_topic = off_topic_questions(HERE / "off-topic-held-out.yaml")
    data: list[Sample] = []
    checks: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="kb-calibrate-") as scratch:
        for path in sorted(HERE.glob("*.yaml")):
            if path.name.startswith("off-topic"):
                continue
            collection = load_collection(path)
            found = samples(collection, off_topic, held_out_off_topic, embedder, Path(scratch))
            if collection.name in TUNING and not collection.held_out:
                data.extend(found)
            elif args.show_held_out:
                checks.extend(found)

    training = [s for s in data if s.kind != "off-topic-held-out"]
    if args.check:
        weights: Sequence[float] = COEFFICIENTS
    else:
        x = np.array([[s.similarity, s.coverage] for s in training])
        y = np.array([1.0 if s.right else 0.0 for s in training])
        weights = [round(float(w), 3) for w in fit(x, y)]
    _out(f"COEFFICIENTS = ({weights[0]}, {weights[1]}, {weights[2]})  # {len(training)} hits fitted")
    _out("\npredicted → observed (share of hits from a right runbook), tuning data:")
    predicted = np.array([probability(weights, s) for s in training])
    observed = np.array([s.right for s in training])
    for low in np.arange(0.0, 1.0, 0.1):
        chosen = (predicted >= low) & (predicted < low + 0.1 + (1e-9 if low >= 0.9 else 0))
        if chosen.any():
            _out(f"  {low:.1f}–{low + 0.1:.1f}: {int(chosen.sum()):4d} hits, {observed[chosen].mean():.2f} right")

    _out(f"\nNO_MATCH_BELOW (now {NO_MATCH_BELOW}): best hit below it = 'not covered'")
    groups = sorted({(s.corpus, s.kind) for s in [*data, *checks]})
    for threshold in THRESHOLDS:
        parts = []
        for corpus, kind in groups:
            best = [s for s in [*data, *checks] if s.corpus == corpus and s.kind == kind and s.rank == 1]
            if kind == "labelled":
                parts.append(f"{corpus} refused {sum(probability(weights, s) < threshold for s in best)}/{len(best)}")
            else:
                answered = sum(probability(weights, s) >= threshold for s in best)
                parts.append(f"{corpus} {kind} answered {answered}/{len(best)}")
        _out(f"  {threshold:.2f}: " + "; ".join(parts))
    return 0


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
