"""The investigation report: its JSON form is the documented schema (`sre-lab investigate --format json`,
`lab/investigation-report.schema.json`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

REPORT_SCHEMA_VERSION = "sre-lab-investigation/v1"


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
    kind: str | None = Field(default=None, description="Deployment, StatefulSet, … (the diagnosed workload's kind)")
    deployment: str | None = Field(default=None, description="The diagnosed workload's name.")
    health: str | None = None
    verdict: str | None = None
    failing_pods: list[FailingPod] = []
    crash_log: list[str] = Field(default=[], description="The crashed container's last lines (previous=true).")
    warning_events: list[str] = []


class TimelinePoint(BaseModel):
    at: str = Field(description="Bucket start.")
    errors: int
    lines: int


class LogFindings(BaseModel):
    incident_start: str | None = Field(default=None, description="First bucket whose error rate rose above baseline.")
    peak: str | None = None
    baseline_error_rate: float | None = None
    timeline_service: str | None = Field(default=None, description="The service the timeline counts (None: all).")
    timeline_bucket: str | None = None
    timeline: list[TimelinePoint] = Field(default=[], description="Errors per bucket over the window, oldest first.")
    first_error: dict[str, Any] | None = Field(default=None, description="The oldest ERROR line of the window.")
    top_errors: list[dict[str, Any]] = Field(
        default=[],
        description="Normalized error signatures, most first; stack frames fold into their error ('frames').",
    )
    keyword_hits: list[dict[str, Any]] = Field(
        default=[], description="What each keyword search found: lines, services, an example (the symptom's words)."
    )
    error_hosts: list[str] = Field(default=[], description="Hosts (pod names) in the matching error lines.")
    pods_matching_kubernetes: list[str] = Field(default=[], description="Error hosts that are failing k8s pods.")
    affected_traces: list[dict[str, Any]] = []
    slow_queries: list[dict[str, Any]] = []


class Focus(BaseModel):
    """What the symptom pointed the investigation at, and why."""

    topics: list[str] = Field(default=[], description="latency, memory, cache, auth, payments")
    services: list[str] = Field(default=[], description="Log services the symptom names or its topics touch.")
    keywords: list[str] = Field(default=[], description="What the logs were searched for because of the symptom.")
    slow_queries: bool = False
    runbook_query: str | None = None
    matched: list[str] = Field(default=[], description="One line per match: which words led where.")


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
    scenario_now: str | None = Field(
        default=None, description="The lab's scenario clock: the moment the servers answered as of (None: live)."
    )
    started_at: str
    duration_s: float
    calls: list[CallRecord]
    focus: Focus = Field(default_factory=Focus)
    kubernetes: KubernetesFindings
    logs: LogFindings
    runbooks: RunbookFindings
    synthesis: Synthesis
    limits: Limits
    notes: list[str] = Field(default=[], description="What the reader should know (e.g. the agent fell back).")


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `--format json` output."""
    return Report.model_json_schema()
