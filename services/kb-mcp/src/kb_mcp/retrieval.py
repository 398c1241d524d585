"""Hybrid retrieval: BM25 over the section chunks, fused with vector similarity by reciprocal rank fusion.

On-call queries are full of exact tokens (OOMKilled, CrashLoopBackOff, 137, pg_stat_activity, x509) that a
small sentence model blurs; BM25 matches them exactly. The tokenizer keeps such tokens whole *and* splits
them (`pg_stat_activity` → `pg_stat_activity`, `pg`, `stat`, `activity`; `OOMKilled` → `oomkilled`, `oom`,
`kill`), so an exact identifier and the plain words a person types both match.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kb_mcp.corpus import Runbook, Section
from kb_mcp.relevance import coverage, relevance
from kb_mcp.store import Manifest

RRF_K = 10
"""Reciprocal rank fusion constant: score = Σ w / (RRF_K + rank). Smaller than the customary 60 (Cormack et al.,
2009, for rankings of 1000 documents): here each ranking contributes its top 40 of a few hundred sections, and a
first place in one ranking (an error string only BM25 finds) should count. The eval is flat from 5 to 60."""

CANDIDATES = 40
"""How many sections each ranking contributes to the fusion."""

WEIGHTS = {"vector": 1.0, "bm25": 1.0, "phrase": 0.5}
"""Fusion weights. `phrase` ranks sections sharing verbatim word trigrams with the query (an error message quoted
whole: "sorry, too many clients already"); it is a tie-breaker among the other two, hence the half weight."""

PHRASE_LENGTH = 3

_WORD = re.compile(r"[A-Za-z0-9_]+(?:[.\-/:][A-Za-z0-9_]+)*")
_JOINERS = re.compile(r"[._\-/:]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_MIXED_CASE = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")
_DOUBLE_CONSONANT = re.compile(r"([bcdfghjkmnpqrtvwx])\1$")  # not l, s, z: killed → kill
_PHRASE_WORD = re.compile(r"[a-z0-9_]+")

_STOPWORD_TEXT = """
a about above after again all am an and any are as at be because been before being below between both but by
can could did do does doing during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my myself nor of once only or other our ours own same she
should so some such than that the their theirs them then there these they this those through to too under
until very was we were what when where which while who whom why will with would you your yours ive im
dont doesnt isnt keep keeps kept get gets getting got happen happens happening going go should shall
anything something thing things way ways need needs use using used"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""English function words and query filler. Words that carry meaning on call (not, no, down, up, out, off) stay."""


def stem(word: str) -> str:
    """A light suffix stripper (plural, -ing, -ed, trailing e): restarts/restarting/restarted → restart.

    Applied to query and chunk alike, so it only has to be consistent, not linguistically right.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
        word = word[:-1] if _DOUBLE_CONSONANT.search(word) else word
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
        word = word[:-1] if _DOUBLE_CONSONANT.search(word) else word
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase tokens for BM25: compound identifiers whole, plus their parts and camel-case pieces, stemmed."""
    tokens: list[str] = []
    for word in _WORD.findall(text):
        tokens.extend(_word_tokens(word))
    return tokens


@functools.lru_cache(maxsize=1 << 16)
def _word_tokens(raw: str) -> tuple[str, ...]:
    """The tokens of one word as `tokenize` emits them. Cached: a corpus repeats its words (about 100 k words,
    a few thousand distinct, in the lab's runbooks), so building the index at start-up tokenizes each once."""
    parts = [p for p in _JOINERS.split(raw) if p]
    pieces: list[str] = []
    for part in parts:
        if _MIXED_CASE.search(part):
            pieces.extend(_CAMEL.findall(part))
        else:
            pieces.append(part)
    if not pieces:
        return ()  # a run of underscores
    tokens: list[str] = []
    compound = raw.lower()
    if len(pieces) > 1 or compound != pieces[0].lower():
        tokens.append(compound)
    for piece in pieces:
        low = piece.lower()
        if low in STOPWORDS or (len(low) == 1 and not low.isdigit()):
            continue
        tokens.append(stem(low))
    return tuple(tokens)


def word_ngrams(text: str, n: int = PHRASE_LENGTH) -> set[tuple[str, ...]]:
    """The lowercase word n-grams of `text`, unstemmed and with stop words kept (phrases, as written)."""
    words = _PHRASE_WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class BM25:
    """Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's non-negative idf) over pre-tokenized documents."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.size = len(documents)
        self.lengths = [len(doc) for doc in documents]
        self.average_length = (sum(self.lengths) / self.size) if self.size else 0.0
        # Each document's length normalisation, once: a query walks many postings.
        self.norms = [k1 * (1.0 - b + b * length / (self.average_length or 1.0)) for length in self.lengths]
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for position, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                self.postings.setdefault(term, []).append((position, count))
        self.idf = {
            term: math.log(1.0 + (self.size - len(hits) + 0.5) / (len(hits) + 0.5))
            for term, hits in self.postings.items()
        }

    def scores(self, query_tokens: Iterable[str], allowed: set[int] | None = None) -> dict[int, float]:
        """Document position → score, for documents sharing at least one term with the query."""
        totals: dict[int, float] = {}
        norms = self.norms
        boost = self.k1 + 1.0
        for term in set(query_tokens):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for position, count in self.postings[term]:
                if allowed is not None and position not in allowed:
                    continue
                totals[position] = totals.get(position, 0.0) + idf * count * boost / (count + norms[position])
        return totals

    def ranked(self, query_tokens: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[int]:
        scores = self.scores(query_tokens, allowed)
        return sorted(scores, key=lambda p: (-scores[p], p))[:limit]


@dataclass(frozen=True)
class Fused:
    """One fused result: the item, its 0..1 relevance and where each ranking placed it (1-based; None: absent)."""

    key: str
    score: float
    vector_rank: int | None
    bm25_rank: int | None


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]],
    *,
    k: int = RRF_K,
    weights: Mapping[str, float] | None = None,
    scale: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Fused]:
    """Fuse rankings (name → keys, best first) by Σ wᵢ / (k + rankᵢ), best first (the first `limit`).

    The score is normalised to 0..1 by the fused score of an item first in every ranking named in `scale`
    (default: all), capped at 1: with vector and BM25 as the scale, 1.0 means both put the section first and
    0.5 means first in one and absent from the other. It measures how strongly the rankings agree on a section,
    not a probability that it answers the query.
    """
    weights = weights or {}
    names = list(rankings) if scale is None else list(scale)
    best = (sum(weights.get(name, 1.0) for name in names) or 1.0) / (k + 1)
    raw: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, keys in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, key in enumerate(keys, start=1):
            raw[key] = raw.get(key, 0.0) + weight / (k + rank)
            ranks.setdefault(key, {})[name] = rank
    ordered = sorted(raw, key=lambda key: (-raw[key], key))[:limit]
    return [
        Fused(
            key=key,
            score=round(min(1.0, raw[key] / best), 4),
            vector_rank=ranks[key].get("vector"),
            bm25_rank=ranks[key].get("bm25"),
        )
        for key in ordered
    ]


_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b|\b\d{2}:\d{2}:\d{2}(\.\d+)?\b"
)
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX = re.compile(r"\b(0x)?[0-9a-f]{12,}\b")
_IP = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b")
_LEVEL = re.compile(r"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\b")


def error_signature(text: str, limit: int = 600) -> str:
    """The searchable part of a log line or error: timestamps, ids, addresses and log levels removed.

    Exception names, error phrases, class names and codes (137, 503, x509) stay: they are what runbooks quote.
    """
    cleaned = text
    for pattern in (_TIMESTAMP, _UUID, _HEX, _IP, _LEVEL):
        cleaned = pattern.sub(" ", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    return cleaned[:limit]


Mode = Literal["hybrid", "vector", "bm25"]


def embedding_text(runbook: Runbook, section: Section) -> str:
    """What the model embeds for a section: the runbook title and heading give a short section its context."""
    return f"{runbook.title}: {section.heading}\n{section.text}"


def bm25_document(runbook: Runbook, section: Section) -> str:
    """The text BM25 indexes for a section: the runbook's title, other names, tags and services give every
    section its topic."""
    return "\n".join(
        [
            runbook.title,
            " ".join(runbook.aliases),
            section.heading,
            " ".join(runbook.tags),
            " ".join(runbook.services),
            section.text,
        ]
    )


@dataclass(frozen=True)
class Hit:
    """A retrieved section: its calibrated relevance (`relevance`), the fused score that ordered it (see
    `reciprocal_rank_fusion`), and the evidence: cosine similarity, term coverage, each ranking's place."""

    runbook: Runbook
    section: Section
    score: float
    fused: float = 0.0
    similarity: float | None = None
    coverage: float = 0.0
    vector_rank: int | None = None
    bm25_rank: int | None = None


class CorpusIndex:
    """The corpus in memory: runbooks by id, sections in a fixed order, BM25 over those sections, and one
    L2-normalised vector per section (the rows of `vectors`, in the same order) for exact cosine search."""

    def __init__(
        self, runbooks: Sequence[Runbook], manifest: Manifest | None = None, vectors: np.ndarray | None = None
    ) -> None:
        self.manifest = manifest
        self.runbooks: dict[str, Runbook] = {r.id: r for r in runbooks}
        self.sections: list[Section] = [s for r in runbooks for s in r.sections]
        self.chunk_ids: list[str] = [s.chunk_id for s in self.sections]
        self.positions: dict[str, int] = {chunk_id: i for i, chunk_id in enumerate(self.chunk_ids)}
        self.teams: list[str] = sorted({r.team for r in runbooks if r.team})
        self.services: list[str] = sorted({svc for r in runbooks for svc in r.services})
        documents = [bm25_document(self.runbooks[s.runbook_id], s) for s in self.sections]
        tokens = [tokenize(doc) for doc in documents]
        self.bm25 = BM25(tokens)
        self.terms = [frozenset(t) for t in tokens]
        self.phrases: dict[tuple[str, ...], list[int]] = {}  # word trigram → the sections that have it
        for position, doc in enumerate(documents):
            for gram in word_ngrams(doc):
                self.phrases.setdefault(gram, []).append(position)
        # The weight of a query word the corpus never uses: that of a word found in one section.
        self.unknown_idf = math.log(1.0 + (len(tokens) - 0.5) / 1.5) if tokens else 1.0
        if vectors is not None and len(vectors) != len(self.sections):
            raise ValueError(f"{len(vectors)} vectors for {len(self.sections)} sections")
        self.vectors = None if vectors is None else np.asarray(vectors, dtype=np.float32)

    @property
    def is_empty(self) -> bool:
        return not self.sections

    def allowed(self, team: str | None, service: str | None) -> set[int] | None:
        """Positions of the sections that pass the filters (None: no filter)."""
        if team is None and service is None:
            return None
        return {
            i
            for i, s in enumerate(self.sections)
            if (team is None or self.runbooks[s.runbook_id].team == team)
            and (service is None or service in self.runbooks[s.runbook_id].services)
        }

    def phrase_ranked(self, query: str, limit: int, allowed: set[int] | None = None) -> list[int]:
        """Positions of the sections sharing the most word trigrams with the query, best first."""
        shared: dict[int, int] = {}
        for gram in word_ngrams(query):
            for i in self.phrases.get(gram, ()):
                if allowed is None or i in allowed:
                    shared[i] = shared.get(i, 0) + 1
        return sorted(shared, key=lambda i: (-shared[i], i))[:limit]

    def vector_ranked(
        self, query_vector: np.ndarray, limit: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(position, cosine similarity) of the sections nearest the query vector, nearest first."""
        if self.vectors is None or not len(self.vectors):
            return []
        similarity = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        if allowed is not None:
            keep = np.zeros(len(similarity), dtype=bool)
            keep[list(allowed)] = True
            similarity = np.where(keep, similarity, -np.inf)
        count = min(limit, int(np.isfinite(similarity).sum()))
        if count <= 0:
            return []
        top = np.argpartition(-similarity, count - 1)[:count]
        top = top[np.lexsort((top, -similarity[top]))]
        return [(int(i), float(similarity[i])) for i in top]


def hybrid_search(
    index: CorpusIndex,
    query: str,
    n_results: int,
    *,
    query_vector: np.ndarray | None,
    team: str | None = None,
    service: str | None = None,
    mode: Mode = "hybrid",
    candidates: int = CANDIDATES,
) -> list[Hit]:
    """The best `n_results` sections for `query` under the filters, best first.

    `mode` selects the rankings fused: hybrid fuses vector, BM25 and phrase rankings; vector and bm25 use one
    alone (for the eval) and still report scores on the same 0..1 scale (1.0 = first). `query_vector` (the
    query embedded) is needed unless `mode` is bm25.
    """
    allowed = index.allowed(team, service)
    if allowed is not None and not allowed:
        return []
    limit = min(candidates, len(index.sections) if allowed is None else len(allowed))
    rankings: dict[str, list[str]] = {}
    similarity: dict[str, float] = {}
    if mode in ("hybrid", "vector"):
        if query_vector is None:
            raise ValueError("a query vector is needed for mode " + mode)
        nearest = index.vector_ranked(query_vector, limit, allowed)
        rankings["vector"] = [index.chunk_ids[p] for p, _ in nearest]
        similarity = {index.chunk_ids[p]: sim for p, sim in nearest}
    terms = tokenize(query)
    if mode in ("hybrid", "bm25"):
        positions = index.bm25.ranked(terms, limit, allowed)
        rankings["bm25"] = [index.chunk_ids[p] for p in positions]
    if mode == "hybrid":
        rankings["phrase"] = [index.chunk_ids[p] for p in index.phrase_ranked(query, limit, allowed)]
    hits: list[Hit] = []
    scale = ("vector", "bm25") if mode == "hybrid" else (mode,)  # the phrase ranking only adds to them
    ceiling = 1.0
    for fused in reciprocal_rank_fusion(rankings, weights=WEIGHTS, scale=scale, limit=n_results):
        position = index.positions[fused.key]
        section = index.sections[position]
        sim = similarity.get(fused.key)
        if sim is None and query_vector is not None and index.vectors is not None:
            sim = float(index.vectors[position] @ query_vector)
        covered = coverage(terms, index.terms[position], index.bm25.idf, index.unknown_idf)
        # Relevance needs the similarity (every mode but bm25-only, which the eval alone uses); down the list a
        # hit never scores above the ones before it, since the fusion's order is the better judge of rank.
        score = relevance(sim, covered) if sim is not None else fused.score
        ceiling = min(ceiling, score)
        hits.append(
            Hit(
                runbook=index.runbooks[section.runbook_id],
                section=section,
                score=round(ceiling, 4),
                fused=fused.score,
                similarity=sim,
                coverage=round(covered, 4),
                vector_rank=fused.vector_rank,
                bm25_rank=fused.bm25_rank,
            )
        )
    return hits
