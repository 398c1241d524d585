"""The runbook:// resources through the protocol, served from what is stored in Chroma (not from the files)."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from kb_mcp.corpus import parse_runbook
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.server import create_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # the real model and Chroma


async def test_every_runbook_is_listed_as_markdown(kb_server, runbook_ids: list[str]) -> None:
    async with Client(kb_server) as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    assert sorted(str(r.uri) for r in resources) == [f"runbook://{rid}" for rid in runbook_ids]
    assert {r.mime_type for r in resources} == {"text/markdown"}
    pod = next(r for r in resources if str(r.uri) == "runbook://pod-crash")
    assert pod.name == "pod-crash" and pod.title == "Pod CrashLoopBackOff Recovery"
    assert "team platform" in pod.description and "Mitigation" in pod.description
    assert {t.uri_template for t in templates} == {"runbook://{runbook_id}", "runbook://{runbook_id}/{section}"}


async def test_read_a_runbook_and_a_section(kb_server, runbooks_dir) -> None:
    source = (runbooks_dir / "pod-crash.md").read_text()
    async with Client(kb_server) as client:
        whole = (await client.read_resource("runbook://pod-crash")).contents[0]
        section = (await client.read_resource("runbook://pod-crash/mitigation")).contents[0]
    assert whole.mime_type == "text/markdown"
    assert whole.text == source.strip() + "\n", "the full Markdown, front matter included, round-trips through Chroma"
    expected = parse_runbook(source).section("mitigation")
    assert section.text.startswith("# Pod CrashLoopBackOff Recovery\n\n## Mitigation\n\n")
    assert expected is not None and expected.text in section.text


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("runbook://no-such-runbook", "runbook 'no-such-runbook' not found; available: batch-reconciliation-job, "),
        ("runbook://Pod_Crash", "runbook 'Pod_Crash' not found"),
        ("runbook://pod-crash/rollback-plan", "runbook 'pod-crash' has no section 'rollback-plan'; sections: "),
        ("runbook://pod-crash/a/b", "Unknown resource"),
        ("runbook://..%2F..%2Fetc%2Fpasswd", "Unknown resource"),
    ],
)
async def test_unknown_runbook_uri_is_a_clear_error(kb_server, uri: str, expected: str) -> None:
    async with Client(kb_server) as client:
        with pytest.raises(MCPError) as error:
            await client.read_resource(uri)
    assert expected in error.value.error.message


async def test_resources_answer_while_the_model_cannot_load(seeded_settings, make_settings, tmp_path) -> None:
    """Resource reads never wait for the model; a search says clearly why it cannot run."""
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    settings = make_settings(seeded_settings.chroma_path, model_path=broken, model_name="all-MiniLM-L6-v2")
    async with Client(create_server(settings)) as client:
        tools = (await client.list_tools()).tools
        listed = (await client.list_resources()).resources
        text = (await client.read_resource("runbook://disk-space")).contents[0].text
        result = await client.call_tool("search_runbooks", {"query": "disk full"})
    assert len(tools) == 3 and len(listed) > 25 and "Disk Space" in text
    assert result.is_error
    assert "cannot load the embedding model all-MiniLM-L6-v2 from" in result.content[0].text


async def test_a_collection_built_with_another_model_is_refused_clearly(
    tmp_path, make_settings, small_corpus, embedder, server_for
) -> None:
    built = make_settings(tmp_path / "chroma", model_name="some-other-model")
    ingest_runbooks(built, small_corpus, embedder=embedder)
    serving = make_settings(tmp_path / "chroma")
    async with Client(server_for(serving)) as client:
        result = await client.call_tool("search_runbooks", {"query": "pods crash"})
        text = (await client.read_resource("runbook://pod-crash")).contents[0].text
    assert result.is_error
    message = result.content[0].text
    assert "was built with model 'some-other-model' (dimension 384)" in message
    assert "embeds queries with 'all-MiniLM-L6-v2'" in message and "kb-mcp ingest" in message
    assert text.startswith("---\nid: pod-crash"), "resources still work"


async def test_an_empty_store_says_to_ingest_and_a_later_ingest_is_picked_up(
    tmp_path, make_settings, small_corpus, embedder, server_for
) -> None:
    settings = make_settings(tmp_path / "chroma", refresh_interval_s=0.001)
    async with Client(server_for(settings)) as client:
        before = await client.call_tool("search_runbooks", {"query": "pods crash"})
        listed_before = (await client.list_resources()).resources
        ingest_runbooks(settings, small_corpus, embedder=embedder)  # the seed job, while the server runs
        after = await client.call_tool("search_runbooks", {"query": "pods crash"})
        listed_after = (await client.list_resources()).resources
    assert before.is_error and "the knowledge base is empty" in before.content[0].text
    assert "kb-mcp ingest" in before.content[0].text
    assert listed_before == []
    assert not after.is_error and after.structured_content["hits"][0]["runbook_id"] == "pod-crash"
    assert len(listed_after) == 3
