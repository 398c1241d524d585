"""The read-only domain functions behind the tools. Plain, typed and blocking (the server runs them in a
thread): arguments arrive validated; each returns a result model."""

from __future__ import annotations

from datetime import datetime

from k8s_mcp.backends import ClusterBackend
from k8s_mcp.formatting import (
    age,
    describe_container,
    event_time,
    is_ready,
    name_of,
    pod_status,
    summarize_deployment,
    summarize_event,
    summarize_pod,
)
from k8s_mcp.models import (
    Condition,
    DeploymentList,
    EventList,
    EventSummary,
    LogLines,
    NamespaceInfo,
    NamespaceList,
    PodCounts,
    PodDetail,
    PodList,
)
from mcp_common.errors import ToolError
from mcp_common.models import bounded

MAX_PODS = 200
MAX_DEPLOYMENTS = 100
LOG_FETCH_WITH_GREP = 5000  # lines scanned when filtering, so a grep can reach past the last `lines`


def list_pods(backend: ClusterBackend, namespace: str, status_filter: str | None, now: datetime) -> PodList:
    pods = sorted(backend.pods(namespace), key=name_of)
    summaries = [summarize_pod(p, now) for p in pods]
    counts = PodCounts(
        total=len(pods),
        running=sum(1 for p in pods if is_ready(p)),
        not_ready=sum(1 for p in pods if not is_ready(p)),
    )
    if status_filter:
        summaries = [s for s in summaries if s.status.lower() == status_filter.lower()]
    items, total, truncated = bounded(summaries, MAX_PODS)
    hint = None
    if truncated:
        hint = "narrow with status_filter"
    elif status_filter and not items:
        present = sorted({pod_status(p) for p in pods})
        hint = f"no pod has status {status_filter}; statuses present: {', '.join(present) or 'none'}"
    return PodList(
        namespace=namespace,
        status_filter=status_filter,
        items=items,
        total=total,
        truncated=truncated,
        summary=counts,
        hint=hint,
    )


def default_container(backend: ClusterBackend, namespace: str, pod_name: str, container: str | None) -> str:
    pod = backend.pod(namespace, pod_name)
    names = [c.name for c in pod.spec.containers or []]
    if container is None:
        if not names:
            raise ToolError(f"pod '{pod_name}' has no containers")
        return names[0]
    if container not in names:
        raise ToolError(f"pod '{pod_name}' has no container '{container}'; containers: {', '.join(names)}")
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
    container = default_container(backend, namespace, pod_name, container)
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


def pod_events(
    backend: ClusterBackend, namespace: str, pod_name: str, now: datetime, limit: int = 10
) -> list[EventSummary]:
    events = [e for e in backend.events(namespace) if e.involved_object.name == pod_name]
    events.sort(key=lambda e: event_time(e) or now, reverse=True)
    return [summarize_event(e, now) for e in events[:limit]]


def describe_pod(backend: ClusterBackend, namespace: str, pod_name: str, now: datetime) -> PodDetail:
    pod = backend.pod(namespace, pod_name)
    statuses = {cs.name: cs for cs in (pod.status.container_statuses or [])} if pod.status else {}
    owner = next(iter(pod.metadata.owner_references or []), None)
    return PodDetail(
        name=pod.metadata.name,
        namespace=namespace,
        status=pod_status(pod),
        node=pod.spec.node_name,
        ip=pod.status.pod_ip if pod.status else None,
        qos_class=pod.status.qos_class if pod.status else None,
        age=age(pod.metadata.creation_timestamp, now),
        owner=f"{owner.kind}/{owner.name}" if owner else None,
        containers=[describe_container(c, statuses.get(c.name), now) for c in pod.spec.containers or []],
        conditions=[
            Condition(type=c.type, status=c.status, reason=c.reason, message=c.message)
            for c in ((pod.status.conditions or []) if pod.status else [])
        ],
        events=pod_events(backend, namespace, pod_name, now),
    )


def list_deployments(backend: ClusterBackend, namespace: str, now: datetime) -> DeploymentList:
    deployments = sorted(backend.deployments(namespace), key=name_of)
    items, total, truncated = bounded([summarize_deployment(d, now) for d in deployments], MAX_DEPLOYMENTS)
    return DeploymentList(namespace=namespace, items=items, total=total, truncated=truncated)


def get_events(
    backend: ClusterBackend,
    namespace: str,
    event_type: str | None,
    involved_object: str | None,
    limit: int,
    now: datetime,
) -> EventList:
    events = backend.events(namespace)
    if event_type:
        events = [e for e in events if (e.type or "Normal") == event_type]
    if involved_object:
        kind, _, name = involved_object.rpartition("/")
        events = [
            e
            for e in events
            if e.involved_object.name == name and (not kind or (e.involved_object.kind or "").lower() == kind.lower())
        ]
    events.sort(key=lambda e: event_time(e) or now, reverse=True)
    items, total, truncated = bounded([summarize_event(e, now) for e in events], limit)
    return EventList(
        namespace=namespace,
        items=items,
        total=total,
        truncated=truncated,
        hint="raise limit, or filter by event_type / involved_object" if truncated else None,
    )


def list_namespaces(backend: ClusterBackend, allowed: tuple[str, ...], now: datetime) -> NamespaceList:
    present = {ns.metadata.name: ns for ns in backend.namespaces()}
    items = [
        NamespaceInfo(
            name=name,
            status=(present[name].status.phase if present[name].status else None) or "Active",
            age=age(present[name].metadata.creation_timestamp, now),
            pods=len(backend.pods(name)),
        )
        for name in allowed
        if name in present
    ]
    missing = [name for name in allowed if name not in present]
    note = "only namespaces this server is allowed to read are listed"
    if missing:
        note += f"; allowed but absent from the cluster: {', '.join(missing)}"
    return NamespaceList(items=items, note=note)
