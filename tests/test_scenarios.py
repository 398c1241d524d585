"""One set of incident scenarios, run against a whole stack: `--stack embedded` (default: every server as a
local process over stdio, what CI runs) or `--stack compose` (the running compose lab, via docker exec)."""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError

pytestmark = [pytest.mark.anyio, pytest.mark.stack]


async def test_list_pods_finds_the_failing_pods(stack) -> None:
    async with stack.client("k8s-mcp") as client:
        result = await client.call_tool("list_pods", {"namespace": "payments"})
    data = result.structured_content
    assert data["summary"]["not_ready"] == 4  # the two crash loops, and the failed Job's two attempts
    failing = {p["name"]: p["status"] for p in data["items"] if p["status"] not in ("Running", "Completed")}
    assert failing == {
        "payment-gw-def34": "CrashLoopBackOff",
        "payment-gw-ghi56": "CrashLoopBackOff",
        "ledger-backfill-7m2qk": "Error",
        "ledger-backfill-x9d4t": "Error",
    }


async def test_previous_logs_of_the_crashed_pod_show_the_oom(stack) -> None:
    async with stack.client("k8s-mcp") as client:
        result = await client.call_tool(
            "get_pod_logs", {"namespace": "payments", "pod_name": "payment-gw-def34", "previous": True}
        )
    assert "java.lang.OutOfMemoryError: Java heap space" in "\n".join(result.structured_content["lines"])


async def test_a_namespace_outside_the_allowlist_is_refused(stack) -> None:
    async with stack.client("k8s-mcp") as client:
        result = await client.call_tool("list_pods", {"namespace": "hacker-namespace"})
    assert result.is_error and "not allowed" in result.content[0].text


async def test_search_logs_finds_the_oom(stack) -> None:
    async with stack.client("logs-mcp") as client:
        result = await client.call_tool(
            "search_logs", {"keyword": "OutOfMemoryError", "level": "ERROR", "time_range": "1h"}
        )
    text = json.dumps(result.structured_content)
    assert not result.is_error and "java.lang.OutOfMemoryError" in text and "payment-gateway" in text


async def test_trace_abc123_crosses_gateway_and_fraud_detection(stack) -> None:
    async with stack.client("logs-mcp") as client:
        result = await client.call_tool("trace_transaction", {"trace_id": "tx-abc123"})
    data = result.structured_content
    assert {"payment-gateway", "fraud-detection"} <= set(data["services"])
    assert data["has_error"] is True


async def test_the_pod_crash_runbook_answers_pods_restarting_out_of_memory(stack) -> None:
    async with stack.client("kb-mcp") as client:
        result = await client.call_tool("search_runbooks", {"query": "pods keep restarting out of memory"})
    top = [hit["runbook_id"] for hit in result.structured_content["hits"]]
    assert top[0] in {"pod-crash", "oom-jvm-heap"}


async def test_sql_injection_text_is_a_literal_search(stack) -> None:
    async with stack.client("logs-mcp") as client:
        injected = await client.call_tool("search_logs", {"keyword": "'; DROP TABLE application_logs; --"})
        after = await client.call_tool("search_logs", {"keyword": "OutOfMemoryError", "time_range": "1h"})
    assert not injected.is_error and injected.structured_content["count"] == 0, "a literal that no line contains"
    assert not after.is_error and after.structured_content["count"] > 0, "the table is still there"


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("k8s-mcp", "diagnose_deployment for payment-gateway"),
        ("logs-mcp", 'error_timeline(service="payment-gateway"'),
        ("kb-mcp", "find_runbooks_for_error"),
    ],
)
async def test_every_server_offers_the_investigate_incident_prompt(stack, server: str, expected: str) -> None:
    async with stack.client(server) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        arguments = {a.name for a in prompts["investigate_incident"].arguments or []}
        rendered = await client.get_prompt(
            "investigate_incident", {"service": "payment-gateway", "symptom": "the payment gateway seems degraded"}
        )
        with pytest.raises(MCPError, match="not a"):
            await client.get_prompt("investigate_incident", {"service": "Payment Gateway!", "symptom": "x"})
    assert arguments == {"service", "symptom"}
    text = rendered.messages[0].content.text
    assert expected in text and "the payment gateway seems degraded" in text
