"""The payment incident, defined once.

Every part of the lab reads names and times from here: the Kubernetes cluster snapshot
(`sre_lab.cluster_snapshot`), the ClickHouse log generator and the investigation. A pod that crashes in the
snapshot crashes at the same second in the logs, and every log ``host`` is a pod of the cluster.

The story
---------
Release v2.3.1 of ``payment-gateway`` (rolled out three days ago) changed ``BatchReconciliation`` to load the
whole day's transactions into an ``ArrayList`` instead of streaming them. The job is sharded across replicas
and a replica re-claims its unfinished shard on every start. Today's volume (2.1M rows) is the first to
exceed the heap (``-Xmx384m``) and the container's 512Mi limit, so the replica holding the largest shard,
``payment-gw-def34``, is OOM-killed about 11 s after each start and has been crash-looping at the 5-minute
back-off cap for hours; ``payment-gw-ghi56`` followed with the next shard. With only one of three replicas
ready, on-call scaled the deployment to 5 at T−23 min (``payment-gw-jkl78`` and ``payment-gw-mno90`` are
that young). Meanwhile Redis is evicting keys under memory pressure, so fraud-detection misses its velocity
cache and inference exceeds 500 ms on misses, and the card network's authorization API slows down: calls
from ``payment-gw-abc12`` time out after 30 s and its circuit breaker opens. Grafana's roll-out 40 minutes
ago and the ``batch-sa`` token warning are red herrings.

Timeline
--------
T is ``Scenario.now``. Offsets marked ≈ are derived from the crash schedule (restart counts, the kubelet's
back-off 10 s → 20 s → … → 5 min cap, 12 s per run, 1–3 s to pull and start) and move by a few seconds
with ``seed``; the others are exact. Names are attributes of ``Scenario.timeline``.

========================  ===============  ===========================================================
attribute                 when             what happens
========================  ===============  ===========================================================
payment_gateway_created   T−45 d           Deployment ``payment-gateway`` created
previous_rollout          T−17 d           v2.3.0 rolled out (ReplicaSet ``payment-gateway-5f6c7d8b9``)
redis_created             T−14 d           StatefulSets ``redis-primary`` and ``redis-replica``
rollout                   T−3 d            v2.3.1 rolled out (``payment-gateway-7d9f8b6c5``, revision 7);
                                           pods abc12, def34, ghi56 created (age 3 d)
def34_crashloop           ≈ T−3 h 46 min   first OOM kill of payment-gw-def34: its crash loop begins
ghi56_crashloop           ≈ T−2 h 29 min   first OOM kill of payment-gw-ghi56
grafana_rollout           T−40 min         grafana 10.2.2 → 10.2.3 (red herring)
redis_evictions           T−35 min         redis-primary at maxmemory, evicting keys (allkeys-lru)
session_cleanup           ≈ T−30 min       auth CronJob ``session-cleanup`` (on the minute; red herring)
fraud_latency             T−30 min         fraud-detection velocity-cache hit rate 58 %; misses > 500 ms
(slow query)              T−28 min         UPDATE fraud_scores … 5200 ms, 180k rows (fraud-ml-02)
scale_up                  T−23 min         ScalingReplicaSet 3 → 5; pods jkl78 and mno90 created
(traces)                  T−21 min 30 s    tx-good01 (145 ms, abc12); tx-good02 at T−21 min (167 ms, mno90)
upstream_timeouts         T−20 min         first 30 s timeout calling the card network
breaker_open              T−15 min         "Circuit breaker OPEN for card-network-gateway (12/10
                                           failures)" on abc12; tx-def456 failed 1.333 s before
(slow query)              T−13 min         SELECT … JOIN customers … 8700 ms, 450k rows (abc12)
(slow query)              ≈ T−5 min 27 s   SELECT * FROM transactions … 12500 ms, 2.1M rows (def34's
                                           run before the last; Postgres logs it on completion)
ghi56_last_oom            T−64 s           ghi56's 33rd OOM kill (restart count 32)
def34_last_oom            T−18 s           def34's 48th OOM kill (restart count 47); its last run
                                           started at T−30 s and served tx-abc123; both pods now
                                           wait in CrashLoopBackOff (back-off 5m0s)
========================  ===============  ===========================================================

Conventions
-----------
* Times are tz-aware UTC; ``build_scenario`` truncates ``now`` to the second.
* A crash-looping pod's restart count is one less than its OOM kills: the container that ran since the
  roll-out was killed first, then each of ``restarts`` restarted containers; the next restart is pending.
  ``PodState.oom_kills`` lists every kill, ``PodState.container_starts`` every restarted container's start.
* Every pod runs one container. Container logs are what ``kubectl logs --timestamps`` prints:
  ``2026-11-26T14:23:01.000Z INFO  [Main] Starting payment-gateway v2.3.1``. A pod waiting in
  CrashLoopBackOff keeps only the first start-up lines in its current log; the evidence is in
  ``--previous`` (the habit the course teaches).
* Deterministic: the same ``now`` and ``seed`` give an equal ``Scenario``. ``seed`` only moves the
  start-up jitter of the crash loops and the generated ids (uids, container ids).
* No I/O here; writers live in other modules.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

ALLOWED_NAMESPACES = ("payments", "auth", "monitoring", "default")
# Present in the cluster, never allowed: kube-system is the control plane, vault holds secrets.
RESTRICTED_NAMESPACES = ("kube-system", "vault")
NAMESPACES = ALLOWED_NAMESPACES + RESTRICTED_NAMESPACES

PAYMENT_IMAGE = "visa/payment-gw:v2.3.1"
PAYMENT_CONTAINER = "payment-svc"
KUBELET_VERSION = "v1.29.4"

BACKOFF_CAP = timedelta(minutes=5)
RUN_TIME = timedelta(seconds=12)  # container start → OOM kill of a crash-looping payment-svc
HEALTH_LOG_EVERY = timedelta(minutes=15)

Level = Literal["DEBUG", "INFO", "WARN", "ERROR"]
WorkloadKind = Literal["Deployment", "StatefulSet", "Pod"]

# involved-object prefix → (apiVersion, kind), for events
INVOLVED_KINDS = {
    "pod": ("v1", "Pod"),
    "deployment": ("apps/v1", "Deployment"),
    "replicaset": ("apps/v1", "ReplicaSet"),
    "statefulset": ("apps/v1", "StatefulSet"),
    "cronjob": ("batch/v1", "CronJob"),
    "job": ("batch/v1", "Job"),
}

# payment-svc start-up: (ms after container start, level, logger, message)
STARTUP_SEQUENCE: tuple[tuple[int, Level, str, str], ...] = (
    (1000, "INFO", "Main", "Starting payment-gateway v2.3.1"),
    (2000, "INFO", "Config", "Loading application config from ConfigMap"),
    (3000, "INFO", "DB", "Connected to pg-primary:5432"),
    (4000, "INFO", "Redis", "Connected to redis-primary:6379"),
)
# what a crash-looping payment-svc prints after start-up, up to the OOM kill at RUN_TIME
OOM_SEQUENCE: tuple[tuple[int, Level, str, str], ...] = (
    (5000, "INFO", "BatchReconciliation", "Starting daily reconciliation job"),
    (6000, "WARN", "BatchReconciliation", "Loading 2.1M transactions into memory for reconciliation"),
    (8000, "WARN", "GC", "Full GC triggered — heap usage at 92%"),
    (10000, "WARN", "GC", "Full GC triggered — heap usage at 97%"),
    (11000, "ERROR", "BatchReconciliation", "java.lang.OutOfMemoryError: Java heap space"),
    (11000, "ERROR", "BatchReconciliation", "  at java.util.ArrayList.grow(ArrayList.java:265)"),
    (
        11000,
        "ERROR",
        "BatchReconciliation",
        "  at com.visa.payment.BatchReconciliation.loadAllTransactions(BatchReconciliation.java:142)",
    ),
    (
        11000,
        "ERROR",
        "BatchReconciliation",
        "  at com.visa.payment.BatchReconciliation.run(BatchReconciliation.java:87)",
    ),
    (11000, "ERROR", "Main", "Uncaught exception in thread main — shutting down"),
)
CRASH_SEQUENCE = STARTUP_SEQUENCE + OOM_SEQUENCE  # the 13 lines of `kubectl logs --previous`

_UID_NAMESPACE = uuid.UUID("0b5d6f0e-9a43-4c4e-8f5e-2f1d3c7a9b10")


# --------------------------------------------------------------------------------------------------
# Cluster objects
# --------------------------------------------------------------------------------------------------


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

    @property
    def allowed(self) -> bool:
        return self.name in ALLOWED_NAMESPACES


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
class Workload:
    """A Deployment, a StatefulSet, or (kind "Pod") a bare pod that is its own spec.

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
    state: RunningState | WaitingState
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
    """Named moments of the incident (see the module docstring's table)."""

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

    def rows(self) -> tuple[tuple[str, datetime, str], ...]:
        """(attribute, when, what), oldest first: for tables in the CLI and docs."""
        return tuple(
            sorted(((name, getattr(self, name), note) for name, note in TIMELINE_NOTES.items()), key=lambda r: r[1])
        )


TIMELINE_NOTES = {
    "payment_gateway_created": "Deployment payment-gateway created",
    "previous_rollout": "payment-gateway v2.3.0 rolled out",
    "redis_created": "StatefulSets redis-primary and redis-replica created",
    "rollout": "payment-gateway v2.3.1 rolled out (pods abc12, def34, ghi56)",
    "def34_crashloop": "payment-gw-def34 OOM-killed for the first time: crash loop begins",
    "ghi56_crashloop": "payment-gw-ghi56 OOM-killed for the first time: crash loop begins",
    "grafana_rollout": "grafana 10.2.2 → 10.2.3 (unrelated)",
    "redis_evictions": "redis-primary reaches maxmemory and evicts keys",
    "fraud_latency": "fraud-detection cache misses; inference above 500 ms",
    "session_cleanup": "auth CronJob session-cleanup runs (unrelated)",
    "scale_up": "payment-gateway scaled 3 → 5 (jkl78, mno90 created)",
    "upstream_timeouts": "first 30 s timeout calling the card network",
    "breaker_open": "circuit breaker OPEN for card-network-gateway on payment-gw-abc12",
    "ghi56_last_oom": "payment-gw-ghi56 OOM-killed (restart count 32)",
    "def34_last_oom": "payment-gw-def34 OOM-killed (restart count 47)",
}


# --------------------------------------------------------------------------------------------------
# Container log profiles (start-up lines and a periodic line per service)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LogProfile:
    startup: tuple[tuple[int, Level, str, str], ...]
    heartbeat: tuple[Level, str, str] | None = None
    every: timedelta = HEALTH_LOG_EVERY


_LOG_PROFILES = {
    "payment-gateway": _LogProfile(
        (*STARTUP_SEQUENCE, (5000, "INFO", "HealthCheck", "All checks passed")),
        ("INFO", "HealthCheck", "All checks passed"),
    ),
    "fraud-detection": _LogProfile(
        (
            (900, "INFO", "Main", "Starting fraud-detection v1.8.2"),
            (2400, "INFO", "Model", "Loaded model fraud-v12.onnx (41 MB)"),
            (2600, "INFO", "VelocityCache", "Connected to redis-primary:6379"),
            (2700, "INFO", "Main", "Serving on :8080"),
        ),
        ("INFO", "HealthCheck", "Health check passed"),
    ),
    "card-network-gateway": _LogProfile(
        (
            (700, "INFO", "Main", "Starting card-network-gateway v3.0.4"),
            (900, "INFO", "Upstream", "Card network endpoint https://auth.cardnetwork.example (timeout 30000ms)"),
            (1100, "INFO", "Main", "Listening on :8443"),
        ),
        ("INFO", "HealthCheck", "Health check passed"),
    ),
    "auth-service": _LogProfile(
        (
            (800, "INFO", "Main", "Starting auth-service v4.1.0"),
            (1300, "INFO", "TokenService", "Loaded JWKS (2 keys)"),
            (1500, "INFO", "Main", "Listening on :8080"),
        ),
        ("INFO", "HealthCheck", "Health check passed, latency 11ms"),
    ),
    "redis": _LogProfile(
        (
            (200, "INFO", "redis", "Redis version=7.2.4, bits=64, modified=0, just started"),
            (300, "INFO", "redis", "Server initialized"),
            (400, "INFO", "redis", "Ready to accept connections tcp"),
        ),
        ("INFO", "redis", "Background saving terminated with success"),
        timedelta(hours=1),
    ),
    "prometheus": _LogProfile(
        (
            (300, "INFO", "main", "Starting Prometheus Server (version=2.48.1)"),
            (2100, "INFO", "main", "Server is ready to receive web requests."),
        ),
        ("INFO", "tsdb", "Head GC completed"),
        timedelta(hours=2),
    ),
    "grafana": _LogProfile(
        (
            (500, "INFO", "server", "Starting Grafana (version=10.2.3)"),
            (1900, "INFO", "http.server", "HTTP Server Listen (address=[::]:3000)"),
        )
    ),
    "coredns": _LogProfile(((100, "INFO", "coredns", ".:53 CoreDNS-1.11.1 linux/amd64"),)),
    "vault": _LogProfile(
        (
            (400, "INFO", "core", "Vault server started (version 1.15.4)"),
            (1200, "INFO", "core", "vault is unsealed"),
        )
    ),
    "debug-toolbox": _LogProfile(()),
}


# --------------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    now: datetime
    seed: int
    timeline: Timeline
    nodes: tuple[Node, ...]
    namespaces: tuple[Namespace, ...]
    workloads: tuple[Workload, ...]
    pods: tuple[PodState, ...]
    events: tuple[TimelineEvent, ...]
    traces: tuple[Trace, ...]
    slow_queries: tuple[SlowQuery, ...]
    notable_logs: tuple[LogRecord, ...]  # story lines that belong to no trace (breaker, evictions, …)

    # -- lookups ---------------------------------------------------------------------------------

    def pod(self, name: str) -> PodState:
        for pod in self.pods:
            if pod.name == name:
                return pod
        raise KeyError(f"no pod {name!r} in the scenario")

    def pods_in(self, namespace: str) -> tuple[PodState, ...]:
        return tuple(pod for pod in self.pods if pod.namespace == namespace)

    def workload(self, deployment: str, namespace: str | None = None) -> Workload:
        for workload in self.workloads:
            if workload.name == deployment and namespace in (None, workload.namespace):
                return workload
        raise KeyError(f"no workload {deployment!r} in the scenario")

    def workload_of(self, pod: PodState) -> Workload:
        return self.workload(pod.workload, pod.namespace)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in the scenario")

    def trace(self, trace_id: str) -> Trace:
        for trace in self.traces:
            if trace.trace_id == trace_id:
                return trace
        raise KeyError(f"no trace {trace_id!r} in the scenario")

    @property
    def crashing_pods(self) -> tuple[PodState, ...]:
        return tuple(pod for pod in self.pods if pod.crash_looping)

    def uid_for(self, kind: str, namespace: str, name: str) -> str:
        """A stable uid for any object of the cluster (same seed → same uid)."""
        return _uid(self.seed, kind, namespace, name)

    # -- logs ------------------------------------------------------------------------------------

    def story_records(self) -> tuple[LogRecord, ...]:
        """Every trace step and notable line, oldest first: the incident's log records."""
        records = [record for trace in self.traces for record in trace.records()]
        records.extend(self.notable_logs)
        return tuple(sorted(records, key=lambda r: r.at))

    def crash_records(self, pod_name: str) -> tuple[LogRecord, ...]:
        """The OOM sequence of every kill of a crash-looping pod, oldest first.

        The first kill ends the container that had run since the roll-out, so its sequence starts at the
        reconciliation job; every later one is a restarted container and starts with the start-up lines.
        """
        pod = self.pod(pod_name)
        service = self.workload_of(pod).service
        records: list[LogRecord] = []
        for index, kill in enumerate(pod.oom_kills):
            lines = OOM_SEQUENCE if index == 0 else CRASH_SEQUENCE
            records.extend(_records(lines, kill - RUN_TIME, service, pod.name))
        return tuple(records)

    def container_records(self, pod_name: str, previous: bool = False) -> list[LogRecord]:
        """The records behind ``kubectl logs [--previous]`` for the pod's (single) container."""
        pod = self.pod(pod_name)
        service = self.workload_of(pod).service
        if previous:
            if pod.last_state is None:
                raise LookupError(f'previous terminated container "{pod.container}" in pod "{pod.name}" not found')
            return _records(CRASH_SEQUENCE, pod.last_state.started_at, service, pod.name)
        if isinstance(pod.state, WaitingState):
            # no process runs during back-off; the lab keeps the first start-up lines (see the module docstring)
            start = pod.last_state.started_at if pod.last_state else pod.created
            return _records(STARTUP_SEQUENCE, start, service, pod.name)
        started = pod.state.started_at
        profile = _LOG_PROFILES[service]
        records = _records(profile.startup, started, service, pod.name)
        if profile.heartbeat is not None:
            level, logger, message = profile.heartbeat
            records.extend(
                LogRecord(at, service, pod.name, level, logger, message)
                for at in _every(started + profile.every, self.now, profile.every)
            )
        records.extend(r for r in self.story_records() if r.host == pod.name and started <= r.at <= self.now)
        return sorted(records, key=lambda r: r.at)

    def container_logs(self, pod_name: str, previous: bool = False) -> list[str]:
        """``kubectl logs --timestamps [--previous]`` lines, oldest first."""
        return [record.kubectl_line() for record in self.container_records(pod_name, previous)]


def _records(
    lines: tuple[tuple[int, Level, str, str], ...], start: datetime, service: str, host: str
) -> list[LogRecord]:
    return [
        LogRecord(start + timedelta(milliseconds=ms), service, host, level, logger, message)
        for ms, level, logger, message in lines
    ]


def _every(first: datetime, until: datetime, step: timedelta) -> Iterator[datetime]:
    at = first
    while at <= until:
        yield at
        at += step


def _uid(seed: int, kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{seed}/{kind}/{namespace}/{name}"))


def _container_id(seed: int, pod: str, container: str, started: datetime) -> str:
    digest = hashlib.sha256(f"{seed}/{pod}/{container}/{started.isoformat()}".encode()).hexdigest()
    return f"containerd://{digest}"


def backoff_before_restart(restart: int) -> timedelta:
    """The kubelet's CrashLoopBackOff wait before restart number ``restart`` (1-based): 10 s doubling to 5 min."""
    return min(timedelta(seconds=10 * 2 ** min(restart - 1, 10)), BACKOFF_CAP)


def _crash_schedule(
    last_kill: datetime, restarts: int, rng: random.Random
) -> tuple[tuple[datetime, ...], tuple[datetime, ...]]:
    """(container starts, OOM kills) of a pod with ``restarts`` restarts whose last kill was ``last_kill``.

    Worked backwards: each restarted container ran RUN_TIME; before it, the kubelet waited the back-off
    and took 1–3 s to pull and start the image.
    """
    kills = [last_kill]
    starts: list[datetime] = []
    for restart in range(restarts, 0, -1):
        start = kills[0] - RUN_TIME
        starts.insert(0, start)
        kills.insert(0, start - backoff_before_restart(restart) - timedelta(seconds=rng.randint(1, 3)))
    return tuple(starts), tuple(kills)


# --------------------------------------------------------------------------------------------------
# build_scenario
# --------------------------------------------------------------------------------------------------


def build_scenario(now: datetime | None = None, seed: int = 7) -> Scenario:
    """The incident as of ``now`` (default: the current UTC time), truncated to the second."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    t = now.astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 — start-up jitter of a simulation, not security

    def ago(**delta: float) -> datetime:
        return t - timedelta(**delta)

    # crash schedules first: the timeline's ≈ entries come from them
    def34_last_oom, ghi56_last_oom = ago(seconds=18), ago(seconds=64)
    def34_starts, def34_kills = _crash_schedule(def34_last_oom, 47, rng)
    ghi56_starts, ghi56_kills = _crash_schedule(ghi56_last_oom, 32, rng)

    timeline = Timeline(
        payment_gateway_created=ago(days=45),
        previous_rollout=ago(days=17),
        redis_created=ago(days=14),
        rollout=ago(days=3),
        def34_crashloop=def34_kills[0],
        ghi56_crashloop=ghi56_kills[0],
        grafana_rollout=ago(minutes=40),
        redis_evictions=ago(minutes=35),
        fraud_latency=ago(minutes=30),
        session_cleanup=ago(minutes=30).replace(second=0),  # CronJobs fire on the minute
        scale_up=ago(minutes=23),
        upstream_timeouts=ago(minutes=20),
        breaker_open=ago(minutes=15),
        ghi56_last_oom=ghi56_last_oom,
        def34_last_oom=def34_last_oom,
    )

    def node(name: str, ip: str, pod_cidr: str, role: Literal["control-plane", "worker"] = "worker") -> Node:
        return Node(name, ip, pod_cidr, role, ago(days=200), _uid(seed, "Node", "", name))

    nodes = (
        node("control-plane-01", "10.0.1.10", "10.244.0.0/24", "control-plane"),
        node("worker-01", "10.0.1.11", "10.244.1.0/24"),
        node("worker-02", "10.0.1.12", "10.244.2.0/24"),
        node("worker-03", "10.0.1.13", "10.244.3.0/24"),
    )
    namespace_ages = {"kube-system": 200, "default": 200, "monitoring": 150, "vault": 150, "payments": 120, "auth": 90}
    namespaces = tuple(
        Namespace(name, ago(days=namespace_ages[name]), _uid(seed, "Namespace", "", name)) for name in NAMESPACES
    )

    workloads = _workloads(t, timeline)
    pods = _pods(t, seed, timeline, workloads, (def34_starts, def34_kills), (ghi56_starts, ghi56_kills))
    service_of = {pod.name: next(w.service for w in workloads if w.name == pod.workload) for pod in pods}
    return Scenario(
        now=t,
        seed=seed,
        timeline=timeline,
        nodes=nodes,
        namespaces=namespaces,
        workloads=workloads,
        pods=pods,
        events=_events(t, timeline, workloads, pods),
        traces=_traces(t, timeline, def34_starts[-1], service_of),
        slow_queries=_slow_queries(t, def34_starts),
        notable_logs=_notable_logs(t, timeline, service_of),
    )


def _workloads(t: datetime, tl: Timeline) -> tuple[Workload, ...]:
    def ago(**delta: float) -> datetime:
        return t - timedelta(**delta)

    payment_svc = ContainerSpec(
        name=PAYMENT_CONTAINER,
        image=PAYMENT_IMAGE,
        port=8080,
        cpu_request="200m",
        mem_request="256Mi",
        cpu_limit="500m",
        mem_limit="512Mi",
        env=(
            ("SPRING_PROFILES_ACTIVE", "prod"),
            ("DB_HOST", "pg-primary"),
            ("DB_PORT", "5432"),
            ("DB_NAME", "payments"),
            ("DB_USER", "payment_svc"),
            ("DB_PASSWORD", SecretKeyRef("payment-db", "password")),
            ("REDIS_HOST", "redis-primary"),
            ("REDIS_PORT", "6379"),
            ("JAVA_OPTS", "-Xms256m -Xmx384m -XX:+UseG1GC -XX:MaxGCPauseMillis=200"),
            ("CARD_NETWORK_URL", "http://card-network-gateway.payments.svc:8443"),
            # a literal credential in plain env (a real-world smell): the k8s server must mask it
            ("CARD_NETWORK_API_KEY", "cnk_live_lab_7Hq2Lm9Xv4Rt8Wp3Zc6Yb1Nd"),
            ("RECONCILIATION_ENABLED", "true"),
        ),
        liveness=Probe("/health", 8080, initial_delay=10, timeout=3, period=10),
        readiness=Probe("/ready", 8080, initial_delay=5, timeout=2, period=5),
        image_pull_policy="Always",
    )

    def redis(role: str, args: tuple[str, ...]) -> ContainerSpec:
        return ContainerSpec(
            name="redis",
            image="redis:7.2.4",
            port=6379,
            port_name="redis",
            cpu_request="250m",
            mem_request="2Gi",
            cpu_limit="1",
            mem_limit="3Gi",
            env=(("REDIS_ROLE", role), ("REDIS_PASSWORD", SecretKeyRef("redis-auth", "password"))),
            liveness=Probe(None, 6379, initial_delay=15, timeout=2, period=10),
            readiness=Probe(None, 6379, initial_delay=5, timeout=2, period=5),
            args=args,
        )

    redis_args = ("redis-server", "--maxmemory", "2100mb", "--maxmemory-policy", "allkeys-lru")
    return (
        Workload(
            namespace="payments",
            name="payment-gateway",
            kind="Deployment",
            service="payment-gateway",
            replicas=5,
            created=tl.payment_gateway_created,
            containers=(payment_svc,),
            labels=(("app", "payment-gateway"), ("tier", "backend")),
            replicaset_hash="7d9f8b6c5",
            rolled_out=tl.rollout,
            revision=7,
            previous=Revision("5f6c7d8b9", "visa/payment-gw:v2.3.0", tl.previous_rollout, 6),
            service_account="payment-gateway",
        ),
        Workload(
            namespace="payments",
            name="fraud-detection",
            kind="Deployment",
            service="fraud-detection",
            replicas=2,
            created=ago(days=60),
            containers=(
                ContainerSpec(
                    name="fraud-model",
                    image="visa/fraud-detection:v1.8.2",
                    port=8080,
                    cpu_request="500m",
                    mem_request="1Gi",
                    cpu_limit="1",
                    mem_limit="2Gi",
                    env=(
                        ("REDIS_HOST", "redis-primary"),
                        ("DB_HOST", "pg-primary"),
                        ("DB_PASSWORD", SecretKeyRef("fraud-db", "password")),
                        ("MODEL_PATH", "/models/fraud-v12.onnx"),
                        ("INFERENCE_LATENCY_THRESHOLD_MS", "500"),
                    ),
                    liveness=Probe("/health", 8080, initial_delay=20, timeout=3, period=10),
                    readiness=Probe("/ready", 8080, initial_delay=10, timeout=2, period=5),
                ),
            ),
            labels=(("app", "fraud-detection"), ("tier", "backend")),
            replicaset_hash="6b8c7d5f4",
            rolled_out=ago(days=9),
            revision=4,
        ),
        Workload(
            namespace="payments",
            name="card-network-gateway",
            kind="Deployment",
            service="card-network-gateway",
            replicas=2,
            created=ago(days=80),
            containers=(
                ContainerSpec(
                    name="card-net-gw",
                    image="visa/card-network-gw:v3.0.4",
                    port=8443,
                    cpu_request="250m",
                    mem_request="256Mi",
                    cpu_limit="1",
                    mem_limit="512Mi",
                    env=(
                        ("UPSTREAM_URL", "https://auth.cardnetwork.example/v1/authorize"),
                        ("UPSTREAM_TIMEOUT_MS", "30000"),
                        ("CLIENT_CERT_PASSWORD", SecretKeyRef("card-network-tls", "password")),
                    ),
                    liveness=Probe("/health", 8443, initial_delay=10, timeout=3, period=10),
                    readiness=Probe("/ready", 8443, initial_delay=5, timeout=2, period=5),
                ),
            ),
            labels=(("app", "card-network-gateway"), ("tier", "edge")),
            replicaset_hash="59c7b8d6f",
            rolled_out=ago(days=6),
            revision=3,
        ),
        Workload(
            namespace="payments",
            name="redis-primary",
            kind="StatefulSet",
            service="redis",
            replicas=1,
            created=tl.redis_created,
            containers=(redis("primary", redis_args),),
            labels=(("app.kubernetes.io/name", "redis"), ("app.kubernetes.io/component", "primary")),
            replicaset_hash="6f7d8c9b5",
            rolled_out=tl.redis_created,
        ),
        Workload(
            namespace="payments",
            name="redis-replica",
            kind="StatefulSet",
            service="redis",
            replicas=1,
            created=tl.redis_created,
            containers=(redis("replica", (*redis_args, "--replicaof", "redis-primary-0.redis-primary", "6379")),),
            labels=(("app.kubernetes.io/name", "redis"), ("app.kubernetes.io/component", "replica")),
            replicaset_hash="84c9d7f6b",
            rolled_out=tl.redis_created,
        ),
        Workload(
            namespace="auth",
            name="auth-service",
            kind="Deployment",
            service="auth-service",
            replicas=2,
            created=ago(days=90),
            containers=(
                ContainerSpec(
                    name="auth-svc",
                    image="visa/auth-service:v4.1.0",
                    port=8080,
                    cpu_request="100m",
                    mem_request="128Mi",
                    cpu_limit="500m",
                    mem_limit="256Mi",
                    env=(
                        ("JWT_ISSUER", "https://auth.payments.internal"),
                        ("JWT_SIGNING_KEY", SecretKeyRef("auth-jwt", "signing-key")),
                        ("TOKEN_TTL_SECONDS", "3600"),
                    ),
                    liveness=Probe("/health", 8080, initial_delay=10, timeout=2, period=10),
                    readiness=Probe("/ready", 8080, initial_delay=5, timeout=2, period=5),
                ),
            ),
            labels=(("app", "auth-service"), ("tier", "backend")),
            replicaset_hash="7c5d9f8b6",
            rolled_out=ago(days=5),
            revision=12,
        ),
        Workload(
            namespace="monitoring",
            name="prometheus",
            kind="Deployment",
            service="prometheus",
            replicas=1,
            created=ago(days=150),
            containers=(
                ContainerSpec(
                    name="prometheus",
                    image="prom/prometheus:v2.48.1",
                    port=9090,
                    cpu_request="500m",
                    mem_request="2Gi",
                    cpu_limit="2",
                    mem_limit="4Gi",
                    args=("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.retention.time=15d"),
                    liveness=Probe("/-/healthy", 9090, initial_delay=30, timeout=3, period=15),
                    readiness=Probe("/-/ready", 9090, initial_delay=10, timeout=3, period=5),
                ),
            ),
            labels=(("app", "prometheus"),),
            replicaset_hash="6d8f7c9b4",
            rolled_out=ago(days=20),
            revision=9,
            service_account="prometheus",
        ),
        Workload(
            namespace="monitoring",
            name="grafana",
            kind="Deployment",
            service="grafana",
            replicas=1,
            created=ago(days=150),
            containers=(
                ContainerSpec(
                    name="grafana",
                    image="grafana/grafana:10.2.3",
                    port=3000,
                    cpu_request="100m",
                    mem_request="256Mi",
                    cpu_limit="500m",
                    mem_limit="512Mi",
                    env=(
                        ("GF_SERVER_ROOT_URL", "https://grafana.lab.internal"),
                        ("GF_SECURITY_ADMIN_PASSWORD", SecretKeyRef("grafana-admin", "admin-password")),
                    ),
                    liveness=Probe("/api/health", 3000, initial_delay=30, timeout=3, period=10),
                    readiness=Probe("/api/health", 3000, initial_delay=5, timeout=3, period=5),
                ),
            ),
            labels=(("app", "grafana"),),
            replicaset_hash="5c7d8b9f6",
            rolled_out=tl.grafana_rollout,
            revision=15,
            previous=Revision("8f9b6c7d5", "grafana/grafana:10.2.2", ago(days=35), 14),
        ),
        Workload(
            namespace="default",
            name="debug-toolbox",
            kind="Pod",
            service="debug-toolbox",
            replicas=1,
            created=ago(days=2),
            containers=(
                ContainerSpec(
                    name="toolbox", image="nicolaka/netshoot:v0.11", port=None, command=("sleep", "infinity")
                ),
            ),
            labels=(("run", "debug-toolbox"),),
        ),
        Workload(
            namespace="kube-system",
            name="coredns",
            kind="Deployment",
            service="coredns",
            replicas=2,
            created=ago(days=200),
            containers=(
                ContainerSpec(
                    name="coredns",
                    image="registry.k8s.io/coredns/coredns:v1.11.1",
                    port=53,
                    port_name="dns",
                    protocol="UDP",
                    cpu_request="100m",
                    mem_request="70Mi",
                    mem_limit="170Mi",
                    args=("-conf", "/etc/coredns/Corefile"),
                    liveness=Probe("/health", 8080, initial_delay=60, timeout=5, period=10, failure_threshold=5),
                    readiness=Probe("/ready", 8181, initial_delay=0, timeout=1, period=10),
                ),
            ),
            labels=(("k8s-app", "kube-dns"),),
            replicaset_hash="5d78c9869d",
            rolled_out=ago(days=30),
            revision=2,
            service_account="coredns",
        ),
        Workload(
            namespace="vault",
            name="vault",
            kind="StatefulSet",
            service="vault",
            replicas=1,
            created=ago(days=150),
            containers=(
                ContainerSpec(
                    name="vault",
                    image="hashicorp/vault:1.15.4",
                    port=8200,
                    cpu_request="250m",
                    mem_request="256Mi",
                    cpu_limit="1",
                    mem_limit="512Mi",
                    env=(
                        ("VAULT_ADDR", "http://127.0.0.1:8200"),
                        ("VAULT_UNSEAL_KEY", SecretKeyRef("vault-unseal-keys", "key-1")),
                    ),
                    readiness=Probe("/v1/sys/health?standbyok=true", 8200, initial_delay=5, timeout=3, period=5),
                ),
            ),
            labels=(("app.kubernetes.io/name", "vault"),),
            replicaset_hash="7b9c6d8f5",
            rolled_out=ago(days=30),
            service_account="vault",
        ),
    )


def _pods(
    t: datetime,
    seed: int,
    tl: Timeline,
    workloads: tuple[Workload, ...],
    def34: tuple[tuple[datetime, ...], tuple[datetime, ...]],
    ghi56: tuple[tuple[datetime, ...], tuple[datetime, ...]],
) -> tuple[PodState, ...]:
    by_name = {w.name: w for w in workloads}

    def running(name: str, workload: str, node: str, ip: str, created: datetime, cpu: str, memory: str) -> PodState:
        w = by_name[workload]
        spec = w.containers[0]
        started = created + timedelta(seconds=4)
        ready_delay = timedelta(seconds=spec.readiness.initial_delay) if spec.readiness else timedelta()
        return PodState(
            name=name,
            namespace=w.namespace,
            workload=workload,
            node=node,
            ip=ip,
            created=created,
            uid=_uid(seed, "Pod", w.namespace, name),
            container=spec.name,
            phase="Running",
            status="Running",
            ready=True,
            restarts=0,
            state=RunningState(started),
            last_state=None,
            container_id=_container_id(seed, name, spec.name, started),
            ready_since=started + ready_delay,
            cpu_usage=cpu,
            memory_usage=memory,
        )

    def crash_looping(
        name: str, node: str, ip: str, created: datetime, schedule: tuple[tuple[datetime, ...], tuple[datetime, ...]]
    ) -> PodState:
        starts, kills = schedule
        uid = _uid(seed, "Pod", "payments", name)
        last_id = _container_id(seed, name, PAYMENT_CONTAINER, starts[-1])
        backoff = backoff_before_restart(len(starts) + 1)
        return PodState(
            name=name,
            namespace="payments",
            workload="payment-gateway",
            node=node,
            ip=ip,
            created=created,
            uid=uid,
            container=PAYMENT_CONTAINER,
            phase="Running",
            status="CrashLoopBackOff",
            ready=False,
            restarts=len(starts),
            state=WaitingState(
                "CrashLoopBackOff",
                f"back-off {int(backoff.total_seconds()) // 60}m{int(backoff.total_seconds()) % 60}s restarting "
                f"failed container={PAYMENT_CONTAINER} pod={name}_payments({uid})",
            ),
            last_state=TerminatedState("OOMKilled", 137, starts[-1], kills[-1], last_id),
            container_id=last_id,
            ready_since=kills[-1],
            cpu_usage="0m",
            memory_usage="512Mi" if name.endswith("def34") else "510Mi",
            container_starts=starts,
            oom_kills=kills,
        )

    def ago(**delta: float) -> datetime:
        return t - timedelta(**delta)

    scaled = tl.scale_up + timedelta(seconds=1)
    return (
        # payments
        running("payment-gw-abc12", "payment-gateway", "worker-01", "10.244.1.23", tl.rollout, "250m", "384Mi"),
        crash_looping("payment-gw-def34", "worker-02", "10.244.2.15", tl.rollout + timedelta(seconds=20), def34),
        crash_looping("payment-gw-ghi56", "worker-01", "10.244.1.31", tl.rollout + timedelta(seconds=41), ghi56),
        running("payment-gw-jkl78", "payment-gateway", "worker-03", "10.244.3.42", scaled, "230m", "360Mi"),
        running("payment-gw-mno90", "payment-gateway", "worker-02", "10.244.2.47", scaled, "280m", "390Mi"),
        running("redis-primary-0", "redis-primary", "worker-03", "10.244.3.8", tl.redis_created, "180m", "2150Mi"),
        running(
            "redis-replica-0",
            "redis-replica",
            "worker-01",
            "10.244.1.9",
            tl.redis_created + timedelta(seconds=40),
            "120m",
            "1946Mi",
        ),
        running("fraud-ml-01", "fraud-detection", "worker-02", "10.244.2.21", ago(days=9), "610m", "1320Mi"),
        running("fraud-ml-02", "fraud-detection", "worker-03", "10.244.3.27", ago(days=9), "580m", "1290Mi"),
        running("card-net-gw-q7r2x", "card-network-gateway", "worker-01", "10.244.1.44", ago(days=6), "90m", "210Mi"),
        running("card-net-gw-v4t9z", "card-network-gateway", "worker-03", "10.244.3.19", ago(days=6), "85m", "205Mi"),
        # auth
        running("auth-svc-xyz99", "auth-service", "worker-02", "10.244.2.33", ago(days=5), "45m", "142Mi"),
        running("auth-svc-uvw77", "auth-service", "worker-03", "10.244.3.36", ago(days=5), "40m", "138Mi"),
        # monitoring
        running("prometheus-6d8f7c9b4-2xkqp", "prometheus", "worker-02", "10.244.2.12", ago(days=20), "320m", "2870Mi"),
        running(
            "grafana-5c7d8b9f6-m4n8t",
            "grafana",
            "worker-03",
            "10.244.3.51",
            tl.grafana_rollout + timedelta(seconds=1),
            "12m",
            "96Mi",
        ),
        # default
        running("debug-toolbox", "debug-toolbox", "worker-03", "10.244.3.60", ago(days=2), "0m", "4Mi"),
        # kube-system
        running("coredns-5d78c9869d-7xk2p", "coredns", "worker-01", "10.244.1.2", ago(days=30), "4m", "21Mi"),
        running("coredns-5d78c9869d-q9w4m", "coredns", "worker-02", "10.244.2.2", ago(days=30), "3m", "19Mi"),
        # vault
        running("vault-0", "vault", "worker-03", "10.244.3.5", ago(days=30), "18m", "121Mi"),
    )


def _events(
    t: datetime, tl: Timeline, workloads: tuple[Workload, ...], pods: tuple[PodState, ...]
) -> tuple[TimelineEvent, ...]:
    by_pod = {p.name: p for p in pods}
    by_workload = {w.name: w for w in workloads}
    events: list[TimelineEvent] = []

    for pod in (p for p in pods if p.crash_looping):
        kills, starts = pod.oom_kills, pod.container_starts
        # the kubelet re-reports BackOff on its ~10 s syncs while the container waits
        waits = zip(kills, (*starts, t), strict=True)
        backoff_count = sum(max(1, int((start - kill).total_seconds()) // 10) for kill, start in waits)
        last_backoff = min(t, kills[-1] + timedelta(seconds=10 * max(1, int((t - kills[-1]).total_seconds()) // 10)))
        probe = f"http://{pod.ip}:8080/ready"
        refused = f'Readiness probe failed: Get "{probe}": dial tcp {pod.ip}:8080: connect: connection refused'
        second = timedelta(seconds=1)
        # (type, reason, message, count, first, last)
        series: tuple[tuple[Literal["Normal", "Warning"], str, str, int, datetime, datetime], ...] = (
            ("Warning", "OOMKilled", f"Container {pod.container} exceeded memory limit (512Mi)",
             len(kills), kills[0], kills[-1]),
            ("Warning", "BackOff", f"Back-off restarting failed container {pod.container} in pod {pod.name}",
             backoff_count, kills[0] + second, last_backoff),
            ("Warning", "Unhealthy", refused, len(starts), starts[0] + 5 * second, starts[-1] + 5 * second),
            ("Normal", "Pulled", f"Successfully pulled image {PAYMENT_IMAGE}",
             len(starts), starts[0] - second, starts[-1] - second),
            ("Normal", "Created", f"Created container {pod.container}", len(starts), starts[0], starts[-1]),
            ("Normal", "Started", f"Started container {pod.container}", len(starts), starts[0], starts[-1]),
        )  # fmt: skip
        events += [
            TimelineEvent(last, pod.namespace, f"pod/{pod.name}", kind, reason, message, "kubelet", count, first,
                          pod.node, pod.container)
            for kind, reason, message, count, first, last in series
        ]  # fmt: skip

    payment = by_workload["payment-gateway"]
    events.append(
        TimelineEvent(
            tl.scale_up,
            "payments",
            "deployment/payment-gateway",
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {payment.replicaset_name} to 5 from 3",
            "deployment-controller",
        )
    )
    events += _pod_start_events(by_pod["payment-gw-jkl78"], payment)
    events += _pod_start_events(by_pod["payment-gw-mno90"], payment)

    # monitoring: grafana's roll-out 40 minutes ago (a red herring)
    grafana = by_workload["grafana"]
    assert grafana.previous is not None
    old_rs = f"grafana-{grafana.previous.replicaset_hash}"
    old_pod = f"{old_rs}-h2j5k"
    up, down = tl.grafana_rollout, tl.grafana_rollout + timedelta(seconds=25)
    events += [
        TimelineEvent(up, "monitoring", "deployment/grafana", "Normal", "ScalingReplicaSet",
                      f"Scaled up replica set {grafana.replicaset_name} to 1", "deployment-controller"),
        *_pod_start_events(by_pod["grafana-5c7d8b9f6-m4n8t"], grafana),
        TimelineEvent(down, "monitoring", "deployment/grafana", "Normal", "ScalingReplicaSet",
                      f"Scaled down replica set {old_rs} to 0 from 1", "deployment-controller"),
        TimelineEvent(down, "monitoring", f"replicaset/{old_rs}", "Normal", "SuccessfulDelete",
                      f"Deleted pod: {old_pod}", "replicaset-controller"),
        TimelineEvent(down, "monitoring", f"pod/{old_pod}", "Normal", "Killing", "Stopping container grafana",
                      "kubelet", host="worker-02", container="grafana"),
    ]  # fmt: skip

    # auth: the hourly session-cleanup CronJob (a Job's name is its scheduled time in minutes)
    cron = tl.session_cleanup
    job = f"session-cleanup-{int(cron.timestamp()) // 60}"
    events += [
        TimelineEvent(cron, "auth", "cronjob/session-cleanup", "Normal", "SuccessfulCreate", f"Created job {job}",
                      "cronjob-controller"),
        TimelineEvent(cron, "auth", f"job/{job}", "Normal", "SuccessfulCreate", f"Created pod: {job}-8xk2p",
                      "job-controller"),
        TimelineEvent(cron + timedelta(seconds=38), "auth", f"job/{job}", "Normal", "Completed", "Job completed",
                      "job-controller"),
        TimelineEvent(cron + timedelta(seconds=40), "auth", "cronjob/session-cleanup", "Normal", "SawCompletedJob",
                      f"Saw completed job: {job}, status: Complete", "cronjob-controller"),
    ]  # fmt: skip
    return tuple(sorted(events, key=lambda e: (e.at, e.namespace, e.involved, e.reason)))


def _pod_start_events(pod: PodState, workload: Workload) -> list[TimelineEvent]:
    """The events of a pod its ReplicaSet created at ``pod.created`` and the kubelet started 4 s later."""
    at, ns, involved, image = pod.created, pod.namespace, f"pod/{pod.name}", workload.image
    rs = f"replicaset/{workload.replicaset_name}"
    steps = (
        (1, "Pulling", f'Pulling image "{image}"'),
        (3, "Pulled", f"Successfully pulled image {image}"),
        (4, "Created", f"Created container {pod.container}"),
        (4, "Started", f"Started container {pod.container}"),
    )
    return [
        TimelineEvent(at, ns, rs, "Normal", "SuccessfulCreate", f"Created pod: {pod.name}", "replicaset-controller"),
        TimelineEvent(at, ns, involved, "Normal", "Scheduled", f"Successfully assigned {ns}/{pod.name} to {pod.node}",
                      "default-scheduler"),
        *(
            TimelineEvent(at + timedelta(seconds=s), ns, involved, "Normal", reason, message, "kubelet",
                          host=pod.node, container=pod.container)
            for s, reason, message in steps
        ),
    ]  # fmt: skip


# (ms after the trace's base, host pod, level, logger, duration_ms, status_code, message); service = the pod's
_Step = tuple[int, str, Level, str, int | None, int | None, str]
_ABC12, _DEF34, _MNO90 = "payment-gw-abc12", "payment-gw-def34", "payment-gw-mno90"
_TRACE_STEPS: dict[str, tuple[_Step, ...]] = {
    "tx-good01": (
        (0, _ABC12, "INFO", "PaymentService", None, None, "Processing transaction tx-good01 (42.50 USD)"),
        (6, "auth-svc-xyz99", "INFO", "TokenService", 6, 200, "Token validated for merchant m-31377 in 6ms"),
        (52, "fraud-ml-01", "INFO", "Inference", 41, 200, "Fraud score 0.07 for tx-good01 (approve), inference 41ms"),
        (131, "card-net-gw-v4t9z", "INFO", "Upstream", 76, 200, "Card network approved tx-good01 in 76ms"),
        (145, _ABC12, "INFO", "PaymentService", 145, 200, "Transaction tx-good01 completed successfully in 145ms"),
    ),
    "tx-good02": (
        (0, _MNO90, "INFO", "PaymentService", None, None, "Processing transaction tx-good02 (318.00 USD)"),
        (8, "auth-svc-uvw77", "INFO", "TokenService", 8, 200, "Token validated for merchant m-50210 in 8ms"),
        (61, "fraud-ml-02", "INFO", "Inference", 48, 200, "Fraud score 0.12 for tx-good02 (approve), inference 48ms"),
        (152, "card-net-gw-q7r2x", "INFO", "Upstream", 85, 200, "Card network approved tx-good02 in 85ms"),
        (167, _MNO90, "INFO", "PaymentService", 167, 200, "Transaction tx-good02 completed successfully in 167ms"),
    ),
    "tx-def456": (
        (0, _ABC12, "INFO", "PaymentService", None, None, "Processing transaction tx-def456 (1280.00 EUR)"),
        (7, "auth-svc-uvw77", "INFO", "TokenService", 7, 200, "Token validated for merchant m-20871 in 7ms"),
        (52, "fraud-ml-02", "INFO", "Inference", 44, 200, "Fraud score 0.21 for tx-def456 (approve), inference 44ms"),
        (30_060, "card-net-gw-q7r2x", "ERROR", "Upstream", 30_000, 504,
         "Card network authorization for tx-def456 timed out after 30000ms"),
        (30_072, _ABC12, "ERROR", "PaymentService", 30_072, 504,
         "Transaction tx-def456 failed: upstream timeout (30s)"),
    ),
    "tx-abc123": (
        (0, _DEF34, "INFO", "PaymentService", None, None, "Processing transaction tx-abc123 (249.99 USD)"),
        (6, "auth-svc-xyz99", "INFO", "TokenService", 6, 200, "Token validated for merchant m-10442 in 6ms"),
        (890, "fraud-ml-01", "WARN", "Inference", 890, 200, "Model inference latency 890ms (threshold 500ms)"),
        (1824, _DEF34, "ERROR", "BatchReconciliation", None, None, "java.lang.OutOfMemoryError: Java heap space"),
        (1990, "fraud-ml-01", "ERROR", "VelocityCache", None, None,
         "Unable to fetch velocity data from Redis — cache miss"),
        (2157, _DEF34, "ERROR", "BatchReconciliation", 2157, 500, "BatchReconciliation.loadAllTransactions failed"),
    ),
}  # fmt: skip


def _traces(t: datetime, tl: Timeline, def34_last_start: datetime, service_of: dict[str, str]) -> tuple[Trace, ...]:
    bases = {
        "tx-good01": t - timedelta(minutes=21, seconds=30),
        "tx-good02": t - timedelta(minutes=21),
        # the seed's ordering: the transaction fails, 1.333 s later the breaker opens
        "tx-def456": tl.breaker_open - timedelta(milliseconds=30_072 + 1_333),
        # on def34's last run: its OutOfMemoryError is the one the container printed 11 s after start
        "tx-abc123": def34_last_start + timedelta(milliseconds=11_000 - 1_824),
    }
    return tuple(
        Trace(
            trace_id,
            bases[trace_id],
            tuple(
                TraceStep(timedelta(milliseconds=ms), service_of[host], host, level, message, duration, status, logger)
                for ms, host, level, logger, duration, status, message in steps
            ),
        )
        for trace_id, steps in _TRACE_STEPS.items()
    )


def _slow_queries(t: datetime, def34_starts: tuple[datetime, ...]) -> tuple[SlowQuery, ...]:
    # the reconciliation query of def34's run before the last: issued 5 s after start, logged on completion
    run = def34_starts[-2]
    yesterday = (t - timedelta(days=1)).strftime("%Y-%m-%d")
    return (
        SlowQuery(
            run + timedelta(seconds=5, milliseconds=12_500),
            "payment-gateway",
            "payment-gw-def34",
            f"SELECT * FROM transactions WHERE created_at > '{yesterday}'",  # noqa: S608 — text of a logged query, never run
            12_500,
            2_100_000,
        ),
        SlowQuery(
            t - timedelta(minutes=13),
            "payment-gateway",
            "payment-gw-abc12",
            "SELECT t.*, c.name FROM transactions t JOIN customers c ON t.customer_id = c.id "
            "WHERE t.status = 'pending'",
            8_700,
            450_000,
        ),
        SlowQuery(
            t - timedelta(minutes=28),
            "fraud-detection",
            "fraud-ml-02",
            "UPDATE fraud_scores SET recalculated=true WHERE checked_at < now() - INTERVAL 24 HOUR",
            5_200,
            180_000,
        ),
    )


def _notable_logs(t: datetime, tl: Timeline, service_of: dict[str, str]) -> tuple[LogRecord, ...]:
    ms = timedelta(milliseconds=1)
    # (when, host pod, level, logger, duration_ms, status_code, message)
    lines: tuple[tuple[datetime, str, Level, str, int | None, int | None, str], ...] = (
        (tl.redis_evictions + 214 * ms, "redis-primary-0", "WARN", "redis", None, None,
         "used_memory 2.05G of maxmemory 2.10G — evicting keys (allkeys-lru)"),
        (tl.fraud_latency + 530 * ms, "fraud-ml-01", "WARN", "VelocityCache", None, None,
         "Velocity cache hit rate 58% (baseline 95%) — misses fall back to Postgres"),
        (tl.fraud_latency + 90_120 * ms, "fraud-ml-02", "WARN", "Inference", 640, None,
         "Model inference latency 640ms (threshold 500ms)"),
        (tl.upstream_timeouts + 318 * ms, "card-net-gw-q7r2x", "ERROR", "Upstream", 30_000, 504,
         "Card network authorization timed out after 30000ms"),
        (tl.breaker_open, _ABC12, "ERROR", "CircuitBreaker", None, None,
         "Circuit breaker OPEN for card-network-gateway (12/10 failures)"),
        (t - 89_900 * ms, "auth-svc-xyz99", "INFO", "HealthCheck", None, None, "Health check passed, latency 12ms"),
        (t - 59_800 * ms, "auth-svc-xyz99", "WARN", "TokenService", None, None,
         "JWT token expires in 4 hours for service account batch-sa"),
    )  # fmt: skip
    return tuple(
        LogRecord(at, service_of[host], host, level, logger, message, "", duration, status)
        for at, host, level, logger, duration, status, message in lines
    )
