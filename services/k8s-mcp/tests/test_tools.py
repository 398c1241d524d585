"""Every tool and its error paths through the SDK's in-memory client, on the lab's incident snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from mcp_common.audit import verify

pytestmark = pytest.mark.anyio


async def call(server, tool: str, **arguments):
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


async def test_drill3_list_pods_finds_failing_pods(make_server) -> None:
    result = await call(make_server(), "list_pods", namespace="payments")
    assert not result.is_error
    data = result.structured_content
    pods = {p["name"]: p for p in data["items"]}
    assert data["total"] > 0 and data["summary"]["not_ready"] > 0
    for name, restarts in [("payment-gw-def34", 47), ("payment-gw-ghi56", 32)]:
        assert pods[name]["status"] == "CrashLoopBackOff"
        assert pods[name]["restarts"] == restarts and pods[name]["ready"] == "0/1"
        assert pods[name]["memory_limit"] == "512Mi"
        assert pods[name]["last_termination"].startswith("Terminated (OOMKilled, exit code 137)")
    for name in ["payment-gw-abc12", "payment-gw-jkl78", "payment-gw-mno90", "redis-primary-0"]:
        assert pods[name]["status"] == "Running"
    assert pods["payment-gw-abc12"]["age"] == "3d" and pods["payment-gw-abc12"]["node"] == "worker-01"


async def test_status_filter_keeps_the_whole_namespace_summary(make_server) -> None:
    result = await call(make_server(), "list_pods", namespace="payments", status_filter="CrashLoopBackOff")
    data = result.structured_content
    assert [p["name"] for p in data["items"]] == ["payment-gw-def34", "payment-gw-ghi56"]
    # not ready: the two crash loops, and the lab's failed Job's two attempts (Error)
    assert data["summary"]["running"] >= 5 and data["summary"]["not_ready"] == 4


async def test_drill3_previous_logs_show_the_oom(make_server) -> None:
    result = await call(make_server(), "get_pod_logs", namespace="payments", pod_name="payment-gw-def34", previous=True)
    data = result.structured_content
    text = "\n".join(data["lines"])
    assert "java.lang.OutOfMemoryError: Java heap space" in text
    assert "BatchReconciliation.loadAllTransactions(BatchReconciliation.java:142)" in text
    assert data["previous"] is True and data["container"] == "payment-svc" and data["returned"] == 13


async def test_current_logs_are_the_short_startup(make_server) -> None:
    server = make_server()
    result = await call(server, "get_pod_logs", namespace="payments", pod_name="payment-gw-def34")
    assert "OutOfMemoryError" not in json.dumps(result.structured_content)
    assert 1 <= result.structured_content["returned"] <= 5


async def test_logs_lines_are_clamped_and_grep_filters(make_server) -> None:
    server = make_server()
    async with Client(server) as client:
        one = await client.call_tool(
            "get_pod_logs", {"namespace": "payments", "pod_name": "payment-gw-def34", "previous": True, "lines": -5}
        )
        grep = await client.call_tool(
            "get_pod_logs",
            {"namespace": "payments", "pod_name": "payment-gw-def34", "previous": True, "grep": "gc", "lines": 99999},
        )
    assert one.structured_content["returned"] == 1 and one.structured_content["truncated"] is True
    assert grep.structured_content["returned"] == 2
    assert all("GC" in line for line in grep.structured_content["lines"])


async def test_no_previous_container_is_a_clear_error(make_server) -> None:
    result = await call(make_server(), "get_pod_logs", namespace="payments", pod_name="payment-gw-abc12", previous=True)
    assert result.is_error and "no previous" in result.content[0].text and "previous=false" in result.content[0].text


async def test_describe_pod_explains_the_crash_and_hides_secrets(make_server) -> None:
    result = await call(make_server(), "describe_pod", namespace="payments", pod_name="payment-gw-def34")
    data = result.structured_content
    (container,) = data["containers"]
    assert container["state"] == "Waiting (CrashLoopBackOff)"
    assert container["last_state"].startswith("Terminated (OOMKilled, exit code 137)")
    assert container["limits"]["memory"] == "512Mi" and container["requests"]["memory"] == "256Mi"
    assert container["liveness_probe"].startswith("HTTP GET /health :8080 delay=10s timeout=3s period=10s")
    assert container["env"]["DB_PASSWORD"] == "<secret payment-db/password>"
    assert container["env"]["CARD_NETWORK_API_KEY"] == "***"
    assert data["node"] == "worker-02" and data["ip"] == "10.244.2.15"
    reasons = [e["reason"] for e in data["events"]]
    assert "OOMKilled" in reasons and "BackOff" in reasons
    assert any(c["type"] == "Ready" and c["status"] == "False" for c in data["conditions"])


async def test_list_deployments(make_server) -> None:
    data = (await call(make_server(), "list_deployments", namespace="payments")).structured_content
    gateway = next(d for d in data["items"] if d["name"] == "payment-gateway")
    assert gateway["ready"] == "3/5" and gateway["desired"] == 5 and gateway["available"] == 3
    assert gateway["images"] == ["visa/payment-gw:v2.3.1"] and gateway["age"] == "45d"


async def test_events_newest_first_and_filters(make_server) -> None:
    server = make_server()
    async with Client(server) as client:
        warnings = await client.call_tool("get_events", {"namespace": "payments", "event_type": "Warning"})
        scaling = await client.call_tool(
            "get_events", {"namespace": "payments", "involved_object": "deployment/payment-gateway"}
        )
        limited = await client.call_tool("get_events", {"namespace": "payments", "limit": 1})
    items = warnings.structured_content["items"]
    assert {e["type"] for e in items} == {"Warning"}
    assert {"OOMKilled", "BackOff"} <= {e["reason"] for e in items}
    assert [e["last_seen"] for e in items] == sorted((e["last_seen"] for e in items), reverse=True)
    scale_event = next(e for e in scaling.structured_content["items"] if e["reason"] == "ScalingReplicaSet")
    assert scale_event["age"] == "23m" and "to 5" in scale_event["message"]
    assert limited.structured_content["truncated"] is True and len(limited.structured_content["items"]) == 1


async def test_list_namespaces_shows_only_allowed(make_server) -> None:
    data = (await call(make_server(), "list_namespaces")).structured_content
    assert [n["name"] for n in data["items"]] == ["payments", "auth", "monitoring", "default"]
    assert "kube-system" not in json.dumps(data) and "vault" not in json.dumps(data)


async def test_diagnose_deployment_gives_the_verdict(make_server) -> None:
    data = (
        await call(make_server(), "diagnose_deployment", namespace="payments", name="payment-gateway")
    ).structured_content
    assert data["health"] == "degraded"
    assert data["verdict"].startswith("2/5 pods OOMKilled at 512Mi limit (restarts 47, 32)")
    assert "java.lang.OutOfMemoryError: Java heap space in BatchReconciliation.loadAllTransactions" in data["verdict"]
    assert data["log_source"] == "payment-gw-def34/payment-svc (previous container)"
    assert any("previous=true" in step for step in data["next_steps"])


async def test_diagnose_healthy_deployment(make_server) -> None:
    data = (await call(make_server(), "diagnose_deployment", namespace="auth", name="auth-service")).structured_content
    assert data["health"] == "healthy" and data["verdict"].startswith("healthy:")


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "list_pods",
            {"namespace": "hacker-namespace"},
            "namespace 'hacker-namespace' is not allowed; allowed: payments",
        ),
        ("list_pods", {"namespace": "kube-system"}, "is not allowed"),
        ("list_pods", {"namespace": "vault"}, "is not allowed"),
        ("list_pods", {"namespace": "payments; rm -rf /"}, "not a valid name"),
        (
            "list_pods",
            {"namespace": "payments", "status_filter": "Exploded"},
            "status_filter 'Exploded' is not a status list_pods prints; use a category (failing, pending",
        ),
        ("get_pod_logs", {"namespace": "payments", "pod_name": "../../etc/passwd"}, "not a valid name"),
        ("get_pod_logs", {"namespace": "payments", "pod_name": "payment-gw-zzz99"}, "pod 'payment-gw-zzz99' not found"),
        (
            "get_pod_logs",
            {"namespace": "payments", "pod_name": "payment-gw-def34", "container": "sidecar"},
            "containers: payment-svc",
        ),
        ("get_pod_logs", {"namespace": "payments", "pod_name": "x" * 300}, "too long"),
        ("describe_pod", {"namespace": "auth", "pod_name": "payment-gw-def34"}, "not found; available: auth-svc"),
        ("get_events", {"namespace": "payments", "event_type": "Error"}, "is not one of Warning, Normal"),
        ("get_events", {"namespace": "payments", "limit": 0}, "out of range; allowed 1..200"),
        ("get_events", {"namespace": "payments", "involved_object": "p0d$/x"}, "is not a kind"),
        ("diagnose_deployment", {"namespace": "payments", "name": "nope"}, "deployment 'nope' not found; available:"),
        ("list_deployments", {}, "'namespace' is a required argument"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(make_server, tool: str, arguments: dict, expected: str) -> None:
    result = await call(make_server(), tool, **arguments)
    assert result.is_error
    assert expected in result.content[0].text


async def test_read_tools_are_annotated_and_scale_is_absent_by_default(make_server) -> None:
    async with Client(make_server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "list_namespaces",
        "list_pods",
        "get_pod_logs",
        "describe_pod",
        "list_deployments",
        "get_events",
        "diagnose_workload",
        "diagnose_deployment",
        "list_statefulsets",
        "list_daemonsets",
        "list_jobs",
        "list_cronjobs",
    }
    assert all(t.annotations.read_only_hint for t in tools.values())
    assert "Init:*" in tools["list_pods"].input_schema["properties"]["status_filter"]["description"]


async def test_every_call_is_audited_including_rejections(make_server, tmp_path: Path) -> None:
    async with Client(make_server()) as client:
        await client.call_tool("list_pods", {"namespace": "payments"})
        await client.call_tool("list_pods", {"namespace": "hacker-namespace"})
        await client.call_tool("get_events", {"namespace": "payments", "limit": 10_000})
    audit = tmp_path / "audit.jsonl"
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["tool"], line["outcome"]) for line in lines] == [
        ("list_pods", "ok"),
        ("list_pods", "rejected"),
        ("get_events", "rejected"),
    ]
    assert lines[1]["arguments"] == {"namespace": "hacker-namespace"} and lines[0]["server"] == "k8s-mcp"
    assert verify(audit).ok


async def test_investigate_incident_prompt(make_server) -> None:
    async with Client(make_server()) as client:
        listed = [p.name for p in (await client.list_prompts()).prompts]
        prompt = await client.get_prompt(
            "investigate_incident", {"service": "payment-gateway", "symptom": "checkout is slow"}
        )
        bad = None
        try:
            await client.get_prompt("investigate_incident", {"service": "Payment Gateway!", "symptom": "x"})
        except Exception as exc:  # a protocol error is the expected shape for a bad prompt argument
            bad = str(exc)
    assert listed == ["investigate_incident"]
    text = prompt.messages[0].content.text
    assert "diagnose_deployment for payment-gateway" in text and "previous=true" in text
    assert bad is not None and "not a valid name" in bad
