"""kubectl's pod printer: the READY, STATUS and RESTARTS columns of `kubectl get pods`, exactly.

A port of `printPod` in kubernetes/kubernetes `pkg/printers/internalversion/printers.go` (v1.29 and later: native
sidecars, i.e. init containers with `restartPolicy: Always`, count in READY and RESTARTS; a pod whose init
containers are done but which reports `Initialized=True` is past its init phase; a terminal pod being deleted keeps
its status; a running pod with a completed container reads `NotReady` unless the pod is Ready). The API server runs
the same function for server-side printing, so these are the values every kubectl version since 1.29 shows.

Kept close to the Go text on purpose, branch for branch, so the two can be compared side by side; the statuses it
can produce are listed in `KNOWN_STATUSES` for `list_pods`' status filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the server imports this module at start (see objects.py)
    from kubernetes.client import V1Container, V1ContainerStatus, V1Pod

NODE_UNREACHABLE_POD_REASON = "NodeLost"  # k8s.io/kubernetes/pkg/util/node.NodeUnreachablePodReason
TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class PodRow:
    """One pod as `kubectl get pods` prints it, minus the clock-dependent parts (AGE and "(5m ago)")."""

    status: str
    ready_containers: int
    total_containers: int
    restarts: int
    last_restart: datetime | None  # the newest lastState.terminated.finishedAt among the counted containers

    @property
    def ready(self) -> str:
        return f"{self.ready_containers}/{self.total_containers}"

    @property
    def is_ready(self) -> bool:
        """Every container (and native sidecar) ready and the pod Running: what "serving" means for a workload."""
        return self.status == "Running" and self.ready_containers == self.total_containers


def is_restartable_init_container(container: V1Container | None) -> bool:
    """A native sidecar: an init container with `restartPolicy: Always` (KEP-753)."""
    return container is not None and container.restart_policy == "Always"


def _condition_true(pod: V1Pod, kind: str) -> bool:
    for condition in (pod.status.conditions or []) if pod.status else []:
        if condition.type == kind:
            return condition.status == "True"
    return False


def _later(current: datetime | None, status: V1ContainerStatus) -> datetime | None:
    last = status.last_state.terminated if status.last_state else None
    finished = last.finished_at if last else None
    if finished is not None and (current is None or finished > current):
        return finished
    return current


def _terminated_reason(prefix: str, reason: str | None, signal: int | None, exit_code: int | None) -> str:
    if reason:
        return prefix + reason
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{exit_code or 0}"


def print_pod(pod: V1Pod) -> PodRow:  # noqa: PLR0912, PLR0915 - kubectl's printPod, branch for branch
    """READY, STATUS and RESTARTS for one pod, as kubectl computes them (see the module docstring)."""
    spec, status = pod.spec, pod.status
    containers = (spec.containers or []) if spec else []
    init_specs = (spec.init_containers or []) if spec else []
    init_statuses = (status.init_container_statuses or []) if status else []
    container_statuses = (status.container_statuses or []) if status else []
    phase = (status.phase if status else None) or ""

    restarts = 0
    restartable_restarts = 0
    total = len(containers)
    ready = 0
    last_restart: datetime | None = None
    last_restartable_restart: datetime | None = None

    reason = (status.reason if status else None) or phase
    # A pod held back by scheduling gates reads SchedulingGated.
    for condition in (status.conditions or []) if status else []:
        if condition.type == "PodScheduled" and condition.reason == "SchedulingGated":
            reason = "SchedulingGated"

    by_name: dict[str, V1Container] = {}
    for init in init_specs:
        by_name[init.name] = init
        if is_restartable_init_container(init):
            total += 1

    initializing = False
    for index, init_status in enumerate(init_statuses):
        restarts += init_status.restart_count or 0
        last_restart = _later(last_restart, init_status)
        sidecar = is_restartable_init_container(by_name.get(init_status.name))
        if sidecar:
            restartable_restarts += init_status.restart_count or 0
            last_restartable_restart = _later(last_restartable_restart, init_status)
        state = init_status.state
        terminated = state.terminated if state else None
        waiting = state.waiting if state else None
        if terminated is not None and terminated.exit_code == 0:
            continue
        if sidecar and init_status.started:
            if init_status.ready:
                ready += 1
            continue
        if terminated is not None:
            # initialization failed
            reason = _terminated_reason("Init:", terminated.reason, terminated.signal, terminated.exit_code)
            initializing = True
        elif waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
            reason = "Init:" + waiting.reason
            initializing = True
        else:
            reason = f"Init:{index}/{len(init_specs)}"
            initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts = restartable_restarts
        last_restart = last_restartable_restart
        has_running = False
        for container_status in reversed(container_statuses):
            restarts += container_status.restart_count or 0
            last_restart = _later(last_restart, container_status)
            state = container_status.state
            waiting = state.waiting if state else None
            terminated = state.terminated if state else None
            if waiting is not None and waiting.reason:
                reason = waiting.reason
            elif terminated is not None:
                reason = _terminated_reason("", terminated.reason, terminated.signal, terminated.exit_code)
            elif container_status.ready and state is not None and state.running is not None:
                has_running = True
                ready += 1
        # back to "Running" if a container still runs after another completed
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    deleting = pod.metadata is not None and pod.metadata.deletion_timestamp is not None
    if deleting and status is not None and status.reason == NODE_UNREACHABLE_POD_REASON:
        reason = "Unknown"
    elif deleting and phase not in TERMINAL_PHASES:
        reason = "Terminating"

    return PodRow(
        status=reason,
        ready_containers=ready,
        total_containers=total,
        restarts=restarts,
        last_restart=last_restart if restarts else None,
    )


def human_duration(then: datetime | None, now: datetime) -> str:
    """`duration.HumanDuration` from k8s.io/apimachinery: the AGE column and the "(5m ago)" of RESTARTS."""
    if then is None:
        return "<unknown>"
    seconds = int((now - then).total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def restarts_text(row: PodRow, now: datetime) -> str:
    """The RESTARTS cell: '0', '47', or '47 (2m ago)' when the last restart's time is known."""
    if row.restarts and row.last_restart is not None:
        return f"{row.restarts} ({human_duration(row.last_restart, now)} ago)"
    return str(row.restarts)
