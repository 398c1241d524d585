"""`sre-lab investigate` on a whole stack: the playbook finds the root cause, the JSON report follows its
documented schema, and the agent loop works with a scripted model at the model boundary (real servers)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from sre_lab.investigate import CallRecord, ModelTurn, Report, ToolUse, investigate, render_markdown, report_schema
from sre_lab.investigate.render import sparkline, text_report

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


# -- a report people can use (issue 14, deliverable 3) ---------------------------------------------------


@pytest.fixture(scope="module")
async def other_reports(stack) -> dict[str, Report]:
    return {symptom: await investigate(stack, symptom) for symptom in ("checkout is slow", "auth errors", "redis")}


async def test_the_symptom_steers_what_is_searched(playbook_report: Report, other_reports: dict[str, Report]) -> None:
    drill, slow, auth, redis = playbook_report, *other_reports.values()
    assert drill.kubernetes.deployment == "payment-gateway"
    assert any("'payment gateway' → Deployment payments/payment-gateway" in m for m in drill.focus.matched)
    assert "latency" in slow.focus.topics and "timed out" in slow.focus.keywords and slow.focus.slow_queries
    searched = [c.arguments.get("keyword") for c in slow.calls if c.tool == "search_logs"]
    assert "timed out" in searched
    timeouts = next(h for h in slow.logs.keyword_hits if h["keyword"] == "timed out")
    assert "card-network-gateway" in timeouts["services"] and timeouts["lines"] > 0
    assert auth.kubernetes.deployment == "auth-service" and auth.focus.services[0] == "auth-service"
    assert "auth/auth-service is healthy" in auth.synthesis.probable_root_cause, "says the named workload is fine"
    assert redis.focus.services == ["redis"] and redis.logs.timeline_service == "redis"
    assert (redis.kubernetes.kind, redis.kubernetes.deployment) == ("StatefulSet", "redis-primary")
    assert any(h["keyword"] == "Redis" and "fraud-detection" in h["services"] for h in redis.logs.keyword_hits)
    runbook_queries = {c.arguments.get("query") for r in (slow, auth, redis) for c in r.calls}
    assert {"checkout is slow", "auth errors", "redis"} <= runbook_queries, "the runbooks are searched for the symptom"
    assert len({json.dumps(r.focus.model_dump()) for r in (drill, slow, auth, redis)}) == 4


async def test_the_first_error_is_the_oldest_of_the_window(playbook_report: Report, stack) -> None:
    first = playbook_report.logs.first_error
    assert first is not None and first["message"] == "java.lang.OutOfMemoryError: Java heap space"
    assert first["host"] == "payment-gw-def34"
    # def34's crash loop began 3 h 46 min before the scenario clock: inside the 6 h window, before any other error
    now = datetime.fromisoformat(playbook_report.scenario_now.replace("Z", "+00:00"))
    at = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00"))
    assert timedelta(hours=3, minutes=40) < now - at < timedelta(hours=3, minutes=52)


async def test_stack_frames_fold_into_their_error(playbook_report: Report) -> None:
    signatures = [e["signature"] for e in playbook_report.logs.top_errors]
    assert not [s for s in signatures if s.lstrip().startswith("at ")], signatures
    oom = next(e for e in playbook_report.logs.top_errors if e["signature"].startswith("java.lang.OutOfMemoryError"))
    assert any("BatchReconciliation.loadAllTransactions" in frame for frame in oom["frames"])


async def test_placeholders_survive_in_markdown_and_text(playbook_report: Report) -> None:
    markdown = render_markdown(playbook_report)
    html = MarkdownIt("commonmark").render(markdown)
    assert "Transaction &lt;id&gt; rejected" in html and "Transaction  rejected" not in html
    text = text_report(playbook_report, width=72)
    assert "Transaction <id> rejected: circuit breaker OPEN" in " ".join(text.split())


async def test_text_wraps_instead_of_cropping(playbook_report: Report) -> None:
    text = text_report(playbook_report, width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    flat = " ".join(text.split())
    assert " ".join(playbook_report.synthesis.probable_root_cause.split()) in flat
    for section in playbook_report.runbooks.sections:
        assert section.uri in flat.replace(" ", "") or section.uri in flat, section.uri


async def test_the_error_timeline_is_drawn(playbook_report: Report) -> None:
    logs = playbook_report.logs
    assert logs.timeline and logs.timeline_service == "payment-gateway"
    bars = sparkline(logs.timeline)
    assert len(bars) == len(logs.timeline) and "█" in bars and bars[0] == "▁"
    peak = max(range(len(logs.timeline)), key=lambda i: logs.timeline[i].errors)
    assert bars[peak] == "█" and all(bar == "▁" for bar, p in zip(bars, logs.timeline, strict=True) if not p.errors)
    text = text_report(playbook_report, width=200)
    assert bars in text and f"Errors per {logs.timeline_bucket} (payment-gateway)" in text
    markdown = render_markdown(playbook_report)
    chart = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert chart.startswith("xychart-beta") and f"bar [{', '.join(str(p.errors) for p in logs.timeline)}]" in chart


async def test_each_call_is_shown_as_it_runs(stack) -> None:
    seen: list[str] = []

    class Watch:
        def start(self, server: str, tool: str, arguments: dict[str, Any]) -> None:
            seen.append(f"start {tool}")

        def done(self, call: CallRecord) -> None:
            seen.append(f"done {call.tool}")

    report = await investigate(stack, "redis", progress=Watch(), max_steps=4)
    assert seen == [f"{edge} {c.tool}" for c in report.calls for edge in ("start", "done")]
