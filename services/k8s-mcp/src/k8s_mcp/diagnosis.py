"""`diagnose_workload`: workload → its pods → container states and last states → events → the workload's own
conditions → the crash log of the worst pod, condensed into one verdict an on-call engineer can read in a second.

Health and verdict come from the same facts: a workload is `healthy` only when every desired pod is ready and
no container restarted within `causes.RECENT`; otherwise the verdict names each cause found (or says that none
is visible), so the two never disagree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from kubernetes.client import V1CronJob, V1Deployment, V1Job, V1Pod

from k8s_mcp.backends import ClusterBackend
from k8s_mcp.causes import SEVERITY, Problem, describe_event, first_line, latest, pod_problems
from k8s_mcp.formatting import (
    age,
    clip,
    conditions_of,
    event_time,
    last_termination,
    pod_containers,
    summarize_event,
)
from k8s_mcp.index import NamespaceIndex, match_labels, name_of, type_kind
from k8s_mcp.models import Cause, Diagnosis, Health, PodFinding
from k8s_mcp.workloads import desired_replicas, images_of, job_status
from mcp_common.errors import ToolError
from mcp_common.redaction import redact_text

KINDS_READ = {
    "Deployment": ("Deployment", "ReplicaSet", "Pod", "Event"),
    "StatefulSet": ("StatefulSet", "Pod", "Event"),
    "DaemonSet": ("DaemonSet", "Pod", "Event"),
    "Job": ("Job", "Pod", "Event"),
    "CronJob": ("CronJob", "Job", "Pod", "Event"),
}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z?\s+")
_LEVELLED = re.compile(r"^(?:\d{2}:\d{2}:\d{2}\s+)?(?:ERROR|FATAL|SEVERE|CRITICAL|WARN|INFO)\s+(?:\[[^\]]*\]\s+)?")
_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|SEVERE|Exception|Error:|panic:|Traceback)\b|error", re.IGNORECASE)
_FRAME = re.compile(r"\bat\s+([\w$.]+)\(")
_PLATFORM_FRAME = ("java.", "javax.", "jdk.", "sun.", "kotlin.", "scala.")
LOG_TAIL = 200


def _message(line: str) -> str:
    return _LEVELLED.sub("", _TIMESTAMP.sub("", line)).strip()


def crash_summary(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first error in a crash log with its frame ('X in Class.method') and the excerpt around it; failing an
    error-looking line, the last line the container printed (often the reason it gave up)."""
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
        return first_line(message, 300), excerpt
    tail = [line for line in lines if line.strip()]
    if tail:
        return first_line(_message(tail[-1]), 300), tail[-5:]
    return None, []


def _workload_problems(workload: Any, index: NamespaceIndex, pods: list[V1Pod], now: datetime) -> list[Problem]:
    """What the workload's own status says: failed creates (quota), stuck rollouts, failed or missing jobs."""
    problems: list[Problem] = []
    name = name_of(workload)
    owned_names = {name} | {name_of(obj) for obj in index.owned(type_kind(workload), name)}
    if isinstance(workload, V1Deployment):
        owned_names |= {name_of(rs) for rs in index.replicasets_of(workload)}
    events = index.events_about(owned_names)
    for condition in (workload.status.conditions or []) if workload.status else []:
        if condition.type == "ReplicaFailure" and condition.status == "True":
            problems.append(
                Problem(
                    "replica_failure",
                    None,
                    f"cannot create pods: {first_line(condition.message)}",
                    [f"condition ReplicaFailure=True {condition.reason or ''}: {first_line(condition.message, 300)}"],
                )
            )
        if condition.type == "Progressing" and condition.status == "False":
            problems.append(
                Problem(
                    "rollout_stuck",
                    None,
                    f"rollout stuck ({condition.reason}): {first_line(condition.message)}",
                    [f"condition Progressing=False {condition.reason or ''}: {first_line(condition.message, 300)}"],
                )
            )
    failed_create = latest(events, "FailedCreate")
    created = latest(events, "SuccessfulCreate")
    if failed_create is not None and created is not None and _after(created, failed_create):
        failed_create = None  # a later create succeeded: that failure was transient (a quota freed, an object made)
    if failed_create is not None and not any(p.kind == "replica_failure" for p in problems):
        problems.append(
            Problem(
                "replica_failure",
                None,
                f"cannot create pods: {first_line(failed_create.message)}",
                [describe_event(failed_create, now)],
            )
        )
    if isinstance(workload, V1Deployment):
        current = _current_replicaset(workload, index)
        old_serving = [
            rs
            for rs in index.replicasets_of(workload)
            if rs is not current and rs.status is not None and (rs.status.ready_replicas or 0) > 0
        ]
        if old_serving and current is not None and problems == []:
            serving = ", ".join(f"{name_of(rs)} ({rs.status.ready_replicas} ready)" for rs in old_serving)
            problems.append(
                Problem(
                    "rollout_stuck",
                    None,
                    f"rollout to {name_of(current)} not finished; old ReplicaSets still serving: {serving}",
                    [f"replicaset/{name_of(rs)} ready {rs.status.ready_replicas}" for rs in old_serving],
                )
            )
        elif old_serving:
            serving = ", ".join(f"{name_of(rs)} ({rs.status.ready_replicas} ready)" for rs in old_serving)
            for problem in problems:
                if problem.kind == "rollout_stuck":
                    problem.evidence.append(f"old ReplicaSets still serving: {serving}")
    return problems


def _current_replicaset(deployment: V1Deployment, index: NamespaceIndex) -> Any | None:
    revision = (deployment.metadata.annotations or {}).get("deployment.kubernetes.io/revision")
    replicasets = index.replicasets_of(deployment)
    for rs in replicasets:
        if revision and (rs.metadata.annotations or {}).get("deployment.kubernetes.io/revision") == revision:
            return rs
    return max(replicasets, key=_revision, default=None)


def _revision(replicaset: Any) -> int:
    value = (replicaset.metadata.annotations or {}).get("deployment.kubernetes.io/revision", "")
    return int(value) if value.isdigit() else 0


def _after(later: Any, earlier: Any) -> bool:
    first, second = event_time(later), event_time(earlier)
    return first is not None and second is not None and first > second


def job_failure(job: V1Job, index: NamespaceIndex) -> tuple[str, str] | None:
    """(reason, message) when the Job has failed: its Failed (or FailureTarget) condition, or — for a Job read
    without its conditions, or before the controller wrote them — its BackoffLimitExceeded / DeadlineExceeded
    event."""
    if job_status(job) in ("Failed", "FailureTarget"):
        condition = next(
            c for c in (job.status.conditions or []) if c.type in ("Failed", "FailureTarget") and c.status == "True"
        )
        return condition.reason or "Failed", first_line(condition.message)
    if job_status(job) in ("Complete", "SuccessCriteriaMet"):
        return None
    event = latest(index.events_about({name_of(job)}), "BackoffLimitExceeded", "DeadlineExceeded")
    if event is not None:
        return event.reason or "Failed", first_line(event.message)
    return _backoff_exceeded(job)


def _backoff_exceeded(job: V1Job) -> tuple[str, str] | None:
    """The Job controller's own rule, for a Job read without conditions or events (`kubectl describe job` prints
    neither): more failed pods than backoffLimit (default 6), none active, not all completions done."""
    spec, status = job.spec, job.status
    if spec is None or status is None or spec.backoff_limit_per_index is not None:
        return None
    limit = 6 if spec.backoff_limit is None else spec.backoff_limit
    failed, active, succeeded = status.failed or 0, status.active or 0, status.succeeded or 0
    if failed > limit and active == 0 and succeeded < (spec.completions or 1):
        return "BackoffLimitExceeded", f"{failed} failed pods, more than backoffLimit {limit}; none active"
    return None


def _job_problems(job: V1Job, now: datetime, index: NamespaceIndex, pods_failing: bool) -> list[Problem]:
    failure = job_failure(job, index)
    if failure is None:
        return [] if pods_failing else _failures_so_far(job)
    reason, message = failure
    evidence = [f"job/{name_of(job)} failed: {reason}: {message}".rstrip(": ")]
    event = latest(index.events_about({name_of(job)}), "BackoffLimitExceeded", "DeadlineExceeded")
    if event is not None:
        evidence.append(describe_event(event, now))
    phrase = f"job {name_of(job)} failed ({reason}){': ' + message if message else ''}"
    return [Problem("job_failed", None, phrase, evidence)]


def _failures_so_far(job: V1Job) -> list[Problem]:
    """A running Job whose pods have failed and are being retried, told by its own counts: its failed pods are
    gone (deleted, or not in a capture) or their failure shows nowhere else. An Indexed Job names its failed
    indexes, which will not be retried past backoffLimitPerIndex."""
    status, spec = job.status, job.spec
    if status is None or not status.failed or job_status(job) != "Running":
        return []
    indexes = f" (failed indexes {status.failed_indexes})" if status.failed_indexes else ""
    limit = (
        f"backoffLimitPerIndex {spec.backoff_limit_per_index}"
        if spec is not None and spec.backoff_limit_per_index is not None
        else f"backoffLimit {6 if spec is None or spec.backoff_limit is None else spec.backoff_limit}"
    )
    pods = "pod" if status.failed == 1 else "pods"
    phrase = f"job {name_of(job)}: {status.failed} {pods} failed so far{indexes}, {status.active or 0} active"
    counts = f"active {status.active or 0}, succeeded {status.succeeded or 0}, failed {status.failed}"
    return [Problem("job_retrying", None, phrase, [f"job/{name_of(job)} {counts}{indexes}; {limit}"])]


def _reported_ready(workload: Any, desired: int) -> int:
    """Ready pods as the workload's status reports them, for a capture that holds the workload but not its pods.
    A Job from before `status.ready` (Kubernetes 1.24) says only how many of its pods are active."""
    if isinstance(workload, V1Job) and workload.status is not None and workload.status.ready is None:
        return min(workload.status.active or 0, desired)
    return _reported(workload, "ready_replicas", "number_ready", "available_replicas", "ready")


def _reported(workload: Any, *fields: str) -> int:
    """A pod count as the workload's status reports it (the first of `fields` it has), for a capture that holds
    the workload but not its pods."""
    status = getattr(workload, "status", None) if workload is not None else None
    if status is None:
        return 0
    for field in fields:
        value = getattr(status, field, None)
        if value is not None:
            return int(value)
    return 0


def _group(problems: list[Problem], desired: int, pods_total: int) -> list[Cause]:
    by_kind: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_kind[problem.kind].append(problem)
    causes = []
    denominator = max(desired, pods_total)
    for kind in sorted(by_kind, key=lambda k: SEVERITY.index(k) if k in SEVERITY else len(SEVERITY)):
        group = by_kind[kind]
        pods = sorted({p.pod for p in group if p.pod})
        if kind == "oom_killed":
            limits = "/".join(sorted({p.memory_limit or "no" for p in group}))
            restarts = ", ".join(str(p.restarts) for p in sorted(group, key=lambda p: p.pod or ""))
            summary = f"{len(pods)}/{denominator} pods OOMKilled at {limits} limit (restarts {restarts})"
        elif pods:
            # the pod that restarted most speaks for the group; the others' counts follow, so no pod's is lost
            worst = max(group, key=lambda p: p.restarts)
            summary = f"{len(pods)}/{denominator} pods {worst.phrase}"
            counts = sorted({(p.pod, p.restarts) for p in group if p.pod and p.restarts})
            if len(counts) > 1:
                summary += f" (restarts {', '.join(f'{pod} {n}' for pod, n in counts)})"
        else:
            summary = group[0].phrase
        evidence = [line for p in group[:5] for line in p.evidence][:8]
        causes.append(Cause(kind=kind, summary=summary, pods=pods or None, evidence=evidence))
    return causes


def _health(workload: Any, desired: int, ready: int, causes: list[Cause]) -> Health:
    if isinstance(workload, V1Job):
        status = job_status(workload)
        if status in ("Complete", "SuccessCriteriaMet"):
            return "completed"
        if status in ("Failed", "FailureTarget") or any(c.kind == "job_failed" for c in causes):
            return "failed"
        if status == "Suspended":
            return "suspended"
        return "degraded" if causes else "progressing"
    if isinstance(workload, V1CronJob):
        if any(c.kind == "job_failed" for c in causes):
            return "failed"
        if workload.spec and workload.spec.suspend:
            return "suspended"
        return "degraded" if causes else "healthy"
    if desired > 0 and ready == 0:
        return "down"
    if causes or ready < desired:
        return "degraded"
    return "healthy"


def _crash_log(
    backend: ClusterBackend, namespace: str, problems: list[Problem]
) -> tuple[str | None, list[str], str | None]:
    """The crash log of the worst crashing pod: the previous container when it restarted, else the current one."""
    crashing = [
        p for p in problems if p.kind in ("oom_killed", "crash_loop", "init_failure", "restarts") and p.container
    ]
    if not crashing:
        return None, [], None
    worst = max(crashing, key=lambda p: (p.kind != "restarts", p.restarts))
    assert worst.pod and worst.container
    for previous in (True, False):
        try:
            lines = backend.pod_log(namespace, worst.pod, worst.container, previous=previous, tail_lines=LOG_TAIL)
        except ToolError:
            continue
        if lines:
            # quoted into the verdict the model reads: masked like every message (a panic can print a DSN)
            message, excerpt = crash_summary([redact_text(line) for line in lines])
            return (
                message,
                excerpt,
                f"{worst.pod}/{worst.container} ({'previous' if previous else 'current'} container)",
            )
    return None, [], None


def _problems(index: NamespaceIndex, workload: Any, target: Any, pods: list[V1Pod], now: datetime) -> list[Problem]:
    """Every problem of the workload: each pod's, the workload's own, and pods that should exist but do not."""
    problems: list[Problem] = []
    if isinstance(workload, V1CronJob) and target is None:
        suspended = " (suspended)" if workload.spec and workload.spec.suspend else ""
        problems.append(Problem("missing_pods", None, f"no job has run yet{suspended}", []))
    for pod in pods:
        problems += pod_problems(pod, index.row(pod), index.events_about({name_of(pod)}), now)
    if target is None:
        return problems
    problems += _workload_problems(target, index, pods, now)
    if isinstance(target, V1Job):
        pods_failing = any(p.kind in ("crash_loop", "oom_killed", "init_failure") for p in problems)
        return problems + _job_problems(target, now, index, pods_failing)
    desired = desired_replicas(target)
    # a snapshot may hold the workload without its pods: when the workload itself reports them all, they exist
    uncaptured = not pods and _reported(target, "replicas", "current_number_scheduled") >= desired
    if len(pods) < desired and not uncaptured and not any(p.kind == "replica_failure" for p in problems):
        phrase = f"only {len(pods)}/{desired} pods exist"
        problems.append(
            Problem(
                "missing_pods",
                None,
                phrase,
                [
                    f"{type_kind(target).lower()}/{name_of(target)} wants {desired}, {len(pods)} exist",
                    *unsettled_conditions(target, now),
                ],
            )
        )
    return problems


def unsettled_conditions(workload: Any, now: datetime) -> list[str]:
    """The workload's own conditions that say it has not settled and are not a cause of their own (Progressing=False
    and ReplicaFailure are): `Available=False MinimumReplicasUnavailable`, a rollout under way since when. With no
    pod to read (none created yet, or none captured), they are what the cluster itself says."""
    lines = []
    for condition in (workload.status.conditions or []) if workload.status else []:
        settled = (condition.type == "Available" and condition.status == "True") or (
            condition.type == "Progressing" and condition.reason == "NewReplicaSetAvailable"
        )
        reported = condition.type == "ReplicaFailure" or (
            condition.type == "Progressing" and condition.status == "False"
        )
        if settled or reported:
            continue
        since = f" ({age(condition.last_transition_time, now)} ago)" if condition.last_transition_time else ""
        lines.append(
            f"condition {condition.type}={condition.status} {condition.reason or ''}{since}: {clip(condition.message)}"
        )
    return lines


def _verdict(causes: list[Cause], health: str, log_message: str | None, workload: Any, ready: int, desired: int) -> str:
    image = ", ".join(images_of(workload))
    if causes:
        return "; ".join(c.summary for c in causes) + (f"; last log: {log_message}" if log_message else "")
    if health == "completed":
        return f"completed: {job_status(workload)}, image {image}"
    return f"{health}: {ready}/{desired} pods ready, image {image}"


def diagnose_workload(backend: ClusterBackend, namespace: str, kind: str, name: str, now: datetime) -> Diagnosis:
    if kind not in KINDS_READ:
        raise ToolError(f"kind '{kind[:40]}' cannot be diagnosed; kinds: {', '.join(KINDS_READ)}")
    workload = backend.get(kind, namespace, name)
    index = backend.index(namespace, KINDS_READ[kind], pod_selector=match_labels(workload) or None)
    workload = index.get(kind, name) or workload
    target: Any = workload
    if isinstance(workload, V1CronJob):  # a CronJob is as healthy as its last run
        jobs = index.jobs_of(workload)
        target = jobs[-1] if jobs else None
    pods = sorted(index.pods_of(target), key=name_of) if target is not None else []
    desired = desired_replicas(target) if target is not None else 0
    rows = {name_of(p): index.row(p) for p in pods}
    ready = sum(1 for row in rows.values() if row.is_ready) if pods else _reported_ready(target, desired)
    problems = _problems(index, workload, target, pods, now)
    if not problems and ready < desired:
        phrase = f"{ready}/{desired} pods ready; no cause visible in pod states or events"
        problems.append(Problem("not_ready", None, phrase, unsettled_conditions(target, now)))
    causes = _group(problems, desired, len(pods))
    health = _health(workload, desired, ready, causes)
    log_message, excerpt, log_source = _crash_log(backend, namespace, problems)
    verdict = _verdict(causes, health, log_message, workload, ready, desired)
    image = ", ".join(images_of(workload))

    related = {name} | set(rows)
    if isinstance(workload, V1Deployment):
        related |= {name_of(rs) for rs in index.replicasets_of(workload)}
    if isinstance(workload, V1CronJob):
        related |= {name_of(job) for job in index.jobs_of(workload)}
    warnings = [e for e in index.events_about(related) if e.type == "Warning"]
    warnings.sort(key=lambda e: event_time(e) or now, reverse=True)
    return Diagnosis(
        namespace=namespace,
        kind=kind,
        name=name,
        deployment=name if kind == "Deployment" else None,
        health=health,
        verdict=verdict,
        replicas=f"{ready}/{desired} ready",
        image=image,
        causes=causes,
        pods=[_finding(p, rows[name_of(p)], now) for p in pods][:50],
        conditions=(conditions_of(target) or None) if target is not None else None,
        warning_events=[summarize_event(e, now) for e in warnings[:10]],
        log_excerpt=excerpt or None,
        log_source=log_source,
        next_steps=_next_steps(namespace, kind, name, causes, problems, log_message),
    )


def _finding(pod: V1Pod, row: Any, now: datetime) -> PodFinding:
    limit = next(
        (
            str(c.resources.limits["memory"])
            for kind, c, _ in pod_containers(pod)
            if kind == "container" and c.resources and c.resources.limits and "memory" in c.resources.limits
        ),
        None,
    )
    return PodFinding(
        name=name_of(pod),
        status=row.status,
        ready=row.ready,
        restarts=row.restarts,
        last_termination=last_termination(pod, now),
        memory_limit=limit,
    )


def _next_steps(
    namespace: str, kind: str, name: str, causes: list[Cause], problems: list[Problem], log_message: str | None
) -> list[str]:
    steps: list[str] = []
    kinds = {c.kind for c in causes}
    with_container = [p for p in problems if p.pod and p.container]
    if with_container:
        worst = max(with_container, key=lambda p: p.restarts)
        previous = ", previous=true" if worst.restarts else ""
        where = f"namespace='{namespace}', pod_name='{worst.pod}', container='{worst.container}'{previous}"
        steps.append(f"get_pod_logs({where}) for the crash log")
    first_pod = next((p.pod for p in problems if p.pod), None)
    if first_pod:
        where = f"namespace='{namespace}', pod_name='{first_pod}'"
        steps.append(f"describe_pod({where}) for states, messages, limits, probes and events")
    if "oom_killed" in kinds:
        steps.append("runbooks: find_runbooks_for_error('OOMKilled') or search_runbooks('pod OOMKilled memory limit')")
    if kinds & {"unschedulable", "replica_failure", "stuck_creating"}:
        steps.append(
            f"get_events(namespace='{namespace}', event_type='Warning') for the scheduler's and kubelet's messages"
        )
    if kind == "CronJob":
        steps.append(f"list_jobs(namespace='{namespace}') for the runs of {name}")
    if log_message:
        steps.append(f"logs: search_logs(keyword='{log_message.split(':')[0][:60]}') to see it across pods")
    if not steps:
        steps.append(f"get_events(namespace='{namespace}', event_type='Warning') for anything recent")
    return steps
