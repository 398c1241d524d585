"""What the tools return (structured output). Compact: `None` fields are dropped on the wire."""

from __future__ import annotations

from typing import Literal

from k8s_mcp import rendering
from mcp_common.models import CompactModel


class PodSummary(CompactModel):
    name: str
    status: str
    ready: str
    restarts: int
    last_restart: str | None = None  # how long ago the newest counted restart happened ("2m"), as kubectl shows
    age: str
    node: str | None = None
    cpu_request: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    last_termination: str | None = None


class PodCounts(CompactModel):
    total: int
    running: int
    not_ready: int


class PodList(CompactModel):
    namespace: str
    status_filter: str | None = None
    items: list[PodSummary]
    total: int
    truncated: bool
    summary: PodCounts
    hint: str | None = None

    def compact_text(self) -> str:
        return rendering.pods_text(self)


class LogLines(CompactModel):
    namespace: str
    pod: str
    container: str
    previous: bool
    grep: str | None = None
    lines: list[str]
    returned: int
    truncated: bool
    hint: str | None = None

    def compact_text(self) -> str:
        return rendering.logs_text(self)


class ContainerDetail(CompactModel):
    name: str
    kind: Literal["init", "sidecar", "container"] = "container"  # sidecar: an init container that keeps running
    image: str
    ready: bool
    started: bool | None = None
    restart_count: int
    state: str
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    last_state: str | None = None
    last_reason: str | None = None
    last_message: str | None = None
    last_exit_code: int | None = None
    requests: dict[str, str] | None = None
    limits: dict[str, str] | None = None
    liveness_probe: str | None = None
    readiness_probe: str | None = None
    startup_probe: str | None = None
    env: dict[str, str] | None = None


class Condition(CompactModel):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class EventSummary(CompactModel):
    last_seen: str
    age: str
    type: str
    reason: str
    object: str
    message: str
    count: int = 1


class PodDetail(CompactModel):
    name: str
    namespace: str
    status: str
    ready: str
    restarts: int
    node: str | None = None
    ip: str | None = None
    qos_class: str | None = None
    age: str
    owner: str | None = None
    reason: str | None = None  # the pod's own status reason/message (Evicted, NodeLost, ...)
    message: str | None = None
    containers: list[ContainerDetail]
    conditions: list[Condition]
    events: list[EventSummary]


class DeploymentSummary(CompactModel):
    name: str
    ready: str
    desired: int
    up_to_date: int
    available: int
    images: list[str]
    age: str
    conditions: list[Condition]


class DeploymentList(CompactModel):
    namespace: str
    items: list[DeploymentSummary]
    total: int
    truncated: bool

    def compact_text(self) -> str:
        return rendering.deployments_text(self)


class StatefulSetSummary(CompactModel):
    name: str
    ready: str
    desired: int
    current: int
    updated: int
    images: list[str]
    age: str
    conditions: list[Condition] | None = None


class StatefulSetList(CompactModel):
    namespace: str
    items: list[StatefulSetSummary]
    total: int
    truncated: bool

    def compact_text(self) -> str:
        return rendering.statefulsets_text(self)


class DaemonSetSummary(CompactModel):
    name: str
    desired: int
    current: int
    ready: int
    up_to_date: int
    available: int
    node_selector: str | None = None
    images: list[str]
    age: str


class DaemonSetList(CompactModel):
    namespace: str
    items: list[DaemonSetSummary]
    total: int
    truncated: bool

    def compact_text(self) -> str:
        return rendering.daemonsets_text(self)


class JobSummary(CompactModel):
    name: str
    status: str  # Running | Complete | Failed | Suspended | SuccessCriteriaMet | FailureTarget ...
    completions: str  # succeeded/desired, as kubectl prints it ("0/1")
    active: int
    succeeded: int
    failed: int
    duration: str | None = None
    age: str
    owner: str | None = None  # cronjob/NAME
    reason: str | None = None  # BackoffLimitExceeded, DeadlineExceeded, ...
    message: str | None = None


class JobList(CompactModel):
    namespace: str
    items: list[JobSummary]
    total: int
    truncated: bool

    def compact_text(self) -> str:
        return rendering.jobs_text(self)


class CronJobSummary(CompactModel):
    name: str
    schedule: str
    timezone: str | None = None
    suspend: bool
    active: int
    last_schedule: str | None = None  # age ("5h"), as kubectl prints LAST SCHEDULE
    last_successful: str | None = None
    last_job: str | None = None
    last_job_status: str | None = None
    age: str


class CronJobList(CompactModel):
    namespace: str
    items: list[CronJobSummary]
    total: int
    truncated: bool

    def compact_text(self) -> str:
        return rendering.cronjobs_text(self)


class EventList(CompactModel):
    namespace: str
    items: list[EventSummary]
    total: int
    truncated: bool
    hint: str | None = None

    def compact_text(self) -> str:
        return rendering.events_text(self)


class NamespaceInfo(CompactModel):
    name: str
    status: str
    age: str
    pods: int


class NamespaceList(CompactModel):
    items: list[NamespaceInfo]
    note: str

    def compact_text(self) -> str:
        return rendering.namespaces_text(self)


class PodFinding(CompactModel):
    name: str
    status: str
    ready: str
    restarts: int
    last_termination: str | None = None
    memory_limit: str | None = None


Health = Literal["healthy", "degraded", "down", "completed", "failed", "suspended", "progressing"]


class Cause(CompactModel):
    """One reason a workload is not healthy, with the facts that show it."""

    kind: str  # crash_loop, oom_killed, image_pull, config_error, unschedulable, init_failure, ...
    summary: str
    pods: list[str] | None = None
    evidence: list[str]


class Diagnosis(CompactModel):
    namespace: str
    kind: str
    name: str
    deployment: str | None = None  # the name again for a Deployment (diagnose_deployment's original shape)
    health: Health
    verdict: str
    replicas: str
    image: str
    causes: list[Cause]
    pods: list[PodFinding]
    conditions: list[Condition] | None = None
    warning_events: list[EventSummary]
    log_excerpt: list[str] | None = None
    log_source: str | None = None
    next_steps: list[str]

    def compact_text(self) -> str:
        return rendering.diagnosis_text(self)


class ScalePreview(CompactModel):
    executed: bool
    namespace: str
    deployment: str
    current_replicas: int
    requested_replicas: int
    change: str
    pods_affected: list[str] | None = None
    confirmation_token: str | None = None
    expires_in_s: int | None = None
    message: str
