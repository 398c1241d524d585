"""search_logs' keyword on the known dataset in chDB: whole words answered from the message index (match=word, the
default), substrings on request, and the index never changes an answer (every query again with the skip indexes
off must return the same lines).
"""

from __future__ import annotations

from datetime import timedelta
from string import Template
from typing import Any

import pytest
from mcp import Client

from logs_mcp.arguments import ORDERS, keyword_condition, word_tokens
from logs_mcp.server import create_server
from logs_mcp.sql import load_sql
from logs_mcp.windows import window

pytestmark = pytest.mark.anyio

KEYWORDS = (
    "OutOfMemoryError", "OutOfMemory", "outofmemoryerror: java", "heap space", "tx-abc123", "abc123", "TX-ABC123",
    "100%", "order_id", "der_i", "O'Brien", "'; DROP TABLE transactions; --", "DROP TABLE", "C:\\temp\\new_report",
    "Müller", "über 12,50 €", "支付", "—", "10.0.0.8:443", "0.0.8", "(30s)", "completed successfully", "zqx9k2",
    "%", "_", "\\", "tx-b1", "in 1",
)  # fmt: skip


async def search(known: Any, **arguments: Any) -> dict[str, Any]:
    async with Client(create_server(known.settings, known.store, clock=known.clock)) as client:
        result = await client.call_tool("search_logs", arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_words_are_whole_words_and_substrings_are_anywhere(known: Any) -> None:
    word = await search(known, keyword="OutOfMemory")
    assert word["count"] == 0 and word["match"] == "word"
    assert "match='substring' also finds it inside longer words" in word["hint"]
    inside = await search(known, keyword="OutOfMemory", match="substring")
    assert inside["count"] == 3 and inside["match"] == "substring"
    assert (await search(known, keyword="OutOfMemoryError"))["count"] == 3  # java.lang.OutOfMemoryError: …
    assert (await search(known, keyword="java heap SPACE"))["count"] == 3
    trace = await search(known, keyword="tx-abc123", time_range="15m")
    assert [line["message"] for line in trace["lines"]] == [
        "Transaction tx-abc123 failed: upstream timeout (30s)",
        "Processing transaction tx-abc123 (249.99 USD)",
    ]
    assert (await search(known, keyword="tx-abc12"))["count"] == 0  # a shorter id is another word
    assert (await search(known, keyword="tx-abc12", match="substring"))["count"] == 2


def test_the_words_looked_up_are_ascii_runs_longest_first() -> None:
    assert word_tokens("java.lang.OutOfMemoryError: Java heap") == ["outofmemoryerror", "heap", "java", "lang"]
    assert word_tokens("Müller über 12,50 €") == ["12", "50"]  # words with other letters are matched as substrings
    assert word_tokens("'; DROP TABLE x; --") == ["table", "drop", "x"]
    assert word_tokens("%_\\") == [] and word_tokens(None) == []
    assert len(word_tokens(" ".join(f"w{i}" for i in range(20)))) == 8


@pytest.mark.parametrize("match", ["word", "substring"])
def test_the_index_never_changes_an_answer(known: Any, match: str) -> None:
    """Every keyword, both matches, with and without the skip indexes: the same lines, newest first."""
    store = known.store
    since = window("24h", known.clock()).since
    for keyword in KEYWORDS:
        condition, bound = keyword_condition(keyword, match)
        text = Template(load_sql("search_logs")).substitute(source="application_logs", direction=ORDERS["newest"],
                                                           keyword=condition)  # fmt: skip
        parameters = {"since": since, "until": known.clock(), "service": "", "level": "", "limit": 1000, **bound}
        indexed = store.client.query(text, parameters=parameters, settings=store.settings.query_settings())
        scanned = store.client.query(
            text, parameters=parameters, settings={**store.settings.query_settings(), "use_skip_indexes": 0}
        )
        assert indexed.result_rows == scanned.result_rows, keyword
        substring = [row for row in scanned.named_results() if keyword.lower() in row["message"].lower()]
        assert len(substring) == len(scanned.result_rows), keyword  # every line holds the keyword literally


def test_a_word_no_line_holds_reads_no_granule(known: Any) -> None:
    condition, bound = keyword_condition("zqx9k2wv", "word")
    text = Template(load_sql("search_logs")).substitute(source="application_logs", direction="DESC", keyword=condition)
    since = known.clock() - timedelta(hours=24)
    parameters = {"since": since, "until": known.clock(), "service": "", "level": "", "limit": 21, **bound}
    plan = [
        row[0] for row in known.store.client.query(f"EXPLAIN indexes = 1 {text}", parameters=parameters).result_rows
    ]
    at = next(i for i, line in enumerate(plan) if "message_words" in line)
    granules = next(line for line in plan[at:] if "Granules:" in line)
    assert granules.split("Granules:")[1].split("/")[0].strip() == "0"  # of all the granules, none is read
