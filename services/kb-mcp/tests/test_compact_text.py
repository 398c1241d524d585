"""What the model reads from kb-mcp's answers: runbook Markdown unescaped, one line saying where it comes from."""

from __future__ import annotations

from kb_mcp.models import Answer, Citation, ErrorLookup, ErrorMatch, SearchHit, SearchResult
from mcp_common.protocol import compact_result

SECTION = "1. Raise the limit:\n   kubectl set resources deploy/payment-gateway --limits=memory=1Gi\n2. Roll back"


def test_search_sections_keep_their_markdown() -> None:
    result = SearchResult(
        query="oom",
        hits=[
            SearchHit(
                runbook_id="pod-oom",
                title="Pod OOMKilled",
                section="Mitigation",
                team="platform",
                score=0.91,
                uri="runbook://pod-oom/mitigation",
                text=SECTION,
            )
        ],
        hint="the whole runbook at runbook://pod-oom",
    )
    sent = compact_result(result)
    assert sent.content[0].text == (
        "query: oom · hint: the whole runbook at runbook://pod-oom · 1 sections\n\n"
        "[1] Pod OOMKilled — Mitigation · score 0.91 · team platform · runbook://pod-oom/mitigation\n" + SECTION
    )
    assert sent.structured_content["hits"][0]["text"] == SECTION


def test_error_lookup_shows_the_matched_lines_then_the_mitigation() -> None:
    lookup = ErrorLookup(
        signature="java.lang.OutOfMemoryError: Java heap space",
        matches=[
            ErrorMatch(
                runbook_id="pod-oom",
                title="Pod OOMKilled",
                score=0.8,
                matched_section="Symptoms",
                matched_uri="runbook://pod-oom/symptoms",
                excerpt="- exit code 137",
                mitigation=SECTION,
                mitigation_uri="runbook://pod-oom/mitigation",
                uri="runbook://pod-oom",
            )
        ],
    )
    text = lookup.compact_text()
    assert text.splitlines()[2] == "[1] Pod OOMKilled · score 0.80 · runbook://pod-oom"
    assert "matched Symptoms (runbook://pod-oom/symptoms):\n- exit code 137" in text
    assert text.endswith("Mitigation (runbook://pod-oom/mitigation):\n" + SECTION)


def test_an_answer_names_how_it_was_made_and_its_sources() -> None:
    answer = Answer(
        question="How do I stop the OOM loop?",
        answer="Raise the memory limit [1].",
        method="sampling",
        model="claude-x",
        citations=[
            Citation(
                runbook_id="pod-oom", section="Mitigation", title="Pod OOMKilled", uri="runbook://pod-oom/mitigation"
            )
        ],
    )
    assert answer.compact_text() == (
        "Raise the memory limit [1].\n\n(sampling by claude-x)\n\n"
        "Sources:\n- Pod OOMKilled — Mitigation: runbook://pod-oom/mitigation"
    )
