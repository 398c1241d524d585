"""Official client model objects → the compact, kubectl-like views the tools return.

One path for both backends: whatever produced a `V1Pod`, it is shown the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client import (
    CoreV1Event,
    V1Container,
    V1ContainerState,
    V1ContainerStatus,
    V1Deployment,
    V1Pod,
    V1Probe,
)

from k8s_mcp.models import Condition, ContainerDetail, DeploymentSummary, EventSummary, PodSummary
from mcp_common.audit import redact


def name_of(obj: Any) -> str:
    """An API object's name (the client types it Optional; the API always sets it)."""
    return str(obj.metadata.name or "")


def age(then: datetime | None, now: datetime) -> str:
    """Human duration as kubectl prints it (45s, 5m30s, 23m, 3h5m, 14h, 2d3h, 45d, 2y)."""
    if then is None:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y"


def pod_status(pod: V1Pod) -> str:
    """The STATUS column of `kubectl get pods`: container states win over the pod phase."""
    status = pod.status
    reason = (status.reason if status else None) or (status.phase if status else None) or "Unknown"
    for index, init in enumerate((status.init_container_statuses or []) if status else []):
        terminated, waiting = init.state.terminated if init.state else None, init.state.waiting if init.state else None
        if terminated is not None and terminated.exit_code == 0:
            continue
        if terminated is not None:
            return f"Init:{terminated.reason or f'ExitCode:{terminated.exit_code}'}"
        if waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
            return f"Init:{waiting.reason}"
        return f"Init:{index}/{len(pod.spec.init_containers or [])}"
    has_running = False
    for cs in reversed((status.container_statuses or []) if status else []):
        state = cs.state or V1ContainerState()
        if state.waiting is not None and state.waiting.reason:
            reason = state.waiting.reason
        elif state.terminated is not None:
            term = state.terminated
            reason = term.reason or (f"Signal:{term.signal}" if term.signal else f"ExitCode:{term.exit_code}")
        elif cs.ready and state.running is not None:
            has_running = True
    if reason == "Completed" and has_running:
        reason = "Running"
    if pod.metadata.deletion_timestamp is not None:
        reason = "Terminating"
    return reason


def ready_count(pod: V1Pod) -> str:
    statuses = (pod.status.container_statuses or []) if pod.status else []
    total = len(pod.spec.containers or []) if pod.spec else len(statuses)
    return f"{sum(1 for cs in statuses if cs.ready)}/{total}"


def restarts(pod: V1Pod) -> int:
    return sum(cs.restart_count or 0 for cs in ((pod.status.container_statuses or []) if pod.status else []))


def is_ready(pod: V1Pod) -> bool:
    statuses = (pod.status.container_statuses or []) if pod.status else []
    return bool(statuses) and all(cs.ready for cs in statuses) and pod_status(pod) == "Running"


def _resource(containers: list[V1Container], kind: str, name: str) -> str | None:
    values = []
    for container in containers:
        resources = container.resources
        source = (resources.requests if kind == "requests" else resources.limits) if resources else None
        if source and name in source:
            values.append(str(source[name]))
    return "+".join(values) or None


def describe_state(state: V1ContainerState | None, now: datetime) -> str | None:
    """'Running since 3d', 'Waiting (CrashLoopBackOff)', 'Terminated (OOMKilled, exit code 137) 1m ago'."""
    if state is None:
        return None
    if state.running is not None:
        return f"Running (started {age(state.running.started_at, now)} ago)"
    if state.waiting is not None:
        return f"Waiting ({state.waiting.reason or 'unknown'})"
    if state.terminated is not None:
        term = state.terminated
        when = f" {age(term.finished_at, now)} ago" if term.finished_at else ""
        return f"Terminated ({term.reason or 'Error'}, exit code {term.exit_code}){when}"
    return None


def last_termination(pod: V1Pod, now: datetime) -> str | None:
    for cs in (pod.status.container_statuses or []) if pod.status else []:
        if cs.last_state is not None and cs.last_state.terminated is not None:
            return describe_state(cs.last_state, now)
    return None


def summarize_pod(pod: V1Pod, now: datetime) -> PodSummary:
    containers = pod.spec.containers or []
    return PodSummary(
        name=pod.metadata.name,
        status=pod_status(pod),
        ready=ready_count(pod),
        restarts=restarts(pod),
        age=age(pod.metadata.creation_timestamp, now),
        node=pod.spec.node_name,
        cpu_request=_resource(containers, "requests", "cpu"),
        memory_request=_resource(containers, "requests", "memory"),
        memory_limit=_resource(containers, "limits", "memory"),
        last_termination=last_termination(pod, now),
    )


def describe_probe(probe: V1Probe | None) -> str | None:
    """A probe in `kubectl describe` notation."""
    if probe is None:
        return None
    if probe.http_get is not None:
        action = f"HTTP GET {probe.http_get.path or '/'} :{probe.http_get.port}"
    elif probe.tcp_socket is not None:
        action = f"TCP :{probe.tcp_socket.port}"
    elif probe.var_exec is not None:
        action = "exec " + " ".join(probe.var_exec.command or [])
    elif probe.grpc is not None:
        action = f"gRPC :{probe.grpc.port}"
    else:
        action = "probe"
    return (
        f"{action} delay={probe.initial_delay_seconds or 0}s timeout={probe.timeout_seconds or 1}s "
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
            else:
                env[var.name] = "<reference>"
        else:
            # Defence in depth: a literal credential in a pod spec must still not leave the server.
            env[var.name] = str(redact(var.value or "", key=var.name))
    return env or None


def _quantities(values: dict[str, str] | None) -> dict[str, str] | None:
    return {key: str(value) for key, value in values.items()} if values else None


def describe_container(container: V1Container, cs: V1ContainerStatus | None, now: datetime) -> ContainerDetail:
    resources = container.resources
    return ContainerDetail(
        name=container.name,
        image=container.image or (cs.image if cs else "") or "",
        ready=bool(cs and cs.ready),
        restart_count=(cs.restart_count or 0) if cs else 0,
        state=(describe_state(cs.state, now) if cs else None) or "Unknown",
        last_state=describe_state(cs.last_state, now) if cs else None,
        requests={k: str(v) for k, v in (resources.requests or {}).items()}
        if resources and resources.requests
        else None,
        limits={k: str(v) for k, v in (resources.limits or {}).items()} if resources and resources.limits else None,
        liveness_probe=describe_probe(container.liveness_probe),
        readiness_probe=describe_probe(container.readiness_probe),
        env=describe_env(container),
    )


def event_time(event: CoreV1Event) -> datetime | None:
    return event.last_timestamp or event.event_time or event.first_timestamp or event.metadata.creation_timestamp


def summarize_event(event: CoreV1Event, now: datetime) -> EventSummary:
    seen = event_time(event)
    involved = event.involved_object
    return EventSummary(
        last_seen=seen.isoformat().replace("+00:00", "Z") if seen else "",
        age=age(seen, now),
        type=event.type or "Normal",
        reason=event.reason or "",
        object=f"{(involved.kind or '').lower()}/{involved.name}",
        message=(event.message or "").strip(),
        count=event.count or 1,
    )


def summarize_deployment(deployment: V1Deployment, now: datetime) -> DeploymentSummary:
    spec, status = deployment.spec, deployment.status
    desired = spec.replicas if spec and spec.replicas is not None else 1
    ready = (status.ready_replicas or 0) if status else 0
    return DeploymentSummary(
        name=deployment.metadata.name,
        ready=f"{ready}/{desired}",
        desired=desired,
        up_to_date=(status.updated_replicas or 0) if status else 0,
        available=(status.available_replicas or 0) if status else 0,
        images=[c.image or "" for c in spec.template.spec.containers] if spec else [],
        age=age(deployment.metadata.creation_timestamp, now),
        conditions=[
            Condition(type=c.type, status=c.status, reason=c.reason, message=c.message)
            for c in ((status.conditions or []) if status else [])
        ],
    )
