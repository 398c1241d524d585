"""search_runbooks and find_runbooks_for_error through the protocol, on the real corpus, model and Chroma."""

from __future__ import annotations

import pytest
from mcp import Client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # the real model and Chroma

POD_OR_OOM = {"pod-crash", "oom-jvm-heap"}


async def search(server, **arguments):
    async with Client(server) as client:
        return await client.call_tool("search_runbooks", arguments)


async def test_tools_are_read_only_and_bounded_in_their_schemas(kb_server) -> None:
    async with Client(kb_server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"search_runbooks", "find_runbooks_for_error", "ask_knowledge_base"}
    for tool in tools.values():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.output_schema is not None
    search_schema = tools["search_runbooks"].input_schema["properties"]
    assert search_schema["n_results"]["minimum"] == 1 and search_schema["n_results"]["maximum"] == 10
    assert search_schema["n_results"]["default"] == 3
    assert search_schema["query"]["maxLength"] == 1000 and search_schema["query"]["minLength"] == 1
    assert "ctx" not in search_schema
    ask_schema = tools["ask_knowledge_base"].input_schema["properties"]
    assert set(ask_schema) == {"question"}, "resolved parameters are not arguments"


async def test_pods_restarting_out_of_memory_finds_the_pod_crash_and_oom_runbooks_first(kb_server) -> None:
    result = await search(kb_server, query="pods keep restarting out of memory")
    assert not result.is_error, result.content[0].text
    hits = result.structured_content["hits"]
    assert len(hits) == 3
    assert hits[0]["runbook_id"] in POD_OR_OOM
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    first = hits[0]
    assert first["uri"].startswith(f"runbook://{first['runbook_id']}/")
    assert first["title"] and first["section"] and first["team"] and len(first["text"]) > 100
    assert "null" not in result.content[0].text


async def test_a_query_the_runbooks_do_not_cover_gets_low_scores_and_says_so(kb_server) -> None:
    result = await search(kb_server, query="what is the capital of France")
    assert all(hit["score"] <= 0.5 for hit in result.structured_content["hits"])
    assert result.structured_content["hint"].startswith("weak matches only")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("OOMKilled exit code 137", POD_OR_OOM),
        ("CrashLoopBackOff", {"pod-crash"}),
        ("pg_stat_activity idle in transaction", {"db-connections"}),
        ("x509: certificate has expired or is not yet valid", {"certificate-expiry"}),
        ("ImagePullBackOff", {"image-pull-errors"}),
    ],
)
async def test_exact_tokens_find_their_runbook(kb_server, query: str, expected: set[str]) -> None:
    result = await search(kb_server, query=query, n_results=1)
    assert result.structured_content["hits"][0]["runbook_id"] in expected


async def test_team_and_service_filters(kb_server) -> None:
    async with Client(kb_server) as client:
        by_team = await client.call_tool(
            "search_runbooks", {"query": "latency", "team_filter": "data", "n_results": 10}
        )
        by_service = await client.call_tool("search_runbooks", {"query": "memory", "service": "redis", "n_results": 5})
        runbook = (await client.read_resource("runbook://redis-failure")).contents[0].text
    assert {hit["team"] for hit in by_team.structured_content["hits"]} == {"data"}
    assert by_team.structured_content["team_filter"] == "data"
    assert by_service.structured_content["hits"], "redis runbooks mention memory"
    assert by_service.structured_content["hits"][0]["runbook_id"] == "redis-failure"
    assert "redis" in runbook.split("---")[1]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"query": ""}, "query: must not be empty"),
        ({"query": "   "}, "query must not be empty or only whitespace"),
        ({"query": "x" * 100_000}, "query: too long (100000 characters; at most 1000)"),
        ({"query": "oom", "n_results": 0}, "n_results: 0 is out of range; allowed 1..10"),
        ({"query": "oom", "n_results": 1000}, "n_results: 1000 is out of range; allowed 1..10"),
        ({"query": "oom", "team_filter": "kube-system"}, "team 'kube-system' not found; available: data, "),
        ({"query": "oom", "service": "mainframe"}, "service 'mainframe' not found; available: "),
        ({}, "'query' is a required argument"),
    ],
)
async def test_bad_input_is_a_clear_error(kb_server, arguments: dict, expected: str) -> None:
    result = await search(kb_server, **arguments)
    assert result.is_error
    assert expected in result.content[0].text


async def test_unknown_team_lists_every_team(kb_server) -> None:
    result = await search(kb_server, query="oom", team_filter="sre")
    assert result.content[0].text.endswith("available: data, network, observability, payments, platform, security")


@pytest.mark.parametrize(
    ("error_text", "expected"),
    [
        ("java.lang.OutOfMemoryError: Java heap space", "oom-jvm-heap"),
        ("Circuit breaker OPEN", "circuit-breaker-open"),
        (
            "2024-10-15T14:23:03.789Z ERROR payment-gateway Circuit breaker OPEN for card-network-gateway "
            "(12/10 failures) trace=3f2a9c1e-7d4b-4e8a-9c1f-2b3d4e5f6a7b",
            "circuit-breaker-open",
        ),
        ("FATAL: sorry, too many clients already", "db-connections"),
    ],
)
async def test_find_runbooks_for_error(kb_server, error_text: str, expected: str) -> None:
    async with Client(kb_server) as client:
        result = await client.call_tool("find_runbooks_for_error", {"error_text": error_text})
    assert not result.is_error, result.content[0].text
    lookup = result.structured_content
    first = lookup["matches"][0]
    assert first["runbook_id"] == expected
    assert first["excerpt"] and first["uri"] == f"runbook://{expected}"
    if first["matched_section"] != "Mitigation":
        assert first["mitigation_uri"] == f"runbook://{expected}/mitigation" and len(first["mitigation"]) > 100
    assert len({m["runbook_id"] for m in lookup["matches"]}) == len(lookup["matches"]), "one match per runbook"
    assert "2024-10-15" not in lookup["signature"] and "3f2a9c1e" not in lookup["signature"]


async def test_error_text_with_nothing_searchable_is_rejected(kb_server) -> None:
    async with Client(kb_server) as client:
        result = await client.call_tool("find_runbooks_for_error", {"error_text": "2024-10-15 14:23:03 INFO"})
    assert result.is_error and "nothing to search" in result.content[0].text
