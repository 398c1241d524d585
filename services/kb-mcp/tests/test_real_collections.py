"""Public runbook collections as published, ingested and searched through the protocol: alert names and raw error
lines find their runbook, sibling runbooks are told apart, scores mean something, and an off-topic question is
told that no runbook covers it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from kb_mcp.config import KbSettings
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.models import IngestReport
from kb_mcp.relevance import NO_MATCH_BELOW

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # the real model and Chroma


@pytest.fixture(scope="module")
def prometheus_operator(
    tmp_path_factory: pytest.TempPathFactory, real_collections: Path, make_settings, embedder
) -> tuple[KbSettings, IngestReport]:
    settings = make_settings(tmp_path_factory.mktemp("prometheus-operator"))
    return settings, ingest_runbooks(settings, real_collections / "prometheus-operator", embedder=embedder)


@pytest.fixture(scope="module")
def rook(tmp_path_factory: pytest.TempPathFactory, real_collections: Path, make_settings, embedder) -> KbSettings:
    settings = make_settings(tmp_path_factory.mktemp("rook"))
    ingest_runbooks(settings, real_collections / "rook", embedder=embedder)
    return settings


@pytest.fixture
def server(prometheus_operator, server_for: Callable[[KbSettings], MCPServer[Any]]) -> MCPServer[Any]:
    return server_for(prometheus_operator[0])


async def search(server: MCPServer[Any], query: str, n: int = 3) -> dict[str, Any]:
    async with Client(server) as client:
        result = await client.call_tool("search_runbooks", {"query": query, "n_results": n})
    assert not result.is_error, result.content[0].text
    return result.structured_content or {}


def test_the_hugo_collection_ingests_as_published(prometheus_operator) -> None:
    _, report = prometheus_operator
    assert (report.runbooks, report.skipped) == (40, [])
    assert report.ignored == ["kubernetes/_index.md: a section index, not a runbook"]


@pytest.mark.parametrize(
    ("query", "runbook"),
    [
        ("KubePodCrashLooping", "kubernetes-kube-pod-crash-looping"),  # an alert name, pasted
        ("pod is Running but 0/1 ready, readiness probe failing", "kubernetes-kube-pod-not-ready"),
        ("kubelet serving certificate expired, pending CSRs", "kubernetes-kubelet-server-certificate-expiration"),
        ("kubelet client cert expired on a worker node", "kubernetes-kubelet-client-certificate-expiration"),
        ("etcdserver: no leader", "etcd-etcd-no-leader"),  # a raw error line
        ("nf_conntrack: table full, dropping packet", "node-node-high-number-conntrack-entries-used"),
    ],
)
async def test_alert_names_error_lines_and_siblings_find_their_runbook(server, query: str, runbook: str) -> None:
    found = await search(server, query)
    assert found["hits"][0]["runbook_id"] == runbook
    assert found["hits"][0]["score"] >= 0.5


async def test_scores_are_calibrated_and_never_rise_down_the_list(server) -> None:
    found = await search(server, "KubePodCrashLooping", n=10)
    scores = [hit["score"] for hit in found["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] >= 0.9 and scores[-1] < scores[0]


async def test_an_off_topic_question_is_told_no_runbook_covers_it(server) -> None:
    async with Client(server) as client:
        answer = await client.call_tool("ask_knowledge_base", {"question": "what's the office wifi password?"})
        searched = await client.call_tool("search_runbooks", {"query": "what's the office wifi password?"})
        error = await client.call_tool("find_runbooks_for_error", {"error_text": "what's the office wifi password?"})
    assert answer.structured_content["method"] == "not_found"
    assert answer.structured_content["answer"] == "The runbooks do not cover this."
    hits = searched.structured_content["hits"]
    assert hits and hits[0]["score"] < NO_MATCH_BELOW, "the nearest sections are still listed, scored as weak"
    assert searched.structured_content["hint"].startswith("weak matches only")
    assert error.structured_content["matches"] == []


async def test_a_pasted_error_gets_the_runbook_and_its_mitigation(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "find_runbooks_for_error",
            {"error_text": "2026-11-30T04:11:36Z E1130 etcd-main-0 etcdserver: no leader (term 42)"},
        )
    match = result.structured_content["matches"][0]
    assert match["runbook_id"] == "etcd-etcd-no-leader"
    assert "disaster and recovery" in match["mitigation"].lower()
    assert match["mitigation_uri"] == "runbook://etcd-etcd-no-leader/mitigation"


async def find_for_error(server: MCPServer[Any], error: str) -> dict[str, Any]:
    async with Client(server) as client:
        result = await client.call_tool("find_runbooks_for_error", {"error_text": error})
    assert not result.is_error, result.content[0].text
    return result.structured_content["matches"][0]


async def test_on_a_page_of_many_problems_the_mitigation_is_the_matched_problems_own(rook, server_for) -> None:
    """rook's ceph-common-issues.md holds 16 problems, most with a `### Solution`: the fix shown for an error is the
    one under the problem that matched, not the page's first Solution (another problem's)."""
    server = server_for(rook)
    match = await find_for_error(
        server,
        "2017-10-31 20:13:11.187233 I | mkfs-osd0: 2017-10-31 20:13:11.187038 7f0059d62e00 -1 "
        "bluestore(/var/lib/rook/osd0) mkfs failed, (17) File exists",
    )
    assert match["runbook_id"] == "ceph-common-issues"
    assert match["matched_section"].startswith("OSD pods are failing to start")
    assert match["mitigation_uri"] == "runbook://ceph-common-issues/osd-pods-are-failing-to-start-solution"
    assert "delete the contents of `/var/lib/rook`" in match["mitigation"]

    whole = await find_for_error(server, "libceph: connect [monitor-ip]:6789 error -101")
    assert whole["matched_section"] == "Node hangs after reboot"  # its Solution is inside it
    assert whole.get("mitigation") is None and whole.get("mitigation_uri") is None  # not another problem's
