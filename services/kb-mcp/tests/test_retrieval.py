"""The pure parts of retrieval: the tokenizer, BM25, rank fusion, error signatures, passage choice."""

from __future__ import annotations

import pytest

from kb_mcp.answers import best_passage
from kb_mcp.retrieval import BM25, error_signature, reciprocal_rank_fusion, stem, tokenize, word_ngrams


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pg_stat_activity", ["pg_stat_activity", "pg", "stat", "activity"]),
        ("OOMKilled", ["oomkilled", "oom", "kill"]),
        ("CrashLoopBackOff", ["crashloopbackoff", "crash", "loop", "back", "off"]),
        ("exit code 137", ["exit", "code", "137"]),
        ("x509: certificate", ["x509", "certificat"]),
        ("java.lang.OutOfMemoryError", ["java.lang.outofmemoryerror", "java", "lang", "out", "memory", "error"]),
        ("pods keep restarting", ["pod", "restart"]),
        ("__init__ ___", ["__init__", "init"]),
    ],
)
def test_tokenizer_keeps_exact_tokens_and_their_parts(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_stemming_is_consistent_across_forms() -> None:
    for group in (["restart", "restarts", "restarted", "restarting"], ["schedule", "scheduled", "scheduling"]):
        assert len({stem(word) for word in group}) == 1, group


def test_bm25_prefers_the_rare_exact_token() -> None:
    docs = [tokenize("the pod was OOMKilled with exit code 137"), tokenize("the pod restarted"), tokenize("disk full")]
    index = BM25(docs)
    assert index.ranked(tokenize("OOMKilled"), 3) == [0]
    assert index.ranked(tokenize("pod"), 3) == [1, 0], "shorter document first at equal term frequency"
    assert index.ranked(tokenize("pod"), 3, allowed={0}) == [0]


def test_rank_fusion_scores_are_normalised_to_one() -> None:
    fused = reciprocal_rank_fusion(
        {"vector": ["a", "b"], "bm25": ["a", "c"], "phrase": ["c"]}, weights={"phrase": 0.5}, scale=("vector", "bm25")
    )
    assert fused[0].key == "a" and fused[0].score == 1.0
    assert (fused[0].vector_rank, fused[0].bm25_rank) == (1, 1)
    assert all(0 < f.score <= 1 for f in fused)
    assert [f.key for f in fused] == ["a", "c", "b"], "the phrase ranking lifts c above b"
    single = reciprocal_rank_fusion({"vector": ["a"], "bm25": ["b"]})
    assert [f.score for f in single] == [0.5, 0.5]


def test_error_signature_drops_timestamps_ids_and_levels_but_keeps_codes() -> None:
    line = (
        "2024-10-15T14:23:03.789Z ERROR [pool-1] 10.244.2.15:8080 request 3f2a9c1e-7d4b-4e8a-9c1f-2b3d4e5f6a7b "
        "failed: Terminated OOMKilled exit code 137 at 14:23:11"
    )
    assert error_signature(line) == "[pool-1] request failed: Terminated OOMKilled exit code 137 at"


def test_word_ngrams_and_passages() -> None:
    assert ("too", "many", "clients") in word_ngrams("FATAL: sorry, too many clients already")
    text = "First sentence about disks. Second sentence about OOMKilled pods.\n\n```bash\nkubectl top pod\n```"
    passage = best_passage(text, set(tokenize("OOMKilled")), {"oomkilled": 3.0, "oom": 2.0, "kill": 1.0})
    assert passage == "Second sentence about OOMKilled pods.\n```bash\nkubectl top pod\n```"
