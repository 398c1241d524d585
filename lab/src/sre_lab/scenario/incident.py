"""`Scenario`: the incident as of its "now", with the lookups and the container logs every seeder reads."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sre_lab.scenario.model import (
    CrashLoop,
    LogLine,
    LogProfile,
    LogRecord,
    Namespace,
    Node,
    PodState,
    SlowQuery,
    TerminatedState,
    Timeline,
    TimelineEvent,
    Trace,
    WaitingState,
    Workload,
)

_UID_NAMESPACE = uuid.UUID("0b5d6f0e-9a43-4c4e-8f5e-2f1d3c7a9b10")


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
    crash_loop: CrashLoop
    log_profiles: Mapping[str, LogProfile] = field(compare=False, repr=False)
    kubelet_version: str

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
        return uid(self.seed, kind, namespace, name)

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
            lines = self.crash_loop.oom if index == 0 else self.crash_loop.sequence
            records.extend(_records(lines, kill - self.crash_loop.run_time, service, pod.name))
        return tuple(records)

    def container_records(self, pod_name: str, previous: bool = False) -> list[LogRecord]:
        """The records behind ``kubectl logs [--previous]`` for the pod's (single) container."""
        pod = self.pod(pod_name)
        service = self.workload_of(pod).service
        if previous:
            if pod.last_state is None:
                raise LookupError(f'previous terminated container "{pod.container}" in pod "{pod.name}" not found')
            return _records(self.crash_loop.sequence, pod.last_state.started_at, service, pod.name)
        if isinstance(pod.state, WaitingState):
            # no process runs during back-off; the lab keeps the first start-up lines (see the package docstring)
            start = pod.last_state.started_at if pod.last_state else pod.created
            return _records(self.crash_loop.startup, start, service, pod.name)
        started = pod.state.started_at
        ended = pod.state.finished_at if isinstance(pod.state, TerminatedState) else self.now
        profile = self.log_profiles[service]
        records = _records(profile.startup, started, service, pod.name)
        if profile.heartbeat is not None:
            level, logger, message = profile.heartbeat
            records.extend(
                LogRecord(at, service, pod.name, level, logger, message)
                for at in _every(started + profile.every, ended, profile.every)
            )
        records.extend(r for r in self.story_records() if r.host == pod.name and started <= r.at <= ended)
        return sorted(records, key=lambda r: r.at)

    def container_logs(self, pod_name: str, previous: bool = False) -> list[str]:
        """``kubectl logs --timestamps [--previous]`` lines, oldest first."""
        return [record.kubectl_line() for record in self.container_records(pod_name, previous)]


def _records(lines: tuple[LogLine, ...], start: datetime, service: str, host: str) -> list[LogRecord]:
    return [
        LogRecord(start + timedelta(milliseconds=ms), service, host, level, logger, message)
        for ms, level, logger, message in lines
    ]


def _every(first: datetime, until: datetime, step: timedelta) -> Iterator[datetime]:
    at = first
    while at <= until:
        yield at
        at += step


def uid(seed: int, kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{seed}/{kind}/{namespace}/{name}"))


def container_id(seed: int, pod: str, container: str, started: datetime) -> str:
    digest = hashlib.sha256(f"{seed}/{pod}/{container}/{started.isoformat()}".encode()).hexdigest()
    return f"containerd://{digest}"


def backoff_before_restart(restart: int, cap: timedelta = timedelta(minutes=5)) -> timedelta:
    """The kubelet's CrashLoopBackOff wait before restart number ``restart`` (1-based): 10 s doubling to ``cap``."""
    return min(timedelta(seconds=10 * 2 ** min(restart - 1, 10)), cap)


def crash_schedule(
    last_kill: datetime, restarts: int, crash_loop: CrashLoop, rng: random.Random
) -> tuple[tuple[datetime, ...], tuple[datetime, ...]]:
    """(container starts, OOM kills) of a pod with ``restarts`` restarts whose last kill was ``last_kill``.

    Worked backwards: each restarted container ran ``crash_loop.run_time``; before it, the kubelet waited the back-off
    and took 1–3 s to pull and start the image.
    """
    kills = [last_kill]
    starts: list[datetime] = []
    for restart in range(restarts, 0, -1):
        start = kills[0] - crash_loop.run_time
        starts.insert(0, start)
        backoff = backoff_before_restart(restart, crash_loop.backoff_cap)
        kills.insert(0, start - backoff - timedelta(seconds=rng.randint(1, 3)))
    return tuple(starts), tuple(kills)
