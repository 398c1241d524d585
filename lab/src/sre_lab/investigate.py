"""`sre-lab investigate`: one incident investigation across the three servers, as a real MCP client.

Two drivers share one session and one report:
- the playbook (default): a fixed, model-free walk — Kubernetes diagnosis → the crashed pod's log → the
  log store's timeline, error signatures, matching lines and traces → the runbook sections for the error
  signatures — followed by a synthesis built only from what the tools returned;
- the agent: a model (Claude when ANTHROPIC_API_KEY is set) gets the three servers' tools and decides
  itself; every tool call it makes is recorded the same way.
Both are bounded by a step limit and a time limit, and say so when they hit one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from mcp import Client
from pydantic import BaseModel, Field

REPORT_SCHEMA_VERSION = "sre-lab-investigation/v1"
SERVER_OF_PREFIX = {"k8s": "k8s-mcp", "logs": "logs-mcp", "kb": "kb-mcp"}


# -- the report (its JSON form is the documented schema: `sre-lab investigate --format json`) -------------


class CallRecord(BaseModel):
    step: int
    server: str
    tool: str
    arguments: dict[str, Any]
    ok: bool
    summary: str = Field(description="One line: what the call returned (or its error).")
    duration_ms: float


class FailingPod(BaseModel):
    name: str
    status: str
    restarts: int
    last_termination: str | None = None
    memory_limit: str | None = None


class KubernetesFindings(BaseModel):
    namespace: str | None = None
    deployment: str | None = None
    health: str | None = None
    verdict: str | None = None
    failing_pods: list[FailingPod] = []
    crash_log: list[str] = Field(default=[], description="The crashed container's last lines (previous=true).")
    warning_events: list[str] = []


class LogFindings(BaseModel):
    incident_start: str | None = Field(default=None, description="First bucket whose error rate rose above baseline.")
    peak: str | None = None
    baseline_error_rate: float | None = None
    first_error: dict[str, Any] | None = Field(default=None, description="The earliest matching ERROR line.")
    top_errors: list[dict[str, Any]] = Field(default=[], description="Normalized error signatures, most first.")
    error_hosts: list[str] = Field(default=[], description="Hosts (pod names) in the matching error lines.")
    pods_matching_kubernetes: list[str] = Field(default=[], description="Error hosts that are failing k8s pods.")
    affected_traces: list[dict[str, Any]] = []
    slow_queries: list[dict[str, Any]] = []


class RunbookCitation(BaseModel):
    runbook_id: str
    title: str
    section: str
    uri: str
    matched: str = Field(description="The error signature or query that led here.")
    excerpt: str


class RunbookFindings(BaseModel):
    sections: list[RunbookCitation] = []


class NextStep(BaseModel):
    action: str
    source: str = Field(description="runbook:// URI the step comes from.")


class Synthesis(BaseModel):
    probable_root_cause: str
    impact: list[str]
    next_steps: list[NextStep]
    model_summary: str | None = Field(default=None, description="The agent's own conclusion (agent driver only).")


class Limits(BaseModel):
    max_steps: int
    max_seconds: float
    reached: Literal["steps", "time"] | None = None
    message: str | None = None


class Report(BaseModel):
    schema_version: str = REPORT_SCHEMA_VERSION
    symptom: str
    stack: str
    driver: Literal["playbook", "agent"]
    started_at: str
    duration_s: float
    calls: list[CallRecord]
    kubernetes: KubernetesFindings
    logs: LogFindings
    runbooks: RunbookFindings
    synthesis: Synthesis
    limits: Limits


# -- the session: three MCP clients, every call recorded and bounded ------------------------------------


class LimitReached(Exception):
    def __init__(self, which: Literal["steps", "time"], message: str) -> None:
        super().__init__(message)
        self.which = which


class StackLike(Protocol):
    kind: str

    def client(self, name: str) -> Client: ...


@dataclass
class Session:
    clients: dict[str, Client]
    max_steps: int
    max_seconds: float
    findings: Findings
    clock: Callable[[], float] = time.monotonic
    calls: list[CallRecord] = field(default_factory=list)
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Call a tool; record it; return its structured result (None when it failed)."""
        if len(self.calls) >= self.max_steps:
            raise LimitReached("steps", f"stopped after {self.max_steps} tool calls (--max-steps)")
        if self.clock() - self.started > self.max_seconds:
            raise LimitReached("time", f"stopped after {self.max_seconds:g} s (--max-seconds)")
        began = time.perf_counter()
        try:
            result = await self.clients[server].call_tool(tool, arguments)
        except Exception as exc:  # a transport failure is a finding of the investigation, not a crash
            self._record(server, tool, arguments, False, f"call failed: {type(exc).__name__}: {exc}"[:200], began)
            return None
        data = result.structured_content
        if result.is_error or data is None:
            text = result.content[0].text if result.content and hasattr(result.content[0], "text") else "error"
            self._record(server, tool, arguments, False, f"error: {text}"[:200], began)
            return None
        self._record(server, tool, arguments, True, summarize(tool, data), began)
        self.findings.absorb(tool, arguments, data)
        return data

    def _record(self, server: str, tool: str, arguments: dict[str, Any], ok: bool, summary: str, began: float) -> None:
        self.calls.append(
            CallRecord(
                step=len(self.calls) + 1,
                server=server,
                tool=tool,
                arguments=arguments,
                ok=ok,
                summary=summary,
                duration_ms=round((time.perf_counter() - began) * 1000, 1),
            )
        )


async def open_session(stack: StackLike, exits: AsyncExitStack, max_steps: int, max_seconds: float) -> Session:
    clients = {}
    for name in ("k8s-mcp", "logs-mcp", "kb-mcp"):
        clients[name] = await exits.enter_async_context(stack.client(name))
    return Session(clients, max_steps=max_steps, max_seconds=max_seconds, findings=Findings())


def summarize(tool: str, data: dict[str, Any]) -> str:
    """One line per tool result for the report's call list."""
    if tool == "list_pods":
        s = data["summary"]
        return f"{data['namespace']}: {s['total']} pods, {s['running']} running, {s['not_ready']} not ready"
    if tool == "diagnose_deployment":
        return f"{data['health']}: {data['verdict']}"
    if tool == "get_pod_logs":
        last = data["lines"][-1] if data["lines"] else "(no lines)"
        return (
            f"{data['returned']} lines of {data['pod']}{' (previous)' if data['previous'] else ''}; last: {last[:120]}"
        )
    if tool in ("list_deployments", "get_events", "list_namespaces"):
        return f"{len(data['items'])} {tool.removeprefix('list_').removeprefix('get_')}"
    if tool == "search_logs":
        return f"{data['count']} lines{' (truncated)' if data['truncated'] else ''}"
    if tool == "count_errors":
        top = data["groups"][0]["key"] if data["groups"] else "none"
        return f"{data['total_errors']} errors in {data['total_groups']} groups; top: {top[:100]}"
    if tool == "error_timeline":
        rise = data.get("first_rise")
        return f"first rise {rise['at']} ({rise['error_rate']:.1%})" if rise else "no rise above baseline"
    if tool == "trace_transaction":
        return (
            f"{data['trace_id']}: {' → '.join(data['services'])}, {data['duration_ms']} ms, error={data['has_error']}"
        )
    if tool == "get_slow_queries":
        return f"{data['count']} slow queries" + (
            f"; slowest {data['queries'][0]['duration_ms']} ms" if data["queries"] else ""
        )
    if tool == "find_runbooks_for_error":
        return "; ".join(f"{m['runbook_id']} ({m['score']:.2f})" for m in data["matches"][:3]) or "no runbook"
    if tool == "search_runbooks":
        return "; ".join(f"{h['runbook_id']}/{h['section']}" for h in data["hits"][:3]) or "no hit"
    return json.dumps(data)[:160]


# -- the playbook driver ------------------------------------------------------------------------------------

_TRACE_ID = re.compile(r"\btx-[a-z0-9]+\b")
_LOADING = re.compile(r"Loading [\d.]+[KMB]? \w+ into memory[^\n]*")


def pick_target(symptom: str, deployments: dict[str, list[dict[str, Any]]]) -> tuple[str, str] | None:
    """The deployment the symptom names ('payment gateway' → payment-gateway), else the least ready one."""
    words = re.sub(r"[^a-z0-9]+", "-", symptom.lower())
    named = [(ns, d) for ns, items in deployments.items() for d in items if d["name"] in words]
    if named:
        namespace, deployment = max(named, key=lambda pair: len(pair[1]["name"]))
        return namespace, deployment["name"]
    degraded = [
        (d["available"] / max(d["desired"], 1), ns, d["name"])
        for ns, items in deployments.items()
        for d in items
        if d["available"] < d["desired"]
    ]
    return (min(degraded)[1], min(degraded)[2]) if degraded else None


@dataclass
class Findings:
    """What the investigation has learned so far; every tool result passes through `absorb`."""

    k8s: KubernetesFindings = field(default_factory=KubernetesFindings)
    logs: LogFindings = field(default_factory=LogFindings)
    kb: RunbookFindings = field(default_factory=RunbookFindings)
    deployments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    diagnosed_pods: set[str] = field(default_factory=set)
    trace_ids: list[str] = field(default_factory=list)

    def absorb(self, tool: str, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{tool}", None)
        if handler is not None:
            handler(arguments, data)

    def _on_list_deployments(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.deployments[data["namespace"]] = data["items"]

    def _on_diagnose_deployment(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.k8s.namespace, self.k8s.deployment = data["namespace"], data["deployment"]
        self.k8s.health, self.k8s.verdict = data["health"], data["verdict"]
        self.diagnosed_pods = {p["name"] for p in data["pods"]}

    def _on_list_pods(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        failing = [
            FailingPod(**{k: pod[k] for k in FailingPod.model_fields if k in pod})
            for pod in data["items"]
            if pod["status"] != "Running" and (not self.diagnosed_pods or pod["name"] in self.diagnosed_pods)
        ]
        known = {p.name for p in self.k8s.failing_pods}
        self.k8s.failing_pods += [p for p in failing if p.name not in known]
        self.k8s.failing_pods.sort(key=lambda p: p.restarts, reverse=True)

    def _on_get_pod_logs(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        if data["previous"] or not self.k8s.crash_log:
            self.k8s.crash_log = data["lines"]

    def _on_get_events(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.k8s.warning_events = [
            f"{e['reason']} {e['object']} ×{e['count']}: {e['message']}"
            for e in data["items"]
            if e["type"] == "Warning"
        ][:10]

    def _on_error_timeline(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.incident_start = (data.get("first_rise") or {}).get("at")
        self.logs.peak = (data.get("peak") or {}).get("at")
        self.logs.baseline_error_rate = data["baseline"]["error_rate"]

    def _on_count_errors(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        if data["group_by"] == "message":
            self.logs.top_errors = [
                {"signature": g["key"], "errors": g["errors"], "services": g.get("services", [])}
                for g in data["groups"][:8]
            ]

    def _on_search_logs(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        errors = [line for line in data["lines"] if line["level"] == "ERROR"]
        if errors:
            first = min(errors, key=lambda line: line["timestamp"])
            if self.logs.first_error is None or first["timestamp"] < self.logs.first_error["timestamp"]:
                self.logs.first_error = first
        hosts = set(self.logs.error_hosts) | {line["host"] for line in errors}
        self.logs.error_hosts = sorted(hosts)
        failing = {pod.name for pod in self.k8s.failing_pods}
        self.logs.pods_matching_kubernetes = [host for host in self.logs.error_hosts if host in failing]
        for line in errors:
            for trace_id in [line.get("trace_id"), *_TRACE_ID.findall(line["message"])]:
                if trace_id and trace_id not in self.trace_ids:
                    self.trace_ids.append(trace_id)

    def _on_trace_transaction(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.affected_traces.append(
            {
                "trace_id": data["trace_id"],
                "services": data["services"],
                "duration_ms": data["duration_ms"],
                "has_error": data["has_error"],
                "first_error": (data.get("first_error") or {}).get("message"),
            }
        )

    def _on_get_slow_queries(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.slow_queries = [
            {"duration_ms": q["duration_ms"], "rows_examined": q["rows_examined"], "query": q["query"][:160]}
            for q in data["queries"][:5]
        ]

    def _on_find_runbooks_for_error(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        seen = {c.runbook_id for c in self.kb.sections}
        for match in data["matches"][:2]:
            if match["runbook_id"] in seen:
                continue
            seen.add(match["runbook_id"])
            cite = {"runbook_id": match["runbook_id"], "title": match["title"], "matched": data["signature"]}
            self.kb.sections.append(
                RunbookCitation(
                    **cite, section=match["matched_section"], uri=match["matched_uri"], excerpt=match["excerpt"][:400]
                )
            )
            if match.get("mitigation"):
                self.kb.sections.append(
                    RunbookCitation(
                        **cite,
                        section="Mitigation",
                        uri=match.get("mitigation_uri") or match["uri"],
                        excerpt=match["mitigation"][:600],
                    )
                )

    def _on_search_runbooks(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        seen = {(c.runbook_id, c.section) for c in self.kb.sections}
        for hit in data["hits"][:3]:
            if (hit["runbook_id"], hit["section"]) not in seen:
                self.kb.sections.append(
                    RunbookCitation(
                        runbook_id=hit["runbook_id"],
                        title=hit["title"],
                        section=hit["section"],
                        uri=hit["uri"],
                        matched=data["query"],
                        excerpt=hit["text"][:600],
                    )
                )


async def run_playbook(session: Session, symptom: str, findings: Findings) -> None:
    """The fixed, model-free investigation. Each call's result reaches `findings` through the session."""
    namespaces = await session.call("k8s-mcp", "list_namespaces", {}) or {"items": []}
    for namespace in (n["name"] for n in namespaces["items"]):
        await session.call("k8s-mcp", "list_deployments", {"namespace": namespace})
    target = pick_target(symptom, findings.deployments)
    if target is not None:
        namespace, deployment = target
        await session.call("k8s-mcp", "diagnose_deployment", {"namespace": namespace, "name": deployment})
        await session.call("k8s-mcp", "list_pods", {"namespace": namespace})
        if findings.k8s.failing_pods:
            worst = findings.k8s.failing_pods[0].name
            arguments = {"namespace": namespace, "pod_name": worst, "previous": True, "lines": 40}
            await session.call("k8s-mcp", "get_pod_logs", arguments)
        await session.call("k8s-mcp", "get_events", {"namespace": namespace, "event_type": "Warning", "limit": 20})

    scope = {"service": findings.k8s.deployment} if findings.k8s.deployment else {}
    signature = crash_signature(findings.k8s)
    await session.call("logs-mcp", "error_timeline", {**scope, "time_range": "6h"})
    await session.call("logs-mcp", "count_errors", {"group_by": "message", "time_range": "1h", "limit": 8})
    keyword = (signature or "").split(":")[0].rsplit(".", 1)[-1]
    search = {**scope, "level": "ERROR", "time_range": "1h", "limit": 50, **({"keyword": keyword} if keyword else {})}
    await session.call("logs-mcp", "search_logs", search)
    await session.call("logs-mcp", "search_logs", {"level": "ERROR", "time_range": "1h", "limit": 50})
    for trace_id in findings.trace_ids[:3]:
        await session.call("logs-mcp", "trace_transaction", {"trace_id": trace_id})
    await session.call("logs-mcp", "get_slow_queries", {**scope, "min_duration_ms": 5000, "limit": 5})

    errors = [e for e in (signature, "OOMKilled" if "OOMKilled" in (findings.k8s.verdict or "") else None) if e]
    errors += [e["signature"] for e in findings.logs.top_errors[:2] if e["signature"] not in errors]
    for error in errors[:4]:
        await session.call("kb-mcp", "find_runbooks_for_error", {"error_text": error[:500]})


def crash_signature(k8s: KubernetesFindings) -> str | None:
    """The error class and message of the crash log ('java.lang.OutOfMemoryError: Java heap space')."""
    for line in k8s.crash_log:
        found = re.search(r"\b([a-zA-Z_][\w.]*(?:Error|Exception)(?::[^\n]*)?)$", line.strip())
        if found and " at " not in line:
            return found.group(1).strip()
    if k8s.verdict and "OOMKilled" in k8s.verdict:
        return "OOMKilled"
    return None


def synthesize(k8s: KubernetesFindings, logs: LogFindings, kb: RunbookFindings) -> Synthesis:
    """Only what the tools returned: no inference the evidence does not carry."""
    cause: list[str] = []
    if k8s.failing_pods:
        pods = ", ".join(p.name for p in k8s.failing_pods)
        limits = sorted({p.memory_limit for p in k8s.failing_pods if p.memory_limit})
        oom = all("OOMKilled" in (p.last_termination or "") for p in k8s.failing_pods)
        reason = f"OOMKilled at the {'/'.join(limits)} memory limit" if oom and limits else "crash-looping"
        cause.append(f"{k8s.deployment} pods {pods} are {reason}")
    crash = next((line for line in k8s.crash_log if "Error" in line or "Exception" in line), None)
    loading = next((m.group(0) for line in k8s.crash_log for m in [_LOADING.search(line)] if m), None)
    if k8s.verdict and "last log:" in k8s.verdict:
        cause.append(k8s.verdict.split("last log:", 1)[1].strip())
    elif crash:
        cause.append(crash.strip())
    if loading:
        cause.append(f"right after the job logged '{loading.strip()}'")
    root = "; ".join(cause) if cause else "no failing workload found; see the log findings"

    impact: list[str] = []
    if k8s.verdict:
        impact.append(f"{k8s.deployment}: {k8s.health} — {k8s.verdict.split(';')[0]}")
    if logs.incident_start:
        impact.append(f"error rate rose above baseline at {logs.incident_start} (peak {logs.peak})")
    for error in logs.top_errors[:3]:
        impact.append(f"{error['errors']} × {error['signature'][:120]}")
    failed = [t for t in logs.affected_traces if t["has_error"]]
    if failed:
        impact.append(
            "failed transactions: " + ", ".join(f"{t['trace_id']} ({' → '.join(t['services'])})" for t in failed)
        )

    steps = [NextStep(action=_first_action(c.excerpt), source=c.uri) for c in kb.sections if c.section == "Mitigation"]
    return Synthesis(probable_root_cause=root, impact=impact, next_steps=steps[:5])


def _first_action(mitigation: str) -> str:
    """The first instruction of a Mitigation section (a list item or sentence), without its code blocks."""
    prose = re.sub(r"```.*?(```|$)", " ", mitigation, flags=re.S)
    for raw in prose.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        item = re.sub(r"^(?:[-*]|\d+[.)])\s+", "", stripped)
        sentence = re.split(r"(?<=[.!?])\s", item, maxsplit=1)[0]
        return sentence.rstrip(":").strip()[:240]
    return ""


# -- the agent driver: a model picks the tools; the model is behind a small boundary --------------------------


class ToolUse(BaseModel):
    id: str
    name: str
    input: dict[str, Any]


class ModelTurn(BaseModel):
    """One model response: text, and the tool calls it asks for (none means it is done)."""

    text: str = ""
    tool_uses: list[ToolUse] = []

    def as_message(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        content += [{"type": "tool_use", "id": t.id, "name": t.name, "input": t.input} for t in self.tool_uses]
        return {"role": "assistant", "content": content}


class Model(Protocol):
    async def respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn: ...


class AnthropicModel:
    """Claude through the Anthropic Messages API (ANTHROPIC_API_KEY from the environment)."""

    def __init__(self, model: str, max_tokens: int = 2048) -> None:
        import anthropic

        self.client = anthropic.AsyncAnthropic()
        self.model = model
        self.max_tokens = max_tokens

    async def respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelTurn:
        # Our messages and tool specs are the API's JSON shapes; the SDK's TypedDicts describe the same thing.
        response = await self.client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,
            messages=messages,  # type: ignore[arg-type]
            tools=tools,  # type: ignore[arg-type]
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        uses = [ToolUse(id=b.id, name=b.name, input=dict(b.input)) for b in response.content if b.type == "tool_use"]
        return ModelTurn(text=text, tool_uses=uses)


AGENT_SYSTEM = """You are the on-call SRE for a payments platform. You have three MCP servers' tools:
k8s__* (Kubernetes, read-only), logs__* (application logs in ClickHouse) and kb__* (the runbooks).
Investigate the reported symptom: check Kubernetes pod status, search the logs, find the relevant runbooks.
Use only what the tools return. Finish with: probable root cause, impact, and next steps citing runbook:// URIs."""

_PREFIX = {"k8s-mcp": "k8s", "logs-mcp": "logs", "kb-mcp": "kb"}


async def agent_tools(session: Session) -> list[dict[str, Any]]:
    tools = []
    for server, client in session.clients.items():
        for tool in (await client.list_tools()).tools:
            tools.append(
                {
                    "name": f"{_PREFIX[server]}__{tool.name}",
                    "description": (tool.description or "")[:1024],
                    "input_schema": tool.input_schema,
                }
            )
    return tools


async def run_agent(session: Session, symptom: str, model: Model) -> str:
    """Let the model drive; return its final text. Limits surface as `LimitReached`."""
    tools = await agent_tools(session)
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"Symptom: {symptom}"}]
    while True:
        if session.clock() - session.started > session.max_seconds:
            raise LimitReached("time", f"stopped after {session.max_seconds:g} s (--max-seconds)")
        turn = await model.respond(AGENT_SYSTEM, messages, tools)
        messages.append(turn.as_message())
        if not turn.tool_uses:
            return turn.text
        results = []
        for use in turn.tool_uses:
            prefix, _, tool = use.name.partition("__")
            server = SERVER_OF_PREFIX.get(prefix)
            if server is None:
                results.append(
                    {"type": "tool_result", "tool_use_id": use.id, "content": "unknown tool", "is_error": True}
                )
                continue
            data = await session.call(server, tool, use.input)
            content = json.dumps(data)[:20_000] if data is not None else session.calls[-1].summary
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": content, "is_error": data is None})
        messages.append({"role": "user", "content": results})


# -- one investigation, end to end --------------------------------------------------------------------------


async def investigate(
    stack: StackLike,
    symptom: str,
    *,
    model: Model | None = None,
    max_steps: int = 40,
    max_seconds: float = 120.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Connect to the three servers of `stack`, investigate `symptom`, and return the report."""
    started_at = now()
    began = time.monotonic()
    limits = Limits(max_steps=max_steps, max_seconds=max_seconds)
    model_summary = None
    async with AsyncExitStack() as exits:
        session = await open_session(stack, exits, max_steps, max_seconds)
        try:
            if model is None:
                await run_playbook(session, symptom, session.findings)
            else:
                model_summary = await run_agent(session, symptom, model)
        except LimitReached as limit:
            limits.reached, limits.message = limit.which, str(limit)
    findings = session.findings
    synthesis = synthesize(findings.k8s, findings.logs, findings.kb)
    synthesis.model_summary = model_summary
    return Report(
        symptom=symptom,
        stack=stack.kind,
        driver="playbook" if model is None else "agent",
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=round(time.monotonic() - began, 2),
        calls=session.calls,
        kubernetes=findings.k8s,
        logs=findings.logs,
        runbooks=findings.kb,
        synthesis=synthesis,
        limits=limits,
    )


def render_markdown(report: Report) -> str:
    """The report as Markdown (also what the text format prints, through rich)."""
    k8s, logs, kb, syn = report.kubernetes, report.logs, report.runbooks, report.synthesis
    out = [f"# Investigation: {report.symptom}", ""]
    out.append(
        f"Stack: {report.stack} · driver: {report.driver} · {len(report.calls)} tool calls · {report.duration_s} s"
    )
    if report.limits.reached:
        out += ["", f"> **Limit reached:** {report.limits.message}. The findings below are partial."]
    out += ["", "## Tool calls", ""]
    out += [
        f"{c.step}. `{c.server}` **{c.tool}**({_args(c.arguments)}) — {'' if c.ok else '❌ '}{c.summary}"
        for c in report.calls
    ]
    out += ["", "## Kubernetes", ""]
    if k8s.deployment:
        out.append(f"- `{k8s.namespace}/{k8s.deployment}`: **{k8s.health}** — {k8s.verdict}")
    out += [
        f"- pod `{p.name}`: {p.status}, {p.restarts} restarts, {p.last_termination or ''} (limit {p.memory_limit})"
        for p in k8s.failing_pods
    ]
    if k8s.crash_log:
        out += ["", "Crash log (previous container):", "", "```", *k8s.crash_log[-8:], "```"]
    out += [f"- {event}" for event in k8s.warning_events[:5]]
    out += ["", "## Logs", ""]
    if logs.incident_start:
        baseline = f"{logs.baseline_error_rate:.2%}" if logs.baseline_error_rate is not None else "?"
        out.append(f"- error rate first rose above baseline ({baseline}) at {logs.incident_start}; peak {logs.peak}")
    if logs.first_error:
        e = logs.first_error
        out.append(f"- first error: {e['timestamp']} {e['service']} on `{e['host']}`: {e['message']}")
    if logs.pods_matching_kubernetes:
        out.append(f"- error lines come from the failing pods: {', '.join(logs.pods_matching_kubernetes)}")
    out += [f"- {e['errors']} × `{e['signature']}`" for e in logs.top_errors[:5]]
    out += [
        f"- trace `{t['trace_id']}`: {' → '.join(t['services'])}, {t['duration_ms']} ms, error: {t['first_error']}"
        for t in logs.affected_traces
    ]
    out += [
        f"- slow query {q['duration_ms']} ms, {q['rows_examined']:,} rows: `{q['query']}`"
        for q in logs.slow_queries[:3]
    ]
    out += ["", "## Runbooks", ""]
    out += [f"- [{c.title} — {c.section}]({c.uri}) (for `{c.matched[:60]}`)" for c in kb.sections]
    out += ["", "## Synthesis", "", f"**Probable root cause:** {syn.probable_root_cause}", "", "**Impact:**", ""]
    out += [f"- {item}" for item in syn.impact]
    out += ["", "**Next steps (from the runbooks):**", ""]
    out += [f"{i}. {step.action} ({step.source})" for i, step in enumerate(syn.next_steps, start=1)]
    if syn.model_summary:
        out += ["", "**The agent's conclusion:**", "", syn.model_summary]
    return "\n".join(out) + "\n"


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `--format json` output."""
    return Report.model_json_schema()
