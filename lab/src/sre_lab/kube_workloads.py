"""The controllers as the API server returns them: Deployments with their ReplicaSets, StatefulSets, and the
batch workloads (CronJobs and their Jobs)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

from sre_lab.kube_objects import JSONObject, meta, owner_refs, pod_labels, pod_spec, pod_template, ts
from sre_lab.scenario import ContainerSpec, Scenario, Workload


def deployment_object(scenario: Scenario, workload: Workload) -> JSONObject:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    max_unavailable = math.floor(workload.replicas * 0.25)  # maxUnavailable 25 %, rounded down
    available = ready >= workload.replicas - max_unavailable
    rolled_out = workload.rolled_out or workload.created
    lost = min((p.oom_kills[0] for p in pods if p.oom_kills), default=None)
    available_since = ts(lost if not available and lost else rolled_out + timedelta(seconds=40))
    conditions = [
        {
            "lastTransitionTime": available_since,
            "lastUpdateTime": available_since,
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "status": "True" if available else "False",
            "type": "Available",
        },
        {
            "lastTransitionTime": ts(workload.created),
            "lastUpdateTime": ts(rolled_out + timedelta(seconds=40)),
            "message": f'ReplicaSet "{workload.replicaset_name}" has successfully progressed.',
            "reason": "NewReplicaSetAvailable",
            "status": "True",
            "type": "Progressing",
        },
    ]
    status: JSONObject = {
        "availableReplicas": ready,
        "conditions": conditions,
        "observedGeneration": workload.revision,
        "readyReplicas": ready,
        "replicas": len(pods),
    }
    if len(pods) > ready:
        status["unavailableReplicas"] = len(pods) - ready
    status["updatedReplicas"] = len(pods)
    labels = workload.label_map
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(
            scenario,
            "Deployment",
            workload.namespace,
            workload.name,
            workload.created,
            annotations={"deployment.kubernetes.io/revision": str(workload.revision)},
            generation=workload.revision,
            labels=labels,
        ),
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": workload.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": pod_template(workload, labels, workload.containers),
        },
        "status": status,
    }


def replicaset_objects(scenario: Scenario, workload: Workload) -> list[JSONObject]:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    current = _replicaset(
        scenario,
        workload,
        workload.replicaset_hash,
        workload.containers,
        workload.rolled_out or workload.created,
        workload.revision,
        workload.replicas,
        {"availableReplicas": ready, "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "replicas": len(pods)},
    )
    result = [current]
    if workload.previous is not None:
        prev = workload.previous
        containers = (replace(workload.containers[0], image=prev.image), *workload.containers[1:])
        result.append(
            _replicaset(
                scenario, workload, prev.replicaset_hash, containers, prev.created, prev.number, 0, {"replicas": 0}
            )
        )
    return result


def _replicaset(
    scenario: Scenario,
    workload: Workload,
    template_hash: str,
    containers: tuple[ContainerSpec, ...],
    created: datetime,
    revision: int,
    replicas: int,
    counts: JSONObject,
) -> JSONObject:
    labels = {**workload.label_map, "pod-template-hash": template_hash}
    name = f"{workload.name}-{template_hash}"
    generation = 2 if replicas == 0 else 1  # an old ReplicaSet was scaled down once
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta(
            scenario,
            "ReplicaSet",
            workload.namespace,
            name,
            created,
            annotations={
                "deployment.kubernetes.io/desired-replicas": str(workload.replicas),
                "deployment.kubernetes.io/max-replicas": str(workload.replicas + math.ceil(workload.replicas * 0.25)),
                "deployment.kubernetes.io/revision": str(revision),
            },
            generation=generation,
            labels=labels,
            ownerReferences=owner_refs(scenario, "apps/v1", "Deployment", workload.namespace, workload.name),
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": pod_template(workload, labels, containers),
        },
        "status": {**counts, "observedGeneration": generation},
    }


def statefulset_object(scenario: Scenario, workload: Workload) -> JSONObject:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    labels = workload.label_map
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(
            scenario, "StatefulSet", workload.namespace, workload.name, workload.created, generation=1, labels=labels
        ),
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": workload.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "serviceName": workload.name,
            "template": pod_template(workload, labels, workload.containers),
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
        },
        "status": {
            "availableReplicas": ready,
            "collisionCount": 0,
            "currentReplicas": len(pods),
            "currentRevision": workload.replicaset_name,
            "observedGeneration": 1,
            "readyReplicas": ready,
            "replicas": len(pods),
            "updateRevision": workload.replicaset_name,
            "updatedReplicas": len(pods),
        },
    }


def job_object(scenario: Scenario, workload: Workload) -> JSONObject:
    """A Job (batch/v1) as the Job controller leaves it: Complete, or Failed with BackoffLimitExceeded."""
    batch = workload.batch
    assert batch is not None and batch.finished is not None  # the loader builds every Job with its batch facts
    uid = scenario.uid_for("Job", workload.namespace, workload.name)
    labels = pod_labels(scenario, workload)
    extra: JSONObject = {}
    if batch.owner:
        extra["annotations"] = {
            "batch.kubernetes.io/cronjob-scheduled-timestamp": ts(batch.scheduled_at or workload.created)
        }
        extra["ownerReferences"] = owner_refs(scenario, "batch/v1", "CronJob", workload.namespace, batch.owner)
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    finished = ts(batch.finished)
    if batch.outcome == "Complete":
        condition: JSONObject = {
            "lastProbeTime": finished,
            "lastTransitionTime": finished,
            "status": "True",
            "type": "Complete",
        }
        counts: JSONObject = {"completionTime": finished, "succeeded": sum(p.phase == "Succeeded" for p in pods)}
    else:
        condition = {
            "lastProbeTime": finished,
            "lastTransitionTime": finished,
            "message": "Job has reached the specified backoff limit",
            "reason": "BackoffLimitExceeded",
            "status": "True",
            "type": "Failed",
        }
        counts = {}
    failed = sum(p.phase == "Failed" for p in pods)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(
            scenario, "Job", workload.namespace, workload.name, workload.created, generation=1, labels=labels, **extra
        ),
        "spec": {
            "backoffLimit": batch.backoff_limit,
            "completionMode": "NonIndexed",
            "completions": workload.replicas,
            "manualSelector": False,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
            "suspend": False,
            "template": pod_template(workload, labels, workload.containers),
        },
        "status": {
            "conditions": [condition],
            **counts,
            **({"failed": failed} if failed else {}),
            "ready": 0,
            "startTime": ts(batch.started or workload.created),
            "terminating": 0,
            "uncountedTerminatedPods": {},
        },
    }


def cronjob_object(scenario: Scenario, workload: Workload) -> JSONObject:
    """A CronJob (batch/v1) with its schedule, history limits and the times of its last run."""
    batch = workload.batch
    assert batch is not None  # the loader builds every CronJob with its batch facts
    job = replace(workload, kind="Job")
    status: JSONObject = {}
    if batch.last_schedule is not None:
        status["lastScheduleTime"] = ts(batch.last_schedule)
    if batch.last_success is not None:
        status["lastSuccessfulTime"] = ts(batch.last_success)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta(scenario, "CronJob", workload.namespace, workload.name, workload.created, generation=1),
        "spec": {
            "concurrencyPolicy": batch.concurrency_policy,
            "failedJobsHistoryLimit": batch.history[1],
            "jobTemplate": {
                "metadata": {"creationTimestamp": None},
                "spec": {
                    "backoffLimit": 6,
                    "template": {"metadata": {"creationTimestamp": None}, "spec": pod_spec(job, workload.containers)},
                },
            },
            "schedule": batch.schedule,
            "successfulJobsHistoryLimit": batch.history[0],
            "suspend": False,
        },
        "status": status,
    }
