"""What the tools return (structured output). Compact: `None` fields are dropped on the wire."""

from __future__ import annotations

from mcp_common.models import CompactModel


class PodSummary(CompactModel):
    name: str
    status: str
    ready: str
    restarts: int
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


class ContainerDetail(CompactModel):
    name: str
    image: str
    ready: bool
    restart_count: int
    state: str
    last_state: str | None = None
    requests: dict[str, str] | None = None
    limits: dict[str, str] | None = None
    liveness_probe: str | None = None
    readiness_probe: str | None = None
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
    node: str | None = None
    ip: str | None = None
    qos_class: str | None = None
    age: str
    owner: str | None = None
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


class EventList(CompactModel):
    namespace: str
    items: list[EventSummary]
    total: int
    truncated: bool
    hint: str | None = None


class NamespaceInfo(CompactModel):
    name: str
    status: str
    age: str
    pods: int


class NamespaceList(CompactModel):
    items: list[NamespaceInfo]
    note: str


class PodFinding(CompactModel):
    name: str
    status: str
    ready: str
    restarts: int
    last_termination: str | None = None
    memory_limit: str | None = None


class Diagnosis(CompactModel):
    namespace: str
    deployment: str
    health: str  # healthy | degraded | down
    verdict: str
    replicas: str
    image: str
    pods: list[PodFinding]
    warning_events: list[EventSummary]
    log_excerpt: list[str] | None = None
    log_source: str | None = None
    next_steps: list[str]


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
