"""Retrieval eval: recall@1, recall@3 and MRR for vector-only, BM25-only and hybrid search.

    python -m kb_mcp.eval [--questions services/kb-mcp/eval/questions.yaml] [--runbooks DIR] [--misses]

Each labelled question names the runbook that answers it (`runbook`) and any others that are acceptable
(`also`). A question counts as found at k when one of the first k *sections* returned (what
`search_runbooks` returns) belongs to an accepted runbook; MRR uses the first such section within the top 10.
By default the runbooks are ingested into a temporary embedded Chroma first, so the figures describe the
files as they are; `--use-store` evaluates the store the KB_MCP_* settings point at instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml

from kb_mcp.config import KbSettings
from kb_mcp.corpus import CorpusError
from kb_mcp.embed import Embedder
from kb_mcp.knowledge import KnowledgeBase, embedder_for
from kb_mcp.retrieval import CorpusIndex, Mode
from kb_mcp.store import StoreError
from mcp_common.runner import fail
from mcp_common.settings import ConfigError, load_settings

MODES: tuple[Mode, ...] = get_args(Mode)
MRR_DEPTH = 10
DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "questions.yaml"


@dataclass(frozen=True)
class Question:
    text: str
    runbook: str
    also: tuple[str, ...] = ()

    @property
    def accepted(self) -> set[str]:
        return {self.runbook, *self.also}


@dataclass(frozen=True)
class Scores:
    mode: str
    questions: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    misses: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (question, expected, top-3 runbooks) at 3

    def row(self) -> str:
        return f"| {self.mode:<7} | {self.recall_at_1:8.3f} | {self.recall_at_3:8.3f} | {self.mrr:6.3f} |"


def load_questions(path: Path) -> list[Question]:
    """The labelled questions; raises ValueError naming the entry that is malformed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a YAML list of {{question, runbook, also?}}")
    questions = []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not entry.get("question") or not entry.get("runbook"):
            raise ValueError(f"{path}: entry {number} needs 'question' and 'runbook'")
        also = entry.get("also") or []
        questions.append(Question(str(entry["question"]), str(entry["runbook"]), tuple(str(a) for a in also)))
    return questions


def evaluate(kb: KnowledgeBase, index: CorpusIndex, questions: Sequence[Question], mode: Mode) -> Scores:
    found_1 = found_3 = 0
    reciprocal = 0.0
    misses = []
    for question in questions:
        hits = kb.search_blocking(index, question.text, MRR_DEPTH, mode=mode)
        ranked = [hit.runbook.id for hit in hits]
        first = next((rank for rank, rid in enumerate(ranked, start=1) if rid in question.accepted), None)
        found_1 += first == 1
        found_3 += first is not None and first <= 3
        reciprocal += 1.0 / first if first else 0.0
        if first is None or first > 3:
            misses.append((question.text, question.runbook, tuple(ranked[:3])))
    n = len(questions) or 1
    return Scores(mode, len(questions), found_1 / n, found_3 / n, reciprocal / n, tuple(misses))


def unknown_runbooks(questions: Sequence[Question], index: CorpusIndex) -> list[str]:
    """Labels that name no runbook in the corpus (a typo in the questions file, or a runbook not written yet)."""
    return sorted({rid for q in questions for rid in q.accepted} - set(index.runbooks))


def run(
    settings: KbSettings, questions: Sequence[Question], embedder: Embedder | None = None
) -> tuple[list[Scores], CorpusIndex]:
    """Score every mode against the store the settings point at (already ingested)."""
    embedder = embedder or embedder_for(settings)
    kb = KnowledgeBase(settings, embedder=embedder)
    try:
        index = kb.load_blocking()
        if index.is_empty:
            raise RuntimeError(f"no runbooks in collection '{settings.collection}': ingest first, or drop --use-store")
        embedder.load()
        problem = kb.model_mismatch()
        if problem:
            raise RuntimeError(problem)
        return [evaluate(kb, index, questions, mode) for mode in MODES], index
    finally:
        kb.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb_mcp.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--runbooks", type=Path, default=None, help="runbooks to ingest (default: KB_MCP_RUNBOOKS_DIR)")
    parser.add_argument("--use-store", action="store_true", help="evaluate the configured store as it is")
    parser.add_argument("--misses", action="store_true", help="list the questions hybrid misses at 3")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    from kb_mcp.ingest import ingest_runbooks

    try:
        questions = load_questions(args.questions)
        with tempfile.TemporaryDirectory(prefix="kb-eval-") as scratch:
            overrides: dict[str, Any] = {} if args.use_store else {"chroma_path": Path(scratch), "chroma_url": None}
            settings = load_settings(KbSettings, **overrides)
            embedder = embedder_for(settings, ingest=True)  # one batch ingest, then one query at a time
            if not args.use_store:
                ingest_runbooks(settings, args.runbooks, embedder=embedder)
            scores, index = run(settings, questions, embedder)
    except (ConfigError, CorpusError, StoreError, RuntimeError, ValueError, OSError) as exc:
        return fail(str(exc))

    _out(f"{len(questions)} questions, {len(index.runbooks)} runbooks, {len(index.sections)} sections")
    missing = unknown_runbooks(questions, index)
    if missing:
        _out(f"warning: questions name runbooks that do not exist: {', '.join(missing)}")
    _out("| mode    | recall@1 | recall@3 |  MRR   |")
    _out("|---------|----------|----------|--------|")
    for score in scores:
        _out(score.row())
    if args.misses:
        for score in scores:
            for text, expected, got in score.misses:
                _out(f"miss@3 [{score.mode}] {text!r}: expected {expected}, got {', '.join(got) or 'nothing'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {s.mode: {"recall@1": s.recall_at_1, "recall@3": s.recall_at_3, "mrr": s.mrr} for s in scores}
        args.json.write_text(json.dumps({"questions": len(questions), "modes": payload}, indent=2) + "\n")
    return 0


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")  # a report on stdout: this is a command-line tool, not the server


if __name__ == "__main__":
    raise SystemExit(main())
