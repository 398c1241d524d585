"""The read-only domain functions behind the tools. Plain, typed and blocking (the server runs them in a
thread): arguments arrive validated; each returns a result model. Each reads one namespace's index, so its cost
follows the namespace, not the cluster."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from k8s_mcp.backends import ClusterBackend
from k8s_mcp.formatting import (
    age,
    clip,
    conditions_of,
    container_names,
    describe_container,
    event_time,
    owner_of,
    pod_containers,
    summarize_event,
    summarize_pod,
)
from k8s_mcp.index import name_of
from k8s_mcp.models import (
    CronJobList,
    DaemonSetList,
    DeploymentList,
    EventList,
    EventSummary,
    JobList,
    LogLines,
    NamespaceInfo,
    NamespaceList,
    PodCounts,
    PodDetail,
    PodList,
    StatefulSetList,
)
from k8s_mcp.namespaces import NamespacePolicy
from k8s_mcp.pod_status import print_pod
from k8s_mcp.statuses import status_matcher
from k8s_mcp.workloads import (
    summarize_cronjob,
    summarize_daemonset,
    summarize_deployment,
    summarize_job,
    summarize_statefulset,
)
from mcp_common.errors import ToolError
from mcp_common.models import bounded

T = TypeVar("T")

MAX_PODS = 200
MAX_WORKLOADS = 100
MAX_NAMESPACES = 100
POD_EVENTS = 15
LOG_FETCH_WITH_GREP = 5000  # lines scanned when filtering, so a grep can reach past the last `lines`
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def list_pods(backend: ClusterBackend, namespace: str, status_filter: str | None, now: datetime) -> PodList:
    index = backend.index(namespace, ("Pod",))
    rows = index.pod_rows()
    total_pods, ready, completed = index.pod_counts()
    counts = PodCounts(total=total_pods, running=ready, not_ready=total_pods - ready - completed)
    if status_filter:
        matcher = status_matcher(status_filter, {row.status for _, row in rows})
        rows = [(pod, row) for pod, row in rows if matcher(row)]
    kept, total, truncated = bounded(rows, MAX_PODS)
    hint = None
    if truncated:
        hint = f"showing {MAX_PODS} of {total}: narrow with status_filter (e.g. 'failing', 'pending', 'Init:*')"
    elif status_filter and not kept:
        present = sorted({row.status for _, row in index.pod_rows()})
        hint = f"no pod matches {status_filter}; statuses present: {', '.join(present) or 'none'}"
    return PodList(
        namespace=namespace,
        status_filter=status_filter,
        items=[summarize_pod(pod, row, index.facts(pod), now) for pod, row in kept],
        total=total,
        truncated=truncated,
        summary=counts,
        hint=hint,
    )


def choose_container(backend: ClusterBackend, namespace: str, pod_name: str, container: str | None) -> str:
    """The container to read: the one asked for (init, sidecar or regular), else kubectl's default (the
    `kubectl.kubernetes.io/default-container` annotation, else the first regular container)."""
    pod = backend.get("Pod", namespace, pod_name)
    names = container_names(pod)
    if container is None:
        annotated = (pod.metadata.annotations or {}).get(DEFAULT_CONTAINER_ANNOTATION)
        if annotated in names:
            return str(annotated)
        regular = [c.name for c in pod.spec.containers or []]
        if not regular:
            raise ToolError(f"pod '{pod_name}' has no containers")
        return regular[0]
    if container not in names:
        described = ", ".join(f"{c.name} ({kind})" for kind, c, _ in pod_containers(pod))
        raise ToolError(f"pod '{pod_name}' has no container '{container}'; containers: {described}")
    return container


def get_pod_logs(
    backend: ClusterBackend,
    namespace: str,
    pod_name: str,
    lines: int,
    previous: bool,
    grep: str | None,
    container: str | None,
) -> LogLines:
    container = choose_container(backend, namespace, pod_name, container)
    fetched = backend.pod_log(
        namespace, pod_name, container, previous=previous, tail_lines=LOG_FETCH_WITH_GREP if grep else lines + 1
    )
    if grep:
        # A literal, case-insensitive substring: no regex, so no pathological patterns.
        needle = grep.casefold()
        fetched = [line for line in fetched if needle in line.casefold()]
    kept = fetched[-lines:]
    truncated = len(fetched) > lines
    hint = None
    if truncated:
        hint = "older lines exist: raise lines (max 500) or filter with grep"
    elif not kept and not previous:
        hint = "no lines; if the container restarted, call again with previous=true"
    return LogLines(
        namespace=namespace,
        pod=pod_name,
        container=container,
        previous=previous,
        grep=grep,
        lines=kept,
        returned=len(kept),
        truncated=truncated,
        hint=hint,
    )


def recent_events(
    backend: ClusterBackend, namespace: str, names: set[str], now: datetime, limit: int
) -> list[EventSummary]:
    events = backend.events_for(namespace, names)
    events.sort(key=lambda e: event_time(e) or now, reverse=True)
    return [summarize_event(e, now) for e in events[:limit]]


def describe_pod(backend: ClusterBackend, namespace: str, pod_name: str, now: datetime) -> PodDetail:
    pod = backend.get("Pod", namespace, pod_name)
    row = print_pod(pod)
    status = pod.status
    return PodDetail(
        name=name_of(pod),
        namespace=namespace,
        status=row.status,
        ready=row.ready,
        restarts=row.restarts,
        node=pod.spec.node_name,
        ip=status.pod_ip if status else None,
        qos_class=status.qos_class if status else None,
        age=age(pod.metadata.creation_timestamp, now),
        owner=owner_of(pod),
        reason=status.reason if status else None,
        message=clip(status.message) if status else None,
        containers=[describe_container(kind, c, cs, now) for kind, c, cs in pod_containers(pod)],
        conditions=conditions_of(pod),
        events=recent_events(backend, namespace, {pod_name}, now, POD_EVENTS),
    )


def list_deployments(backend: ClusterBackend, namespace: str, now: datetime) -> DeploymentList:
    items, total, truncated = _summaries(backend, namespace, "Deployment", summarize_deployment, now)
    return DeploymentList(namespace=namespace, items=items, total=total, truncated=truncated)


def list_statefulsets(backend: ClusterBackend, namespace: str, now: datetime) -> StatefulSetList:
    items, total, truncated = _summaries(backend, namespace, "StatefulSet", summarize_statefulset, now)
    return StatefulSetList(namespace=namespace, items=items, total=total, truncated=truncated)


def list_daemonsets(backend: ClusterBackend, namespace: str, now: datetime) -> DaemonSetList:
    items, total, truncated = _summaries(backend, namespace, "DaemonSet", summarize_daemonset, now)
    return DaemonSetList(namespace=namespace, items=items, total=total, truncated=truncated)


def _summaries(
    backend: ClusterBackend, namespace: str, kind: str, summarize: Callable[[Any, datetime], T], now: datetime
) -> tuple[list[T], int, bool]:
    objects = backend.index(namespace, (kind,)).items(kind)
    return bounded([summarize(obj, now) for obj in objects], MAX_WORKLOADS)


def list_jobs(backend: ClusterBackend, namespace: str, now: datetime) -> JobList:
    jobs = backend.index(namespace, ("Job",)).items("Job")
    # newest first: the run that just failed matters more than last month's
    jobs.sort(key=lambda j: j.metadata.creation_timestamp or now, reverse=True)
    kept, total, truncated = bounded([summarize_job(j, now) for j in jobs], MAX_WORKLOADS)
    return JobList(namespace=namespace, items=kept, total=total, truncated=truncated)


def list_cronjobs(backend: ClusterBackend, namespace: str, now: datetime) -> CronJobList:
    index = backend.index(namespace, ("CronJob", "Job"))
    items = [summarize_cronjob(c, index.jobs_of(c), now) for c in index.items("CronJob")]
    kept, total, truncated = bounded(items, MAX_WORKLOADS)
    return CronJobList(namespace=namespace, items=kept, total=total, truncated=truncated)


def get_events(
    backend: ClusterBackend,
    namespace: str,
    event_type: str | None,
    involved_object: str | None,
    limit: int,
    now: datetime,
) -> EventList:
    if involved_object:
        kind, _, name = involved_object.rpartition("/")
        events = backend.events_for(namespace, {name})
        if kind:
            events = [e for e in events if (e.involved_object.kind or "").lower() == kind.lower()]
    else:
        events = backend.index(namespace, ("Event",)).items("Event")
    if event_type:
        events = [e for e in events if (e.type or "Normal") == event_type]
    events.sort(key=lambda e: event_time(e) or now, reverse=True)
    kept, total, truncated = bounded(events, limit)
    return EventList(
        namespace=namespace,
        items=[summarize_event(e, now) for e in kept],
        total=total,
        truncated=truncated,
        hint="raise limit, or filter by event_type / involved_object" if truncated else None,
    )


def list_namespaces(backend: ClusterBackend, policy: NamespacePolicy, now: datetime) -> NamespaceList:
    present = {name_of(ns): ns for ns in backend.namespaces()}
    visible = [name for name in policy.visible(present) if name in present]
    kept, total, truncated = bounded(visible, MAX_NAMESPACES)
    items = [
        NamespaceInfo(
            name=name,
            status=(present[name].status.phase if present[name].status else None) or "Active",
            age=age(present[name].metadata.creation_timestamp, now),
            pods=len(backend.index(name, ("Pod",)).items("Pod")),
        )
        for name in kept
    ]
    missing = [name for name in policy.named if name not in present]
    note = "only namespaces this server is allowed to read are listed"
    if missing:
        note += f"; allowed but absent from the cluster: {', '.join(missing)}"
    if truncated:
        note += f"; showing {MAX_NAMESPACES} of {total}"
    return NamespaceList(items=items, note=note)
