"""`sre-lab investigate` on a whole stack: the playbook finds the root cause, the JSON report follows its
documented schema, and the agent loop works with a scripted model at the model boundary (real servers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sre_lab.investigate import ModelTurn, Report, ToolUse, investigate, render_markdown, report_schema

pytestmark = [pytest.mark.anyio, pytest.mark.stack]
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "lab" / "investigation-report.schema.json"
DRILL4 = "The payment gateway seems degraded."


@pytest.fixture(scope="module")
async def playbook_report(stack) -> Report:
    return await investigate(stack, DRILL4)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def test_playbook_finds_the_root_cause(playbook_report: Report) -> None:
    root = playbook_report.synthesis.probable_root_cause
    assert "payment-gateway" in root and "OOMKilled at the 512Mi memory limit" in root
    assert "BatchReconciliation" in root and "2.1M transactions" in root
    k8s = playbook_report.kubernetes
    assert [p.name for p in k8s.failing_pods] == ["payment-gw-def34", "payment-gw-ghi56"]
    assert any("java.lang.OutOfMemoryError" in line for line in k8s.crash_log)


async def test_findings_link_across_servers(playbook_report: Report) -> None:
    logs = playbook_report.logs
    assert set(logs.pods_matching_kubernetes) == {"payment-gw-def34", "payment-gw-ghi56"}, "log hosts are k8s pods"
    assert logs.first_error is not None and "OutOfMemoryError" in logs.first_error["message"]
    assert logs.incident_start is not None
    abc = next(t for t in logs.affected_traces if t["trace_id"] == "tx-abc123")
    assert {"payment-gateway", "fraud-detection"} <= set(abc["services"]) and abc["has_error"]
    matched = {c.matched for c in playbook_report.runbooks.sections}
    assert "java.lang.OutOfMemoryError: Java heap space" in matched, "the crash signature led to the runbooks"


async def test_the_oom_and_pod_crash_runbooks_are_cited(playbook_report: Report) -> None:
    cited = {c.runbook_id for c in playbook_report.runbooks.sections}
    assert {"pod-crash", "oom-jvm-heap"} <= cited
    sources = [step.source for step in playbook_report.synthesis.next_steps]
    assert sources and all(s.startswith("runbook://") for s in sources)
    assert any(s.startswith(("runbook://oom-jvm-heap", "runbook://pod-crash")) for s in sources)


async def test_every_call_is_listed_in_order_with_a_one_line_result(playbook_report: Report) -> None:
    calls = playbook_report.calls
    assert [c.step for c in calls] == list(range(1, len(calls) + 1))
    assert {c.server for c in calls} == {"k8s-mcp", "logs-mcp", "kb-mcp"}
    assert all(c.ok and c.summary and "\n" not in c.summary for c in calls)
    assert playbook_report.limits.reached is None
    markdown = render_markdown(playbook_report)
    for heading in ("## Tool calls", "## Kubernetes", "## Logs", "## Runbooks", "## Synthesis"):
        assert heading in markdown


async def test_json_report_follows_the_documented_schema(playbook_report: Report) -> None:
    documented = json.loads(SCHEMA_FILE.read_text())
    assert documented == report_schema(), "regenerate lab/investigation-report.schema.json (see lab/README.md)"
    jsonschema.validate(json.loads(playbook_report.model_dump_json()), documented)


class ScriptedModel:
    """Stands in for Claude at the model boundary: replays turns, records what it was shown."""

    def __init__(self, turns: list[ModelTurn]) -> None:
        self.turns = list(turns)
        self.seen: list[list[dict[str, Any]]] = []
        self.tools: list[dict[str, Any]] = []

    async def respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn:
        self.seen.append(json.loads(json.dumps(messages)))
        self.tools = tools
        return (
            self.turns.pop(0)
            if self.turns
            else ModelTurn(tool_uses=[ToolUse(id="again", name="k8s__list_namespaces", input={})])
        )


async def test_agent_loop_drives_the_real_servers(stack) -> None:
    model = ScriptedModel(
        [
            ModelTurn(
                text="Checking the deployment first.",
                tool_uses=[
                    ToolUse(
                        id="t1",
                        name="k8s__diagnose_deployment",
                        input={"namespace": "payments", "name": "payment-gateway"},
                    )
                ],
            ),
            ModelTurn(
                tool_uses=[
                    ToolUse(id="t2", name="logs__search_logs", input={"keyword": "OutOfMemoryError", "level": "ERROR"}),
                    ToolUse(id="t3", name="kb__find_runbooks_for_error", input={"error_text": "OOMKilled"}),
                    ToolUse(id="t4", name="k8s__list_pods", input={"namespace": "kube-system"}),
                ]
            ),
            ModelTurn(text="Root cause: payment-gateway OOMKilled at 512Mi during BatchReconciliation."),
        ]
    )
    report = await investigate(stack, DRILL4, model=model)
    assert report.driver == "agent"
    assert [(c.server, c.tool) for c in report.calls] == [
        ("k8s-mcp", "diagnose_deployment"),
        ("logs-mcp", "search_logs"),
        ("kb-mcp", "find_runbooks_for_error"),
        ("k8s-mcp", "list_pods"),
    ]
    assert not report.calls[3].ok and "not allowed" in report.calls[3].summary
    assert report.synthesis.model_summary.startswith("Root cause: payment-gateway OOMKilled")
    assert "OOMKilled" in report.kubernetes.verdict, "the agent's results feed the same findings"
    tool_names = {t["name"] for t in model.tools}
    assert {"k8s__diagnose_deployment", "logs__trace_transaction", "kb__search_runbooks"} <= tool_names
    results = model.seen[2][-1]["content"]
    assert [r["tool_use_id"] for r in results] == ["t2", "t3", "t4"]
    assert "java.lang.OutOfMemoryError" in results[0]["content"] and results[2]["is_error"] is True


async def test_agent_that_never_stops_hits_the_step_limit(stack) -> None:
    report = await investigate(stack, DRILL4, model=ScriptedModel([]), max_steps=3)
    assert report.limits.reached == "steps" and "3 tool calls" in (report.limits.message or "")
    assert len(report.calls) == 3
    assert "Limit reached" in render_markdown(report)
