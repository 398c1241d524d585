"""Grounded answers from retrieved sections: the prompt for the client's model, or an extractive answer.

Either way the answer holds nothing the runbooks do not say: the model is told to answer only from the
numbered sections and to cite them as [runbook-id#section]; without a model the answer quotes the passages
of the best sections that share the most terms with the question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kb_mcp.models import Answer, Citation, ErrorMatch, SearchHit
from kb_mcp.relevance import is_match
from kb_mcp.retrieval import CorpusIndex, Hit, tokenize

ANSWER_SECTIONS = 4
"""How many sections an answer may draw on."""

EXTRACT_SECTIONS = 3
"""How many sections an extractive answer quotes."""

NOT_COVERED = "The runbooks do not cover this."

MITIGATION_HEADINGS = ("mitigation", "resolution", "remediation", "fix", "solution", "workaround", "mitigations")
"""Headings under which runbooks say how to fix things (the lab's: Mitigation; others: Resolution...)."""

SYSTEM_PROMPT = (
    "You are an SRE assistant answering an on-call engineer's question from the team's runbooks. "
    "Use ONLY the numbered runbook sections in the message; do not add facts, commands, thresholds or names "
    "that are not in them. Cite every statement with the section's tag in square brackets, e.g. "
    "[pod-crash#mitigation]. Prefer the concrete commands and steps the sections give. If the sections do not "
    f"answer the question, reply exactly: {NOT_COVERED} Be brief: at most about 200 words."
)

_CITATION = re.compile(r"\[([a-z0-9][a-z0-9-]*#[a-z0-9][a-z0-9-]*)\]")
_FENCE_BLOCK = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'\[])")


def tag(hit: Hit) -> str:
    """The citation tag of a section: runbook-id#section-slug."""
    return hit.section.chunk_id


def relevant(hits: Sequence[Hit]) -> list[Hit]:
    """The hits worth answering from: scored at or above the no-match threshold (`relevance`). Empty means no
    runbook covers the question."""
    return [hit for hit in hits if is_match(hit.score)]


def grounding_prompt(question: str, hits: Sequence[Hit]) -> str:
    """The user message for sampling: the question, then each section tagged for citation."""
    blocks = [
        f"[{tag(hit)}] {hit.runbook.title} — {hit.section.heading} (team {hit.runbook.team})\n{hit.section.text}"
        for hit in hits
    ]
    return f"Question: {question}\n\nRunbook sections:\n\n" + "\n\n---\n\n".join(blocks)


@dataclass(frozen=True)
class CheckedCitations:
    """Which provided sections a model's answer cites, and any tag it cites that it was not given."""

    cited: list[Hit]
    unknown: list[str]


def check_citations(answer: str, hits: Sequence[Hit]) -> CheckedCitations:
    by_tag = {tag(hit): hit for hit in hits}
    cited: list[Hit] = []
    unknown: list[str] = []
    for found in _CITATION.findall(answer):
        if found in by_tag:
            if by_tag[found] not in cited:
                cited.append(by_tag[found])
        elif found not in unknown:
            unknown.append(found)
    return CheckedCitations(cited, unknown)


def extractive_answer(question: str, hits: Sequence[Hit], idf: Mapping[str, float]) -> str:
    """The best passages of the top sections, each tagged for citation; no model involved."""
    query_terms = set(tokenize(question))
    parts = []
    for hit in hits[:EXTRACT_SECTIONS]:
        passage = best_passage(hit.section.text, query_terms, idf)
        parts.append(f"[{tag(hit)}] {hit.runbook.title} — {hit.section.heading}:\n{passage}")
    return "\n\n".join(parts)


def best_passage(text: str, query_terms: set[str], idf: Mapping[str, float], max_chars: int = 700) -> str:
    """The sentences, list items and code blocks of `text` that best match the query terms, in text order.

    A unit scores the idf-weighted count of distinct query terms it contains; the best are kept until
    `max_chars`, and a code block directly after a kept sentence comes with it (the command it introduces).
    """
    units = _units(text)
    if not units:
        return ""
    scores = [sum(idf.get(term, 0.0) for term in query_terms & set(tokenize(unit))) for unit in units]
    order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
    chosen: set[int] = set()
    used = 0
    for i in order:
        if scores[i] <= 0 and chosen:
            break
        size = len(units[i])
        if chosen and used + size > max_chars:
            continue
        chosen.add(i)
        used += size
        if i + 1 < len(units) and units[i + 1].startswith(("```", "~~~")) and used + len(units[i + 1]) <= max_chars:
            chosen.add(i + 1)
            used += len(units[i + 1])
        if used >= max_chars:
            break
    return "\n".join(units[i] for i in sorted(chosen))


def _units(text: str) -> list[str]:
    units: list[str] = []
    cursor = 0
    for fence in _FENCE_BLOCK.finditer(text):
        units += _prose_units(text[cursor : fence.start()])
        units.append(fence.group().strip())
        cursor = fence.end()
    units += _prose_units(text[cursor:])
    return [u for u in units if u]


def _prose_units(text: str) -> list[str]:
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.strip().splitlines() if line.strip()]
        if lines and all(line.startswith(("- ", "* ", "1", "2", "3", "4", "5", "6", "7", "8", "9")) for line in lines):
            units += lines  # a list: one unit per item
        elif lines:
            units += [s.strip() for s in _SENTENCE_END.split(" ".join(lines)) if s.strip()]
    return units


def search_hit(hit: Hit) -> SearchHit:
    runbook = hit.runbook
    return SearchHit(
        runbook_id=runbook.id,
        title=runbook.title,
        section=hit.section.heading,
        team=runbook.team or None,
        score=hit.score,
        uri=hit.section.uri,
        text=hit.section.text,
    )


def citation(hit: Hit) -> Citation:
    runbook, section = hit.runbook, hit.section
    return Citation(runbook_id=runbook.id, section=section.heading, title=runbook.title, uri=section.uri)


def sampled_answer(question: str, hits: Sequence[Hit], text: str, model: str | None) -> Answer:
    """The client model's answer, with the sections it cites (and a note when it cites none, or ones it was not
    given)."""
    if not text:
        return Answer(
            question=question,
            answer=NOT_COVERED,
            method="sampling",
            model=model,
            citations=[],
            note="The client's model returned no text.",
        )
    checked = check_citations(text, hits)
    notes = []
    if not checked.cited and NOT_COVERED not in text:
        notes.append("The model cited no section; treat the answer as unsupported and read the sections listed.")
    if checked.unknown:
        notes.append(
            f"The model cited {', '.join(checked.unknown)}, which it was not given; those statements are unsupported."
        )
    cited = checked.cited or ([] if NOT_COVERED in text else list(hits))
    return Answer(
        question=question,
        answer=text,
        method="sampling",
        model=model,
        citations=[citation(hit) for hit in cited],
        note=" ".join(notes) or None,
    )


def error_matches(index: CorpusIndex, signature: str, hits: Sequence[Hit], limit: int) -> list[ErrorMatch]:
    """The best relevant hit per runbook, best runbooks first, each with its matching lines and its Mitigation."""
    terms = set(tokenize(signature))
    matches: list[ErrorMatch] = []
    seen: set[str] = set()
    for hit in relevant(hits):
        runbook = hit.runbook
        if runbook.id in seen:
            continue
        seen.add(runbook.id)
        mitigation = runbook.section_for(hit.section, *MITIGATION_HEADINGS)
        show_mitigation = mitigation is not None and mitigation.slug != hit.section.slug
        matches.append(
            ErrorMatch(
                runbook_id=runbook.id,
                title=runbook.title,
                team=runbook.team or None,
                score=hit.score,
                matched_section=hit.section.heading,
                matched_uri=hit.section.uri,
                excerpt=best_passage(hit.section.text, terms, index.bm25.idf, max_chars=500),
                mitigation=mitigation.text if show_mitigation and mitigation else None,
                mitigation_uri=mitigation.uri if show_mitigation and mitigation else None,
                uri=runbook.uri,
            )
        )
        if len(matches) == limit:
            break
    return matches
