"""Workload summaries as `kubectl get deployments|statefulsets|daemonsets|jobs|cronjobs` shows them (the same
columns and the same rules as kubectl's printers), plus the pieces the diagnosis needs: desired replicas,
images and a Job's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client import V1CronJob, V1DaemonSet, V1Deployment, V1Job, V1PodTemplateSpec, V1StatefulSet

from k8s_mcp.formatting import age, clip, conditions_of, owner_of
from k8s_mcp.index import name_of
from k8s_mcp.models import (
    CronJobSummary,
    DaemonSetSummary,
    DeploymentSummary,
    JobSummary,
    StatefulSetSummary,
)


def pod_template(workload: Any) -> V1PodTemplateSpec | None:
    spec = workload.spec
    if isinstance(workload, V1CronJob):
        spec = spec.job_template.spec if spec and spec.job_template else None
    return spec.template if spec is not None else None


def images_of(workload: Any) -> list[str]:
    template = pod_template(workload)
    containers = (template.spec.containers or []) if template and template.spec else []
    return [c.image or "" for c in containers]


def desired_replicas(workload: Any) -> int:
    """How many pods the workload wants now: spec.replicas (default 1), a DaemonSet's desired count, a Job's
    parallelism while it runs (0 once finished), a CronJob's active jobs."""
    if isinstance(workload, V1Deployment | V1StatefulSet):
        return workload.spec.replicas if workload.spec and workload.spec.replicas is not None else 1
    if isinstance(workload, V1DaemonSet):
        return (workload.status.desired_number_scheduled or 0) if workload.status else 0
    if isinstance(workload, V1Job):
        if job_status(workload) != "Running":
            return 0
        parallelism = workload.spec.parallelism if workload.spec and workload.spec.parallelism is not None else 1
        return parallelism
    return 0


def _condition(obj: Any, kind: str) -> Any | None:
    for condition in (obj.status.conditions or []) if obj.status else []:
        if condition.type == kind and condition.status == "True":
            return condition
    return None


def job_status(job: V1Job) -> str:
    """The STATUS column of `kubectl get jobs` (v1.30+)."""
    if _condition(job, "Complete"):
        return "Complete"
    if _condition(job, "Failed"):
        return "Failed"
    if job.metadata.deletion_timestamp is not None:
        return "Terminating"
    if _condition(job, "Suspended"):
        return "Suspended"
    if _condition(job, "FailureTarget"):
        return "FailureTarget"
    if _condition(job, "SuccessCriteriaMet"):
        return "SuccessCriteriaMet"
    return "Running"


def job_completions(job: V1Job) -> str:
    succeeded = (job.status.succeeded or 0) if job.status else 0
    spec = job.spec
    if spec is not None and spec.completions is not None:
        return f"{succeeded}/{spec.completions}"
    if spec is not None and spec.parallelism is not None and spec.parallelism > 1:
        return f"{succeeded}/1 of {spec.parallelism}"
    return f"{succeeded}/1"


def job_duration(job: V1Job, now: datetime) -> str | None:
    status = job.status
    if status is None or status.start_time is None:
        return None
    end = status.completion_time or now
    return age(status.start_time, end)


def summarize_job(job: V1Job, now: datetime) -> JobSummary:
    status = job.status
    failed = _condition(job, "Failed") or _condition(job, "FailureTarget")
    return JobSummary(
        name=name_of(job),
        status=job_status(job),
        completions=job_completions(job),
        active=(status.active or 0) if status else 0,
        succeeded=(status.succeeded or 0) if status else 0,
        failed=(status.failed or 0) if status else 0,
        duration=job_duration(job, now),
        age=age(job.metadata.creation_timestamp, now),
        owner=owner_of(job),
        reason=failed.reason if failed else None,
        message=clip(failed.message) if failed else None,
    )


def summarize_cronjob(cronjob: V1CronJob, jobs: list[V1Job], now: datetime) -> CronJobSummary:
    spec, status = cronjob.spec, cronjob.status
    last_job = jobs[-1] if jobs else None
    return CronJobSummary(
        name=name_of(cronjob),
        schedule=spec.schedule if spec else "",
        timezone=spec.time_zone if spec else None,
        suspend=bool(spec.suspend) if spec else False,
        active=len(status.active or []) if status else 0,
        last_schedule=age(status.last_schedule_time, now) if status and status.last_schedule_time else None,
        last_successful=age(status.last_successful_time, now) if status and status.last_successful_time else None,
        last_job=name_of(last_job) if last_job else None,
        last_job_status=job_status(last_job) if last_job else None,
        age=age(cronjob.metadata.creation_timestamp, now),
    )


def summarize_deployment(deployment: V1Deployment, now: datetime) -> DeploymentSummary:
    status = deployment.status
    desired = desired_replicas(deployment)
    ready = (status.ready_replicas or 0) if status else 0
    return DeploymentSummary(
        name=name_of(deployment),
        ready=f"{ready}/{desired}",
        desired=desired,
        up_to_date=(status.updated_replicas or 0) if status else 0,
        available=(status.available_replicas or 0) if status else 0,
        images=images_of(deployment),
        age=age(deployment.metadata.creation_timestamp, now),
        conditions=conditions_of(deployment),
    )


def summarize_statefulset(statefulset: V1StatefulSet, now: datetime) -> StatefulSetSummary:
    status = statefulset.status
    desired = desired_replicas(statefulset)
    ready = (status.ready_replicas or 0) if status else 0
    return StatefulSetSummary(
        name=name_of(statefulset),
        ready=f"{ready}/{desired}",
        desired=desired,
        current=(status.current_replicas or 0) if status else 0,
        updated=(status.updated_replicas or 0) if status else 0,
        images=images_of(statefulset),
        age=age(statefulset.metadata.creation_timestamp, now),
        conditions=conditions_of(statefulset) or None,
    )


def summarize_daemonset(daemonset: V1DaemonSet, now: datetime) -> DaemonSetSummary:
    status = daemonset.status
    template = pod_template(daemonset)
    selector = (template.spec.node_selector or {}) if template and template.spec else {}
    return DaemonSetSummary(
        name=name_of(daemonset),
        desired=(status.desired_number_scheduled or 0) if status else 0,
        current=(status.current_number_scheduled or 0) if status else 0,
        ready=(status.number_ready or 0) if status else 0,
        up_to_date=(status.updated_number_scheduled or 0) if status else 0,
        available=(status.number_available or 0) if status else 0,
        node_selector=",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None,
        images=images_of(daemonset),
        age=age(daemonset.metadata.creation_timestamp, now),
    )
