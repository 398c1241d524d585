"""Why a pod or a workload is not healthy, read from the same facts `kubectl describe` shows: container states
and last states (reason, message, exit code), pod conditions, the pod's events, and the workload's conditions.

Each detector returns `Problem`s: a cause kind, the pod and container, a short phrase for the verdict and the
evidence lines that support it. `diagnosis` groups them per kind across the workload's pods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kubernetes.client import CoreV1Event, V1Container, V1ContainerStateWaiting, V1ContainerStatus, V1Pod

from k8s_mcp.formatting import (
    age,
    describe_probe,
    describe_state,
    event_count,
    event_time,
    pod_containers,
    probe_action,
)
from k8s_mcp.index import name_of
from k8s_mcp.pod_status import PodRow
from k8s_mcp.statuses import CONFIG_REASONS, CRASH_REASONS, IMAGE_REASONS
from mcp_common.redaction import redact_text

RECENT = timedelta(hours=24)  # a restart within this window keeps a workload from being called healthy
CREATING_EVENTS = ("FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox", "FailedSync", "NetworkNotReady")
PROBE_KINDS = ("Liveness", "Readiness", "Startup")
_BACKOFF = re.compile(r"back-off (\S+) restarting failed container", re.IGNORECASE)

# Order of importance: the first kinds explain the others (an unschedulable pod has no containers to crash).
SEVERITY = (
    "unschedulable",
    "replica_failure",
    "evicted",
    "node_lost",
    "image_pull",
    "config_error",
    "init_failure",
    "stuck_creating",
    "oom_killed",
    "crash_loop",
    "probe_failure",
    "restarts",
    "job_failed",
    "job_retrying",
    "rollout_stuck",
    "missing_pods",
    "not_ready",
)


@dataclass
class Problem:
    kind: str
    pod: str | None
    phrase: str  # what is wrong, for the verdict ("cannot pull image x: not found")
    evidence: list[str] = field(default_factory=list)
    container: str | None = None
    restarts: int = 0
    memory_limit: str | None = None


def first_line(text: str | None, limit: int = 240) -> str:
    """The first line of a message, secrets masked, cut in the middle when too long: kubelet, containerd and
    scheduler messages are wrapped Go errors (`failed to pull …: failed to resolve …: dial tcp: … no such host`),
    whose root cause is the last link, so the head says what failed and the tail says why. Every message a
    diagnosis quotes goes through here; masking before the cut keeps half a secret from surviving it."""
    line = redact_text(next((part.strip() for part in (text or "").splitlines() if part.strip()), ""))
    if len(line) <= limit:
        return line
    tail = limit * 2 // 3
    return f"{line[: limit - tail - 3].rstrip()} … {line[-tail:].lstrip()}"


def describe_event(event: CoreV1Event, now: datetime) -> str:
    count = event_count(event)
    times = f" ×{count}" if count > 1 else ""
    return f"event {event.reason}{times} ({age(event_time(event), now)} ago): {first_line(event.message, 300)}"


def latest(events: list[CoreV1Event], *reasons: str, contains: str = "") -> CoreV1Event | None:
    found = [
        e for e in events if (not reasons or e.reason in reasons) and contains.lower() in (e.message or "").lower()
    ]
    return max(found, key=lambda e: (event_time(e) is not None, event_time(e)), default=None)


def _container_line(pod: V1Pod, kind: str, container: V1Container, cs: V1ContainerStatus, now: datetime) -> str:
    role = {"init": "init container", "sidecar": "sidecar"}.get(kind, "container")
    parts = [f"pod/{name_of(pod)} {role} {container.name}: {describe_state(cs.state, now) or 'no state'}"]
    for state in (cs.state, cs.last_state):
        message = None
        if state is not None and state.waiting is not None:
            message = state.waiting.message
        elif state is not None and state.terminated is not None:
            message = state.terminated.message
        if message:
            parts.append(first_line(message, 300))
    if cs.last_state is not None and cs.last_state.terminated is not None:
        parts.append(f"last state {describe_state(cs.last_state, now)}")
    if cs.restart_count:
        parts.append(f"restarts {cs.restart_count}")
    return "; ".join(parts)


def memory_limit(container: V1Container) -> str | None:
    limits = container.resources.limits if container.resources else None
    return str(limits["memory"]) if limits and "memory" in limits else None


def _scheduling(pod: V1Pod, events: list[CoreV1Event], now: datetime) -> Problem | None:
    for condition in (pod.status.conditions or []) if pod.status else []:
        if condition.type == "PodScheduled" and condition.status == "False":
            event = latest(events, "FailedScheduling")
            message = condition.message or (event.message if event else None) or condition.reason or "not scheduled"
            why = f" ({condition.reason})" if condition.reason else ""
            evidence = [f"pod/{name_of(pod)} condition PodScheduled=False{why}: {first_line(message, 300)}"]
            if event is not None:
                evidence.append(describe_event(event, now))
            return Problem("unschedulable", name_of(pod), f"unschedulable: {first_line(message)}", evidence)
    if pod.spec is not None and not pod.spec.node_name:
        event = latest(events, "FailedScheduling")
        if event is not None:
            return Problem(
                "unschedulable",
                name_of(pod),
                f"unschedulable: {first_line(event.message)}",
                [describe_event(event, now)],
            )
    return None


def _waiting_problem(
    pod: V1Pod, kind: str, container: V1Container, cs: V1ContainerStatus, events: list[CoreV1Event], now: datetime
) -> Problem | None:
    waiting = cs.state.waiting if cs.state else None
    reason = waiting.reason if waiting else None
    line = _container_line(pod, kind, container, cs, now)
    if reason in IMAGE_REASONS:
        event = (
            latest(events, "Failed", contains="failed to pull")
            or latest(events, "Failed", contains="pull")
            or latest(events, "Failed", "InspectFailed", "ErrImageNeverPull")
        )
        detail = first_line(event.message if event else waiting.message) or reason
        evidence = [line] + ([describe_event(event, now)] if event else [])
        phrase = f"cannot pull image {container.image}: {detail}"
        return Problem("image_pull", name_of(pod), phrase, evidence, container.name)
    if reason in CONFIG_REASONS:
        event = latest(events, "Failed", contains="error")
        detail = first_line(waiting.message) or first_line(event.message if event else None) or reason
        evidence = [line] + ([describe_event(event, now)] if event else [])
        return Problem("config_error", name_of(pod), f"{reason}: {detail}", evidence, container.name)
    if reason == "ContainerCreating" or (reason == "PodInitializing" and kind == "init"):
        event = latest(events, *CREATING_EVENTS)
        if event is not None:
            phrase = f"stuck in {reason}: {event.reason}: {first_line(event.message)}"
            return Problem("stuck_creating", name_of(pod), phrase, [line, describe_event(event, now)], container.name)
    return None


def _terminated_problem(
    pod: V1Pod, kind: str, container: V1Container, cs: V1ContainerStatus, events: list[CoreV1Event], now: datetime
) -> Problem | None:
    """A container that crashes: now (terminated with an error, crash-looping) or, for OOM, in its last state."""
    state, last = cs.state, cs.last_state
    waiting = state.waiting if state else None
    terminated = state.terminated if state else None
    last_terminated = last.terminated if last else None
    line = _container_line(pod, kind, container, cs, now)
    oom = next((t for t in (terminated, last_terminated) if t is not None and t.reason == "OOMKilled"), None)
    crashing = (waiting is not None and waiting.reason in CRASH_REASONS) or (
        terminated is not None and (terminated.exit_code or 0) != 0
    )
    recent = _restarted_recently(cs, now)
    if oom is not None and (crashing or recent or terminated is oom):
        limit = memory_limit(container)
        return Problem(
            "oom_killed",
            name_of(pod),
            f"OOMKilled at {limit or 'no'} memory limit",
            [line],
            container.name,
            restarts=cs.restart_count or 0,
            memory_limit=limit,
        )
    if crashing:
        source = terminated if terminated is not None and (terminated.exit_code or 0) != 0 else last_terminated
        why = (source.reason or "Error") if source else (waiting.reason if waiting else "Error")
        code = source.exit_code if source else None
        detail = first_line((source.message if source else None) or _not_boilerplate(waiting), 160)
        phrase = f"container {container.name} last exit {why}" + (f", code {code}" if code is not None else "")
        backoff = _BACKOFF.match(waiting.message or "") if waiting is not None else None
        if cs.restart_count or backoff:
            plural = "" if cs.restart_count == 1 else "s"
            facts = [f"{cs.restart_count} restart{plural}"] if cs.restart_count else []
            phrase += f" ({', '.join(facts + ([f'back-off {backoff.group(1)}'] if backoff else []))})"
        evidence = [line]
        event = latest(events, "BackOff") or latest(events, "Failed")
        if event is not None:
            evidence.append(describe_event(event, now))
        problem = Problem(
            "crash_loop",
            name_of(pod),
            phrase + (f": {detail}" if detail else ""),
            evidence,
            container.name,
            restarts=cs.restart_count or 0,
        )
        if kind == "init":
            problem.kind = "init_failure"
            problem.phrase = (
                f"init container {container.name} fails ({why}"
                + (f", exit code {code})" if code is not None else ")")
                + (f": {detail}" if detail else "")
            )
        return problem
    return None


def _not_boilerplate(waiting: V1ContainerStateWaiting | None) -> str | None:
    """A waiting message worth quoting as the reason: the kubelet's "back-off 40s restarting failed
    container=main pod=my-pod_argocd(<uid>)" says only how long it waits, which the phrase already gives."""
    if waiting is None or not waiting.message or _BACKOFF.match(waiting.message):
        return None
    return str(waiting.message)


def _restarted_recently(cs: V1ContainerStatus, now: datetime) -> bool:
    if not cs.restart_count:
        return False
    last = cs.last_state.terminated if cs.last_state else None
    if last is None or last.finished_at is None:
        return True  # restarts without a known time: cannot call them old
    return now - last.finished_at <= RECENT


def _probe_problem(pod: V1Pod, row: PodRow, events: list[CoreV1Event], now: datetime) -> Problem | None:
    for probe in PROBE_KINDS:
        event = latest(events, "Unhealthy", contains=f"{probe} probe")
        if event is None:
            continue
        if probe == "Readiness" and row.is_ready:
            continue  # it recovered
        message = first_line(event.message)
        return Problem(
            "probe_failure", name_of(pod), f"{probe.lower()} probe failing: {message}", [describe_event(event, now)]
        )
    return None


def _pod_level(pod: V1Pod, row: PodRow, events: list[CoreV1Event], now: datetime) -> Problem | None:
    """What is wrong with the pod as a whole: evicted, its node lost, or never scheduled."""
    status = pod.status
    message = first_line(status.message if status else None, 300)
    if status is not None and status.reason == "Evicted":
        return Problem(
            "evicted",
            name_of(pod),
            f"evicted: {first_line(status.message)}",
            [f"pod/{name_of(pod)} {row.status}: {message}"],
        )
    if row.status in ("Unknown", "NodeLost") or (status is not None and status.reason == "NodeLost"):
        phrase = f"node {pod.spec.node_name} unreachable"
        return Problem("node_lost", name_of(pod), phrase, [f"pod/{name_of(pod)} {row.status}: {message}"])
    return _scheduling(pod, events, now)


def _container_problems(pod: V1Pod, events: list[CoreV1Event], now: datetime) -> list[Problem]:
    """Containers that cannot start or keep failing, init containers first: while one has not completed, the
    regular containers have not started and it alone explains the pod."""
    problems: list[Problem] = []
    for kind, container, cs in pod_containers(pod):
        if cs is None:
            continue
        found = _waiting_problem(pod, kind, container, cs, events, now) or _terminated_problem(
            pod, kind, container, cs, events, now
        )
        if found is not None:
            if kind == "init" and found.kind == "crash_loop":
                found.kind = "init_failure"
            problems.append(found)
        if kind == "init" and not (cs.state and cs.state.terminated and cs.state.terminated.exit_code == 0):
            break
    return problems


def _restart_problems(pod: V1Pod, now: datetime) -> list[Problem]:
    problems = []
    for kind, container, cs in pod_containers(pod):
        if cs is None or not _restarted_recently(cs, now):
            continue
        last = cs.last_state.terminated if cs.last_state else None
        when = f" {age(last.finished_at, now)} ago" if last is not None and last.finished_at else ""
        why = f"{last.reason or 'Error'}, exit code {last.exit_code}" if last is not None else "reason unknown"
        phrase = f"container {container.name} restarted {cs.restart_count} times (last{when}: {why})"
        evidence = [_container_line(pod, kind, container, cs, now)]
        problems.append(
            Problem("restarts", name_of(pod), phrase, evidence, container.name, restarts=cs.restart_count or 0)
        )
    return problems


def pod_problems(pod: V1Pod, row: PodRow, events: list[CoreV1Event], now: datetime) -> list[Problem]:
    """Everything wrong with one pod, most telling first; empty for a ready pod with no recent restart."""
    whole = _pod_level(pod, row, events, now)
    if whole is not None:
        return [whole]
    problems = _container_problems(pod, events, now)
    if problems:
        return problems
    probe = _probe_problem(pod, row, events, now)
    if probe is not None:
        return [probe]
    problems = _restart_problems(pod, now)
    if problems:
        return problems
    if not row.is_ready and row.status not in ("Completed", "Succeeded"):
        warnings = [e for e in events if e.type == "Warning"]
        gates = _unpassed_probes(pod, now)
        evidence = [f"pod/{name_of(pod)} {row.status} {row.ready}", *(line for _, line in gates)]
        evidence += [describe_event(e, now) for e in warnings[-2:]]
        phrase = f"{row.status}, {row.ready} containers ready" + "".join(f"; {short}" for short, _ in gates[:2])
        return [Problem("not_ready", name_of(pod), phrase, evidence)]
    return []


def _unpassed_probes(pod: V1Pod, now: datetime) -> list[tuple[str, str]]:
    """Running containers kept unready by a probe that has not passed. Probe failures are only events, and a
    capture (or a cluster after an hour) may hold none: the container running unready with a readiness probe is
    the fact that remains, and the probe's target is what to check. (short phrase, evidence line) per container."""
    lines = []
    for kind, container, cs in pod_containers(pod):
        if kind == "init" or cs is None or cs.ready or not (cs.state and cs.state.running):
            continue
        if cs.started is False and container.startup_probe is not None:
            probe, which = container.startup_probe, "startup"
        elif container.readiness_probe is not None:
            probe, which = container.readiness_probe, "readiness"
        else:
            continue
        since = f" for {age(cs.state.running.started_at, now)}" if cs.state.running.started_at else ""
        lines.append(
            (
                f"{which} probe of {container.name} ({probe_action(probe)}) not passing",
                f"container {container.name} running{since}, not ready: {which} probe {describe_probe(probe)} "
                "not passing",
            )
        )
    return lines
