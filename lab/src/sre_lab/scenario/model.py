"""The objects of the incident: cluster objects as the API server holds them, log lines, traces, slow queries
and the named moments. Plain frozen dataclasses, no I/O; `sre_lab.scenario.loader` builds them from the data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

Level = Literal["DEBUG", "INFO", "WARN", "ERROR"]
WorkloadKind = Literal["Deployment", "StatefulSet", "Pod", "Job", "CronJob"]

# involved-object prefix → (apiVersion, kind), for events
INVOLVED_KINDS = {
    "pod": ("v1", "Pod"),
    "deployment": ("apps/v1", "Deployment"),
    "replicaset": ("apps/v1", "ReplicaSet"),
    "statefulset": ("apps/v1", "StatefulSet"),
    "cronjob": ("batch/v1", "CronJob"),
    "job": ("batch/v1", "Job"),
}


@dataclass(frozen=True)
class Node:
    name: str
    ip: str
    pod_cidr: str
    role: Literal["control-plane", "worker"]
    created: datetime
    uid: str
    cpu: str = "4"
    memory: str = "16Gi"


@dataclass(frozen=True)
class Namespace:
    name: str
    created: datetime
    uid: str
    allowed: bool  # in the k8s server's default allowlist


@dataclass(frozen=True)
class SecretKeyRef:
    """An env value read from a Secret; the Secret itself never leaves the cluster (nor the lab)."""

    secret: str
    key: str


EnvValue = str | SecretKeyRef


@dataclass(frozen=True)
class Probe:
    """An HTTP GET probe, or a TCP socket probe when ``path`` is None. Times in seconds."""

    path: str | None
    port: int
    initial_delay: int
    timeout: int
    period: int
    failure_threshold: int = 3

    def describe(self) -> str:
        """The probe as ``kubectl describe pod`` prints it."""
        target = f"http-get http://:{self.port}{self.path}" if self.path is not None else f"tcp-socket :{self.port}"
        return (
            f"{target} delay={self.initial_delay}s timeout={self.timeout}s period={self.period}s "
            f"#success=1 #failure={self.failure_threshold}"
        )


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    port: int | None
    cpu_request: str | None = None
    mem_request: str | None = None
    cpu_limit: str | None = None
    mem_limit: str | None = None
    env: tuple[tuple[str, EnvValue], ...] = ()
    liveness: Probe | None = None
    readiness: Probe | None = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    port_name: str = "http"
    protocol: Literal["TCP", "UDP"] = "TCP"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"

    @property
    def qos_class(self) -> Literal["Guaranteed", "Burstable", "BestEffort"]:
        requests = (self.cpu_request, self.mem_request)
        limits = (self.cpu_limit, self.mem_limit)
        if not any(requests) and not any(limits):
            return "BestEffort"
        if all(limits) and (requests == limits or not any(requests)):
            return "Guaranteed"
        return "Burstable"


@dataclass(frozen=True)
class Revision:
    """An earlier ReplicaSet of a Deployment, kept by the controller at 0 replicas."""

    replicaset_hash: str
    image: str
    created: datetime
    number: int


@dataclass(frozen=True)
class Batch:
    """What a Job or a CronJob adds to a workload (times are the API server's, in `status`)."""

    schedule: str = ""  # CronJob: cron syntax
    last_schedule: datetime | None = None  # CronJob: status.lastScheduleTime
    last_success: datetime | None = None  # CronJob: status.lastSuccessfulTime
    concurrency_policy: str = "Forbid"
    history: tuple[int, int] = (3, 1)  # successfulJobsHistoryLimit, failedJobsHistoryLimit
    owner: str = ""  # Job: the CronJob that created it
    scheduled_at: datetime | None = None  # Job of a CronJob: the run it is
    backoff_limit: int = 6
    started: datetime | None = None  # Job: status.startTime
    finished: datetime | None = None  # Job: completion (or failure) time
    outcome: Literal["Complete", "Failed"] | None = None
    attempts: int = 0  # Job: pods created (one per attempt, restartPolicy Never)


@dataclass(frozen=True)
class Workload:
    """A Deployment, a StatefulSet, a CronJob, a Job, or (kind "Pod") a bare pod that is its own spec.

    ``replicaset_hash`` is the pod-template-hash of a Deployment's current ReplicaSet, or the
    controller-revision hash of a StatefulSet. ``service`` is the name the workload logs under.
    """

    namespace: str
    name: str
    kind: WorkloadKind
    service: str
    replicas: int
    created: datetime
    containers: tuple[ContainerSpec, ...]
    labels: tuple[tuple[str, str], ...]
    replicaset_hash: str = ""
    rolled_out: datetime | None = None  # current ReplicaSet / revision created
    revision: int = 1
    previous: Revision | None = None
    service_account: str = "default"
    batch: Batch | None = None  # Jobs and CronJobs

    @property
    def deployment(self) -> str:
        """The controller's name (the brief's spelling; also right for StatefulSets)."""
        return self.name

    @property
    def image(self) -> str:
        return self.containers[0].image

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def replicaset_name(self) -> str:
        return f"{self.name}-{self.replicaset_hash}"


@dataclass(frozen=True)
class RunningState:
    started_at: datetime


@dataclass(frozen=True)
class WaitingState:
    reason: str
    message: str


@dataclass(frozen=True)
class TerminatedState:
    reason: str
    exit_code: int
    started_at: datetime
    finished_at: datetime
    container_id: str


@dataclass(frozen=True)
class PodState:
    name: str
    namespace: str
    workload: str  # Workload.name; for a bare pod, its own name
    node: str
    ip: str
    created: datetime
    uid: str
    container: str
    phase: Literal["Pending", "Running", "Succeeded", "Failed"]
    status: str  # the STATUS column of `kubectl get pods`: Running, CrashLoopBackOff, …
    ready: bool
    restarts: int
    state: RunningState | WaitingState | TerminatedState  # terminated: a Job's pod that ran to its end
    last_state: TerminatedState | None
    container_id: str  # the newest container (for a waiting one, the one that last terminated)
    ready_since: datetime  # last transition of the Ready condition
    cpu_usage: str
    memory_usage: str
    container_starts: tuple[datetime, ...] = ()  # restarted containers only
    oom_kills: tuple[datetime, ...] = ()

    @property
    def ready_text(self) -> str:
        return "1/1" if self.ready else "0/1"

    @property
    def crash_looping(self) -> bool:
        return isinstance(self.state, WaitingState) and self.state.reason == "CrashLoopBackOff"


@dataclass(frozen=True)
class TimelineEvent:
    """A core/v1 Event as the API server keeps it: a series with a count and first/last timestamps."""

    at: datetime  # lastTimestamp
    namespace: str
    involved: str  # "pod/payment-gw-def34", "deployment/payment-gateway", …
    type: Literal["Normal", "Warning"]
    reason: str
    message: str
    source: str  # kubelet, deployment-controller, replicaset-controller, default-scheduler, …
    count: int = 1
    first_at: datetime | None = None  # firstTimestamp; None means the same as ``at``
    host: str | None = None  # the node, for kubelet events
    container: str | None = None  # for fieldPath spec.containers{…}

    @property
    def first(self) -> datetime:
        return self.first_at or self.at

    @property
    def kind(self) -> str:
        return INVOLVED_KINDS[self.involved.split("/", 1)[0]][1]

    @property
    def api_version(self) -> str:
        return INVOLVED_KINDS[self.involved.split("/", 1)[0]][0]

    @property
    def name(self) -> str:
        return self.involved.split("/", 1)[1]


# --------------------------------------------------------------------------------------------------
# Logs, traces, slow queries
# --------------------------------------------------------------------------------------------------


def format_log_time(at: datetime) -> str:
    """``2026-11-26T14:23:01.000Z``: the ``kubectl logs --timestamps`` prefix (to the millisecond)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class LogRecord:
    """One application log line: what the ClickHouse logs hold and what a container prints."""

    at: datetime
    service: str
    host: str  # the pod name
    level: Level
    logger: str
    message: str
    trace_id: str = ""
    duration_ms: int | None = None
    status_code: int | None = None

    def kubectl_line(self) -> str:
        return f"{format_log_time(self.at)} {self.level:<5} [{self.logger}] {self.message}"


@dataclass(frozen=True)
class TraceStep:
    offset: timedelta  # from Trace.base
    service: str
    host: str
    level: Level
    message: str
    duration_ms: int | None = None
    status_code: int | None = None
    logger: str = "PaymentService"


@dataclass(frozen=True)
class Trace:
    trace_id: str
    base: datetime
    story: tuple[TraceStep, ...]

    def records(self) -> tuple[LogRecord, ...]:
        return tuple(
            LogRecord(
                at=self.base + step.offset,
                service=step.service,
                host=step.host,
                level=step.level,
                logger=step.logger,
                message=step.message,
                trace_id=self.trace_id,
                duration_ms=step.duration_ms,
                status_code=step.status_code,
            )
            for step in self.story
        )


@dataclass(frozen=True)
class SlowQuery:
    at: datetime  # when Postgres logged it (at completion)
    service: str
    pod: str  # the client pod
    query: str
    duration_ms: int
    rows_examined: int


@dataclass(frozen=True)
class Timeline:
    """Named moments of the incident (`moments:` in incident.yaml; `notes` says what happens at each)."""

    payment_gateway_created: datetime
    previous_rollout: datetime
    redis_created: datetime
    rollout: datetime
    def34_crashloop: datetime
    ghi56_crashloop: datetime
    grafana_rollout: datetime
    redis_evictions: datetime
    fraud_latency: datetime
    session_cleanup: datetime
    scale_up: datetime
    upstream_timeouts: datetime
    breaker_open: datetime
    ghi56_last_oom: datetime
    def34_last_oom: datetime
    notes: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def rows(self) -> tuple[tuple[str, datetime, str], ...]:
        """(attribute, when, what), oldest first: the incident's timeline, derived from the data."""
        return tuple(
            sorted(((name, getattr(self, name), note) for name, note in self.notes.items()), key=lambda r: r[1])
        )


LogLine = tuple[int, Level, str, str]
"""A container log line: (ms after the container's start, level, logger, message)."""


@dataclass(frozen=True)
class LogProfile:
    """What a service's container prints when it starts, and its periodic line (none: it prints nothing more)."""

    startup: tuple[LogLine, ...]
    heartbeat: tuple[Level, str, str] | None
    every: timedelta


@dataclass(frozen=True)
class CrashLoop:
    """What a crash-looping container prints: its start-up lines, then the OOM sequence until the kill."""

    run_time: timedelta  # container start → OOM kill
    startup: tuple[LogLine, ...]
    oom: tuple[LogLine, ...]
    backoff_cap: timedelta

    @property
    def sequence(self) -> tuple[LogLine, ...]:
        """The lines of `kubectl logs --previous`."""
        return self.startup + self.oom
