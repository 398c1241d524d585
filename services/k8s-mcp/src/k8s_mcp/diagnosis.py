"""`diagnose_deployment`: deployment → pods → container last states → warning events → crash log tail,
condensed into one verdict an on-call engineer can read in a second."""

from __future__ import annotations

import re
from datetime import datetime

from kubernetes.client import V1Pod

from k8s_mcp.backends import ClusterBackend
from k8s_mcp.formatting import (
    event_time,
    is_ready,
    last_termination,
    name_of,
    pod_status,
    ready_count,
    restarts,
    summarize_event,
)
from k8s_mcp.models import Diagnosis, PodFinding
from mcp_common.errors import ToolError

CRASH_STATUSES = {"CrashLoopBackOff", "OOMKilled", "Error", "RunContainerError"}
IMAGE_STATUSES = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z?\s+")
_LEVELLED = re.compile(r"^(?:\d{2}:\d{2}:\d{2}\s+)?(?:ERROR|FATAL|SEVERE|CRITICAL|WARN|INFO)\s+(?:\[[^\]]*\]\s+)?")
_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|SEVERE|Exception|Error:|panic:|Traceback)\b")
_FRAME = re.compile(r"\bat\s+([\w$.]+)\(")
_PLATFORM_FRAME = ("java.", "javax.", "jdk.", "sun.", "kotlin.", "scala.")
MAX_LOG_LINES = 200


def _termination(pod: V1Pod) -> tuple[str | None, int | None]:
    """Reason and exit code of the most telling termination: current state first, then last state."""
    for cs in (pod.status.container_statuses or []) if pod.status else []:
        for state in (cs.state, cs.last_state):
            if state is not None and state.terminated is not None:
                return state.terminated.reason, state.terminated.exit_code
    return None, None


def _memory_limit(pod: V1Pod) -> str | None:
    for container in pod.spec.containers or []:
        if container.resources and container.resources.limits and "memory" in container.resources.limits:
            return str(container.resources.limits["memory"])
    return None


def _message(line: str) -> str:
    return _LEVELLED.sub("", _TIMESTAMP.sub("", line)).strip()


def crash_summary(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first error in a crash log with its frame ('X in Class.method'), and the excerpt around it."""
    for index, line in enumerate(lines):
        if not _ERROR_LINE.search(line) or _FRAME.search(line):
            continue
        excerpt = lines[index : index + 5]
        message = _message(line)
        for follow in lines[index + 1 : index + 20]:
            frame = _FRAME.search(follow)
            if frame is None:
                continue
            qualified = frame.group(1)
            if not qualified.startswith(_PLATFORM_FRAME):
                message += " in " + ".".join(qualified.split(".")[-2:])
                break
        return message, excerpt
    return None, []


def diagnose_deployment(backend: ClusterBackend, namespace: str, name: str, now: datetime) -> Diagnosis:
    deployment = backend.deployment(namespace, name)
    selector = deployment.spec.selector.match_labels if deployment.spec and deployment.spec.selector else None
    if not selector:
        raise ToolError(f"deployment '{name}' has no matchLabels selector; inspect it with list_pods instead")
    pods = sorted(backend.pods(namespace, selector), key=name_of)
    desired = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    image = ", ".join(c.image or "" for c in deployment.spec.template.spec.containers)
    ready = sum(1 for p in pods if is_ready(p))

    findings = [
        PodFinding(
            name=p.metadata.name,
            status=pod_status(p),
            ready=ready_count(p),
            restarts=restarts(p),
            last_termination=last_termination(p, now),
            memory_limit=_memory_limit(p),
        )
        for p in pods
    ]
    crashed = [p for p in pods if pod_status(p) in CRASH_STATUSES]
    crashed.sort(key=restarts, reverse=True)
    oom = [p for p in pods if _termination(p)[0] == "OOMKilled"]
    image_problems = [p for p in pods if pod_status(p) in IMAGE_STATUSES]

    pod_names = {p.metadata.name for p in pods}
    warnings = [
        e
        for e in backend.events(namespace)
        if e.type == "Warning"
        and (e.involved_object.name in pod_names or (e.involved_object.name or "").startswith(name))
    ]
    warnings.sort(key=lambda e: event_time(e) or now, reverse=True)

    log_message: str | None = None
    excerpt: list[str] = []
    log_source: str | None = None
    if crashed:
        pod = crashed[0]
        container = pod.spec.containers[0].name
        has_previous = any(cs.last_state and cs.last_state.terminated for cs in pod.status.container_statuses or [])
        try:
            lines = backend.pod_log(namespace, pod.metadata.name, container, previous=has_previous, tail_lines=200)
        except ToolError:
            lines = []
        log_message, excerpt = crash_summary(lines)
        log_source = f"{pod.metadata.name}/{container} ({'previous' if has_previous else 'current'} container)"

    verdict = _verdict(oom, crashed, image_problems, pods, desired, image, log_message)
    health = "healthy" if ready >= desired and not crashed and not image_problems else "degraded"
    if desired > 0 and ready == 0:
        health = "down"
    verdict = verdict or f"healthy: {ready}/{desired} pods ready, image {image}"
    steps = _next_steps(namespace, crashed, oom, log_message)

    return Diagnosis(
        namespace=namespace,
        deployment=name,
        health=health,
        verdict=verdict,
        replicas=f"{ready}/{desired} ready",
        image=image,
        pods=findings,
        warning_events=[summarize_event(e, now) for e in warnings[:10]],
        log_excerpt=excerpt or None,
        log_source=log_source,
        next_steps=steps,
    )


def _verdict(
    oom: list[V1Pod],
    crashed: list[V1Pod],
    image_problems: list[V1Pod],
    pods: list[V1Pod],
    desired: int,
    image: str,
    log_message: str | None,
) -> str:
    parts: list[str] = []
    if oom:
        limits = sorted({_memory_limit(p) or "no" for p in oom})
        counts = ", ".join(str(restarts(p)) for p in oom)
        parts.append(f"{len(oom)}/{desired} pods OOMKilled at {'/'.join(limits)} limit (restarts {counts})")
    elif crashed:
        reason, code = _termination(crashed[0])
        parts.append(f"{len(crashed)}/{desired} pods crash-looping (last exit: {reason or 'Error'}, code {code})")
    if image_problems:
        parts.append(f"{len(image_problems)}/{desired} pods cannot pull image {image}")
    if len(pods) < desired and not parts:
        parts.append(f"only {len(pods)}/{desired} pods exist")
    if log_message:
        parts.append(f"last log: {log_message}")
    return "; ".join(parts)


def _next_steps(namespace: str, crashed: list[V1Pod], oom: list[V1Pod], log_message: str | None) -> list[str]:
    steps: list[str] = []
    if crashed:
        first = crashed[0].metadata.name
        steps.append(f"get_pod_logs(namespace='{namespace}', pod_name='{first}', previous=true) for the crash log")
        steps.append(f"describe_pod(namespace='{namespace}', pod_name='{first}') for limits, probes and events")
    if oom:
        steps.append("runbooks: find_runbooks_for_error('OOMKilled') or search_runbooks('pod OOMKilled memory limit')")
    if log_message:
        steps.append(f"logs: search_logs(keyword='{log_message.split(':')[0][:60]}') to see it across pods")
    if not steps:
        steps.append(f"get_events(namespace='{namespace}', event_type='Warning') for anything recent")
    return steps
