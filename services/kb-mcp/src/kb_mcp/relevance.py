"""What a hit is worth: a calibrated 0..1 relevance a person can read, and the "not found" decision.

The fusion decides the order of the hits (it ranks better than any single signal), but its score only says how
strongly the rankings agree, so an off-topic question's first hit scored 1.0. The relevance is absolute instead:
the estimated probability that the section comes from a runbook that answers the query, from two pieces of
evidence about the section itself —

- `similarity`: the cosine of the query's and the section's embeddings (meaning);
- `coverage`: the share of the query's words (weighted by how rare they are in the corpus; a word the corpus
  never uses weighs as much as its rarest word) that the section's text, title and names contain (exact terms).

relevance = σ(a·similarity + b·coverage + c), with a, b, c fitted by logistic regression (`eval/calibrate.py`)
on the labelled questions of the lab's corpus and of the two tuning collections (the top three hits of each
question: from a right runbook or not) and on off-topic questions (all wrong). Read it as a frequency: of the hits
scored about 0.9 in those evals, about 9 in 10 came from a runbook that answers the question; of those at 0.5,
about half. Down a result list a hit never scores above the hits ranked before it.

Below `NO_MATCH_BELOW` for the best hit, the answer is "no runbook covers this": chosen so that, on the tuning
data, no labelled question was refused and at most one off-topic question per corpus was answered; checked on
held-out off-topic questions and a held-out collection (figures in the README).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

COEFFICIENTS = (7.927, 4.227, -4.426)
"""(a, b, c) of σ(a·similarity + b·coverage + c), from `eval/calibrate.py` (see its output in the README)."""

NO_MATCH_BELOW = 0.2
"""A best hit scored below this means nothing in the knowledge base covers the query."""


def coverage(
    query_terms: Iterable[str], section_terms: frozenset[str], idf: Mapping[str, float], unknown: float
) -> float:
    """The idf-weighted share of the query's terms that the section's text has (0..1); `unknown` weighs a term
    the corpus never uses."""
    weights = {term: idf.get(term, unknown) for term in set(query_terms)}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weight for term, weight in weights.items() if term in section_terms) / total


def relevance(similarity: float, covered: float) -> float:
    """The calibrated probability that a section with this similarity and coverage answers the query."""
    a, b, c = COEFFICIENTS
    return 1.0 / (1.0 + math.exp(-(a * similarity + b * covered + c)))


def is_match(score: float) -> bool:
    """Whether a hit scored `score` is worth answering from (the best hit decides "not found")."""
    return score >= NO_MATCH_BELOW
