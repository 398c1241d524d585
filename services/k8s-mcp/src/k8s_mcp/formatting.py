"""Official client model objects → the compact, kubectl-like views of pods, containers and events.

One path for both backends: whatever produced a `V1Pod`, it is shown the same way. The READY/STATUS/RESTARTS
columns come from `pod_status` (kubectl's own printer, ported); workloads are summarised in `workloads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kubernetes.client import (
    CoreV1Event,
    V1Container,
    V1ContainerState,
    V1ContainerStatus,
    V1Pod,
    V1Probe,
)

from k8s_mcp.models import Condition, ContainerDetail, EventSummary, PodSummary
from k8s_mcp.objects import controller_of
from k8s_mcp.pod_status import PodRow, human_duration, is_restartable_init_container
from mcp_common.redaction import clip_text, redact_env_value

MAX_MESSAGE = 1000  # characters of a container's or an event's message kept (a stack trace can be 100 kB)

ContainerKind = Literal["init", "sidecar", "container"]


def age(then: datetime | None, now: datetime) -> str:
    """An age as kubectl prints it (45s, 5m30s, 23m, 3h5m, 14h, 2d3h, 45d, 2y37d)."""
    return human_duration(then, now)


def clip(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    """A message as the answers show it (container states, conditions, events): secrets masked, then cut. A
    crash message can carry a connection string with its password as easily as an env var can."""
    if not text:
        return None
    return clip_text(text.strip(), limit)


def pod_containers(pod: V1Pod) -> Iterator[tuple[ContainerKind, V1Container, V1ContainerStatus | None]]:
    """Every container of a pod in the order kubelet starts them: init containers (native sidecars marked),
    then the regular ones, each with its status when the kubelet reported one."""
    status = pod.status
    init_statuses = {cs.name: cs for cs in ((status.init_container_statuses or []) if status else [])}
    statuses = {cs.name: cs for cs in ((status.container_statuses or []) if status else [])}
    for container in (pod.spec.init_containers or []) if pod.spec else []:
        kind: ContainerKind = "sidecar" if is_restartable_init_container(container) else "init"
        yield kind, container, init_statuses.get(container.name)
    for container in (pod.spec.containers or []) if pod.spec else []:
        yield "container", container, statuses.get(container.name)


def container_names(pod: V1Pod) -> list[str]:
    return [container.name for _, container, _ in pod_containers(pod)]


def _resource(containers: list[V1Container], kind: str, name: str) -> str | None:
    values = []
    for container in containers:
        resources = container.resources
        source = (resources.requests if kind == "requests" else resources.limits) if resources else None
        if source and name in source:
            values.append(str(source[name]))
    return "+".join(values) or None


def describe_state(state: V1ContainerState | None, now: datetime) -> str | None:
    """'Running (started 3d ago)', 'Waiting (CrashLoopBackOff)', 'Terminated (OOMKilled, exit code 137) 1m ago'."""
    if state is None:
        return None
    if state.running is not None:
        return f"Running (started {age(state.running.started_at, now)} ago)"
    if state.waiting is not None:
        return f"Waiting ({state.waiting.reason or 'unknown'})"
    if state.terminated is not None:
        term = state.terminated
        why = term.reason or (f"Signal:{term.signal}" if term.signal else "Error")
        when = f" {age(term.finished_at, now)} ago" if term.finished_at else ""
        return f"Terminated ({why}, exit code {term.exit_code}){when}"
    return None


def state_facts(state: V1ContainerState | None) -> tuple[str | None, str | None, int | None]:
    """(reason, message, exit code) of a container state: the text that usually carries the cause."""
    if state is None:
        return None, None, None
    if state.waiting is not None:
        return state.waiting.reason, clip(state.waiting.message), None
    if state.terminated is not None:
        term = state.terminated
        return term.reason, clip(term.message), term.exit_code
    return None, None, None


def telling_termination(pod: V1Pod) -> V1ContainerState | None:
    """The most telling termination among all containers: a current failing one first, then a previous one."""
    for attribute in ("state", "last_state"):
        for _, _, cs in pod_containers(pod):
            state = getattr(cs, attribute, None) if cs is not None else None
            if state is not None and state.terminated is not None and not _clean_exit(state):
                return state
    for _, _, cs in pod_containers(pod):
        if cs is not None and cs.last_state is not None and cs.last_state.terminated is not None:
            return cs.last_state
    return None


def last_termination(pod: V1Pod, now: datetime) -> str | None:
    return describe_state(telling_termination(pod), now)


def _clean_exit(state: V1ContainerState) -> bool:
    return state.terminated is not None and state.terminated.exit_code == 0 and state.terminated.reason != "OOMKilled"


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What a pod's list row shows besides kubectl's columns and its ages: computed once per pod object."""

    node: str | None
    cpu_request: str | None
    memory_request: str | None
    memory_limit: str | None
    termination: V1ContainerState | None


def pod_facts(pod: V1Pod) -> PodFacts:
    containers = pod.spec.containers or []
    return PodFacts(
        node=pod.spec.node_name,
        cpu_request=_resource(containers, "requests", "cpu"),
        memory_request=_resource(containers, "requests", "memory"),
        memory_limit=_resource(containers, "limits", "memory"),
        termination=telling_termination(pod),
    )


def summarize_pod(pod: V1Pod, row: PodRow, facts: PodFacts, now: datetime) -> PodSummary:
    return PodSummary(
        name=pod.metadata.name,
        status=row.status,
        ready=row.ready,
        restarts=row.restarts,
        last_restart=age(row.last_restart, now) if row.last_restart else None,
        age=age(pod.metadata.creation_timestamp, now),
        node=facts.node,
        cpu_request=facts.cpu_request,
        memory_request=facts.memory_request,
        memory_limit=facts.memory_limit,
        last_termination=describe_state(facts.termination, now),
    )


def probe_action(probe: V1Probe) -> str:
    """What a probe checks, as `kubectl describe` names it: `HTTP GET /healthz :8080`, `TCP :5432`, `exec …`."""
    if probe.http_get is not None:
        return f"HTTP GET {probe.http_get.path or '/'} :{probe.http_get.port}"
    if probe.tcp_socket is not None:
        return f"TCP :{probe.tcp_socket.port}"
    if probe.var_exec is not None:
        return "exec " + " ".join(probe.var_exec.command or [])
    if probe.grpc is not None:
        return f"gRPC :{probe.grpc.port}"
    return "probe"


def describe_probe(probe: V1Probe | None) -> str | None:
    """A probe in `kubectl describe` notation."""
    if probe is None:
        return None
    return (
        f"{probe_action(probe)} delay={probe.initial_delay_seconds or 0}s timeout={probe.timeout_seconds or 1}s "
        f"period={probe.period_seconds or 10}s #success={probe.success_threshold or 1} "
        f"#failure={probe.failure_threshold or 3}"
    )


def describe_env(container: V1Container) -> dict[str, str] | None:
    """Env as shown to clients: references stay references, credential-looking values are masked."""
    env: dict[str, str] = {}
    for var in container.env or []:
        source = var.value_from
        if source is not None:
            if source.secret_key_ref is not None:
                env[var.name] = f"<secret {source.secret_key_ref.name}/{source.secret_key_ref.key}>"
            elif source.config_map_key_ref is not None:
                env[var.name] = f"<configmap {source.config_map_key_ref.name}/{source.config_map_key_ref.key}>"
            elif source.field_ref is not None:
                env[var.name] = f"<field {source.field_ref.field_path}>"
            elif source.resource_field_ref is not None:
                env[var.name] = f"<resource {source.resource_field_ref.resource}>"
            else:
                env[var.name] = "<reference>"
        else:
            # Defence in depth: a literal credential in a pod spec must still not leave the server.
            env[var.name] = redact_env_value(var.name, var.value or "")
    return env or None


def _quantities(values: dict[str, str] | None) -> dict[str, str] | None:
    return {key: str(value) for key, value in values.items()} if values else None


def describe_container(
    kind: ContainerKind, container: V1Container, cs: V1ContainerStatus | None, now: datetime
) -> ContainerDetail:
    resources = container.resources
    reason, message, exit_code = state_facts(cs.state if cs else None)
    last_reason, last_message, last_exit_code = state_facts(cs.last_state if cs else None)
    return ContainerDetail(
        name=container.name,
        kind=kind,
        image=container.image or (cs.image if cs else "") or "",
        ready=bool(cs and cs.ready),
        started=cs.started if cs else None,
        restart_count=(cs.restart_count or 0) if cs else 0,
        state=(describe_state(cs.state, now) if cs else None) or "Waiting (no status reported yet)",
        reason=reason,
        message=message,
        exit_code=exit_code,
        last_state=describe_state(cs.last_state, now) if cs else None,
        last_reason=last_reason,
        last_message=last_message,
        last_exit_code=last_exit_code,
        requests=_quantities(resources.requests) if resources else None,
        limits=_quantities(resources.limits) if resources else None,
        liveness_probe=describe_probe(container.liveness_probe),
        readiness_probe=describe_probe(container.readiness_probe),
        startup_probe=describe_probe(container.startup_probe),
        env=describe_env(container),
    )


def owner_of(obj: object) -> str | None:
    ref = controller_of(obj)
    return f"{ref.kind}/{ref.name}" if ref is not None else None


def conditions_of(obj: object) -> list[Condition]:
    status = getattr(obj, "status", None)
    return [
        Condition(type=c.type, status=c.status, reason=c.reason, message=clip(c.message))
        for c in ((getattr(status, "conditions", None) or []) if status is not None else [])
    ]


def event_time(event: CoreV1Event) -> datetime | None:
    series = event.series.last_observed_time if event.series else None
    return (
        event.last_timestamp or series or event.event_time or event.first_timestamp or event.metadata.creation_timestamp
    )


def event_count(event: CoreV1Event) -> int:
    return event.count or (event.series.count if event.series and event.series.count else 1)


def summarize_event(event: CoreV1Event, now: datetime) -> EventSummary:
    seen = event_time(event)
    involved = event.involved_object
    return EventSummary(
        last_seen=seen.isoformat().replace("+00:00", "Z") if seen else "",
        age=age(seen, now),
        type=event.type or "Normal",
        reason=event.reason or "",
        object=f"{(involved.kind or '').lower()}/{involved.name}",
        message=clip(event.message) or "",
        count=event_count(event),
    )
