"""Retrieval eval: recall@1, recall@3 and MRR of every ranker, and the no-match answers, per collection.

    .venv/bin/python services/kb-mcp/eval/recall.py [COLLECTION.yaml ...] [--misses] [--json FILE]

Each collection file (`services/kb-mcp/eval/*.yaml`: the lab's corpus and real public collections) names its
runbook folder and labelled questions; `off-topic.yaml` holds questions no collection covers. For each collection
the folder is ingested into a temporary embedded Chroma (through `kb-mcp ingest`'s code, with the machine's
embedding cache), then:

- every question is searched by each ranker alone (vector, BM25) and by the hybrid fusion, in process, and by the
  hybrid through the `search_runbooks` tool of a real server (the SDK's in-memory client): the tool's figure is
  the one that counts, and it must equal the in-process one;
- a question is found at k when one of the first k sections returned belongs to its runbook (or an `also` one);
  a question with a `section` (its headings as the page has them: "Problem" or "Problem › Solution") is found
  only by that section, one of the parts a long section is split into, or a section holding it whole, which is
  what tells a few long pages of many problems apart (an `also` entry may name a section too:
  `page.md#Heading`); a label naming a file of the folder that was not ingested is a miss, not an error; MRR
  uses the first such section within the top 10;
- "no match" is what `ask_knowledge_base` answers as "not covered": counted on the labelled questions (false
  rejections) and on the off-topic questions (false answers, which must stay ≤ 1 of them): `off-topic.yaml`,
  on which the threshold was chosen, and `off-topic-held-out.yaml`, on which it was not; a collection may add its
  own (`off_topic:`), questions near its domain that it does not answer.

A collection marked `held_out: true` was never looked at while tuning; its misses are printed only with
`--show-held-out`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, get_args

import anyio
import yaml
from mcp import Client

from kb_mcp.answers import relevant
from kb_mcp.config import KbSettings
from kb_mcp.corpus import CorpusError
from kb_mcp.embed import Embedder
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.knowledge import search
from kb_mcp.markdown import HEADING_JOINER
from kb_mcp.retrieval import CorpusIndex, Mode
from kb_mcp.server import create_server
from kb_mcp.store import RunbookStore
from mcp_common.errors import UnavailableError
from mcp_common.runner import fail
from mcp_common.settings import ConfigError, load_settings

HERE = Path(__file__).resolve().parent
RANKERS: tuple[Mode, ...] = get_args(Mode)
DEPTH = 10
OFF_TOPIC = HERE / "off-topic.yaml"
OFF_TOPIC_HELD_OUT = HERE / "off-topic-held-out.yaml"
SECTION_MARK = "#"


@dataclass(frozen=True)
class Question:
    text: str
    runbook: str
    also: tuple[str, ...] = ()
    section: str | None = None

    @property
    def label(self) -> str:
        """The runbook, or the runbook's section, that answers it."""
        return f"{self.runbook}{SECTION_MARK}{self.section}" if self.section else self.runbook

    @property
    def accepted(self) -> set[str]:
        return {self.label, *self.also}

    def found_by(self, names: set[str]) -> bool:
        """Whether a hit with these names (see `names`) answers it."""
        return any(_answers(label, names) for label in self.accepted)


def _answers(label: str, names: set[str]) -> bool:
    if SECTION_MARK not in label:
        return label in names
    runbook, path = label.split(SECTION_MARK, 1)
    for name in names:
        found_runbook, _, heading = name.partition(SECTION_MARK)
        if heading and found_runbook == runbook and _related(path, heading):
            return True
    return False


def _related(label: str, heading: str) -> bool:
    """The labelled section is the hit, one of the parts it was split into, or held whole by the hit."""
    return label == heading or heading.startswith(label + HEADING_JOINER) or label.startswith(heading + HEADING_JOINER)


@dataclass(frozen=True)
class Collection:
    name: str
    runbooks: Path
    held_out: bool
    questions: tuple[Question, ...]
    off_topic: tuple[str, ...] = ()


@dataclass
class Scores:
    ranker: str
    questions: int = 0
    found_1: int = 0
    found_3: int = 0
    reciprocal: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def recall_at_1(self) -> float:
        return self.found_1 / (self.questions or 1)

    @property
    def recall_at_3(self) -> float:
        return self.found_3 / (self.questions or 1)

    @property
    def mrr(self) -> float:
        return self.reciprocal / (self.questions or 1)

    def add(self, question: Question, ranked: Sequence[set[str]]) -> None:
        """Score one question given the names of the runbooks returned, best first."""
        first = next((rank for rank, found in enumerate(ranked, start=1) if question.found_by(found)), None)
        self.questions += 1
        self.found_1 += first == 1
        self.found_3 += first is not None and first <= 3
        self.reciprocal += 1.0 / first if first else 0.0
        if first is None or first > 1:
            self.misses.append(f"[{self.ranker}] {question.text!r}: expected {question.label}, rank {first or '>10'}")


@dataclass
class Report:
    collection: str
    held_out: bool
    runbooks: int
    sections: int
    skipped: list[str]
    rankers: dict[str, Scores]
    tool_matches_in_process: bool
    not_read: list[str]
    false_rejections: list[str]
    off_topic: int
    false_answers: list[str]
    off_topic_held_out: int
    false_answers_held_out: list[str]
    off_topic_own: int = 0
    false_answers_own: list[str] = field(default_factory=list)


def load_collection(path: Path) -> Collection:
    """A collection file; raises ValueError naming what is malformed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or "runbooks" not in data:
        raise ValueError(f"{path}: expected collection, runbooks and a list of questions")
    questions = []
    for number, entry in enumerate(data["questions"], start=1):
        if not isinstance(entry, dict) or not entry.get("question") or not entry.get("runbook"):
            raise ValueError(f"{path}: question {number} needs 'question' and 'runbook'")
        section = str(entry["section"]) if entry.get("section") else None
        also = tuple(map(str, entry.get("also") or ()))
        questions.append(Question(str(entry["question"]), str(entry["runbook"]), also, section))
    folder = (path.parent / str(data["runbooks"])).resolve()
    own = tuple(str(q) for q in data.get("off_topic") or ())
    return Collection(str(data.get("collection", path.stem)), folder, bool(data.get("held_out")), tuple(questions), own)


def off_topic_questions(path: Path = OFF_TOPIC) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(q) for q in data["questions"]]


def names(index: CorpusIndex, runbook_id: str, heading: str | None = None) -> set[str]:
    """What a label may call a runbook (its id or its file path in the collection) and, given a section's heading,
    that section: `<runbook>#<heading>`, the heading as the section has it ("Problem › Solution")."""
    runbook = index.runbooks[runbook_id]
    found = {runbook.id, runbook.source}
    if heading is None:
        return found
    return found | {f"{name}{SECTION_MARK}{heading}" for name in found}


def unknown_labels(collection: Collection, index: CorpusIndex) -> tuple[list[str], list[str]]:
    """(labels naming nothing in the collection: typos; labels naming a file that is there but was not ingested:
    misses, since a reader of the folder would look there)."""
    every = [names(index, r.id, s.heading) for r in index.runbooks.values() for s in r.sections]
    typos: list[str] = []
    not_read: list[str] = []
    for label in sorted({n for q in collection.questions for n in q.accepted}):
        if any(_answers(label, found) for found in every):
            continue
        file = label.split(SECTION_MARK, 1)[0]
        (not_read if (collection.runbooks / file).is_file() else typos).append(label)
    return typos, not_read


async def evaluate(
    collection: Collection, off_topic: Sequence[str], held_out: Sequence[str], embedder: Embedder, scratch: Path
) -> Report:
    settings = load_settings(
        KbSettings,
        chroma_path=scratch / collection.name / "chroma",
        chroma_url=None,
        corpus_cache_dir=scratch / collection.name / "corpus-cache",
        collection="runbooks",
        rate_limit_per_minute=1e9,
        rate_limit_burst=1_000_000,
        audit_log=None,
    )
    ingest = ingest_runbooks(settings, collection.runbooks, embedder=embedder)
    store = RunbookStore.open(settings)
    try:
        stored = store.read_corpus()
    finally:
        store.close()
    index = CorpusIndex(stored.runbooks, stored.manifest, stored.vectors)
    unknown, not_read = unknown_labels(collection, index)
    if unknown:
        raise ValueError(
            f"{collection.name}: questions name runbooks that are not in the collection: {', '.join(unknown)}"
        )

    rankers: dict[str, Scores] = {mode: Scores(mode) for mode in RANKERS}
    rejections: list[str] = []
    for question in collection.questions:
        for mode in RANKERS:
            hits = search(index, question.text, DEPTH, embedder=embedder, mode=mode)
            rankers[mode].add(question, [names(index, h.runbook.id, h.section.heading) for h in hits])
            if mode == "hybrid" and not relevant(hits):
                rejections.append(question.text)

    tool = Scores("hybrid (search_runbooks)")
    answers: list[str] = []
    answers_held_out: list[str] = []
    async with Client(create_server(settings, embedder=embedder)) as client:
        for question in collection.questions:
            result = await client.call_tool("search_runbooks", {"query": question.text, "n_results": DEPTH})
            if result.is_error:
                raise RuntimeError(f"search_runbooks failed: {result.content}")
            hits = (result.structured_content or {}).get("hits", [])
            tool.add(question, [names(index, hit["runbook_id"], hit["section"]) for hit in hits])
        answers_own: list[str] = []
        for texts, answered in (
            (off_topic, answers),
            (held_out, answers_held_out),
            (collection.off_topic, answers_own),
        ):
            for text in texts:
                answer = await client.call_tool("ask_knowledge_base", {"question": text})
                if (answer.structured_content or {}).get("method") != "not_found":
                    answered.append(text)
    in_process = rankers["hybrid"]
    same = (tool.found_1, tool.found_3, round(tool.reciprocal, 9)) == (
        in_process.found_1,
        in_process.found_3,
        round(in_process.reciprocal, 9),
    )
    return Report(
        collection=collection.name,
        held_out=collection.held_out,
        runbooks=len(index.runbooks),
        sections=len(index.sections),
        skipped=ingest.skipped,
        rankers={**rankers, "tool": tool},
        tool_matches_in_process=same,
        not_read=not_read,
        false_rejections=rejections,
        off_topic=len(off_topic),
        false_answers=answers,
        off_topic_held_out=len(held_out),
        false_answers_held_out=answers_held_out,
        off_topic_own=len(collection.off_topic),
        false_answers_own=answers_own,
    )


def print_report(report: Report, *, misses: bool, show_held_out: bool) -> None:
    label = " (HELD OUT: not used for tuning)" if report.held_out else ""
    _out(f"\n## {report.collection}{label}: {report.runbooks} runbooks, {report.sections} sections")
    if report.skipped:
        _out(f"skipped files: {'; '.join(report.skipped)}")
    if report.not_read:
        _out(f"labelled but not ingested (their questions are misses): {'; '.join(report.not_read)}")
    _out("| ranker | recall@1 | recall@3 | MRR |")
    _out("|---|---|---|---|")
    for name in ("tool", *RANKERS):
        scores = report.rankers[name]
        _out(f"| {scores.ranker} | {scores.recall_at_1:.3f} | {scores.recall_at_3:.3f} | {scores.mrr:.3f} |")
    total = report.rankers["hybrid"].questions
    _out(
        f"no match: {len(report.false_rejections)}/{total} labelled questions wrongly rejected; "
        f"{len(report.false_answers)}/{report.off_topic} off-topic questions answered "
        f"(held-out set: {len(report.false_answers_held_out)}/{report.off_topic_held_out}"
        + (
            f"; the collection's own: {len(report.false_answers_own)}/{report.off_topic_own}"
            if report.off_topic_own
            else ""
        )
        + ")"
    )
    if not report.tool_matches_in_process:
        _out("WARNING: search_runbooks and the in-process hybrid search disagree")
    if misses and (show_held_out or not report.held_out):
        for name in ("hybrid", "vector", "bm25"):
            for line in report.rankers[name].misses:
                _out(f"  miss@1 {line}")
        for text in report.false_rejections:
            _out(f"  rejected: {text!r}")
        for text in [*report.false_answers, *report.false_answers_held_out, *report.false_answers_own]:
            _out(f"  answered off-topic: {text!r}")


async def run(files: Sequence[Path], *, misses: bool, show_held_out: bool) -> list[Report]:
    collections = [load_collection(path) for path in files]
    off_topic = off_topic_questions()
    held_out = off_topic_questions(OFF_TOPIC_HELD_OUT)
    settings = load_settings(KbSettings)
    embedder = Embedder.open(settings)
    reports = []
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as scratch:
        for collection in collections:
            report = await evaluate(collection, off_topic, held_out, embedder, Path(scratch))
            print_report(report, misses=misses, show_held_out=show_held_out)
            reports.append(report)
    answered = sum(len(r.false_answers) for r in reports)
    answered_held_out = sum(len(r.false_answers_held_out) for r in reports)
    _out(
        f"\noff-topic: {answered} false answers over {len(reports)} collections × {len(off_topic)} questions; "
        f"held-out set: {answered_held_out} over {len(reports)} × {len(held_out)}"
    )
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recall.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="collection files (default: every one in eval/)")
    parser.add_argument("--misses", action="store_true", help="list the questions each ranker misses at 1")
    parser.add_argument("--show-held-out", action="store_true", help="list the held-out collection's misses too")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    files = args.files or sorted(p for p in HERE.glob("*.yaml") if not p.name.startswith("off-topic"))
    try:
        reports = anyio.run(lambda: run(files, misses=args.misses, show_held_out=args.show_held_out))
    except (ConfigError, CorpusError, UnavailableError, ValueError, OSError) as exc:
        return fail(str(exc))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([_json(r) for r in reports], indent=2) + "\n", encoding="utf-8")
    return 0


def _json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["rankers"] = {
        name: {"recall@1": s.recall_at_1, "recall@3": s.recall_at_3, "mrr": s.mrr, "questions": s.questions}
        for name, s in report.rankers.items()
    }
    return data


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")  # a report on stdout: this is a command-line tool, not the server


if __name__ == "__main__":
    raise SystemExit(main())
