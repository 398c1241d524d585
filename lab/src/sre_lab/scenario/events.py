"""The cluster's events, derived from the pods and the moments: each crash loop's series (OOMKilled, BackOff,
Unhealthy, Pulled/Created/Started), the scale-up and its new pods, grafana's roll-out, and the batch workloads'
runs (each CronJob's last Job, each Job's pods and how it ended)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sre_lab.scenario.model import PodState, TerminatedState, Timeline, TimelineEvent, Workload


def derive_events(
    t: datetime, tl: Timeline, workloads: tuple[Workload, ...], pods: tuple[PodState, ...]
) -> tuple[TimelineEvent, ...]:
    by_pod = {p.name: p for p in pods}
    by_workload = {w.name: w for w in workloads}
    events: list[TimelineEvent] = []

    for pod in (p for p in pods if p.crash_looping):
        spec = next(c for c in by_workload[pod.workload].containers if c.name == pod.container)
        kills, starts = pod.oom_kills, pod.container_starts
        # the kubelet re-reports BackOff on its ~10 s syncs while the container waits
        waits = zip(kills, (*starts, t), strict=True)
        backoff_count = sum(max(1, int((start - kill).total_seconds()) // 10) for kill, start in waits)
        last_backoff = min(t, kills[-1] + timedelta(seconds=10 * max(1, int((t - kills[-1]).total_seconds()) // 10)))
        probe = f"http://{pod.ip}:{spec.port}{spec.readiness.path if spec.readiness else '/'}"
        refused = f'Readiness probe failed: Get "{probe}": dial tcp {pod.ip}:{spec.port}: connect: connection refused'
        second = timedelta(seconds=1)
        # (type, reason, message, count, first, last)
        series: tuple[tuple[Literal["Normal", "Warning"], str, str, int, datetime, datetime], ...] = (
            ("Warning", "OOMKilled", f"Container {pod.container} exceeded memory limit ({spec.mem_limit})",
             len(kills), kills[0], kills[-1]),
            ("Warning", "BackOff", f"Back-off restarting failed container {pod.container} in pod {pod.name}",
             backoff_count, kills[0] + second, last_backoff),
            ("Warning", "Unhealthy", refused, len(starts), starts[0] + 5 * second, starts[-1] + 5 * second),
            ("Normal", "Pulled", f"Successfully pulled image {spec.image}",
             len(starts), starts[0] - second, starts[-1] - second),
            ("Normal", "Created", f"Created container {pod.container}", len(starts), starts[0], starts[-1]),
            ("Normal", "Started", f"Started container {pod.container}", len(starts), starts[0], starts[-1]),
        )  # fmt: skip
        events += [
            TimelineEvent(last, pod.namespace, f"pod/{pod.name}", kind, reason, message, "kubelet", count, first,
                          pod.node, pod.container)
            for kind, reason, message, count, first, last in series
        ]  # fmt: skip

    payment = by_workload["payment-gateway"]
    events.append(
        TimelineEvent(
            tl.scale_up,
            "payments",
            "deployment/payment-gateway",
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {payment.replicaset_name} to 5 from 3",
            "deployment-controller",
        )
    )
    events += _pod_start_events(by_pod["payment-gw-jkl78"], payment)
    events += _pod_start_events(by_pod["payment-gw-mno90"], payment)

    # monitoring: grafana's roll-out 40 minutes ago (a red herring)
    grafana = by_workload["grafana"]
    assert grafana.previous is not None
    old_rs = f"grafana-{grafana.previous.replicaset_hash}"
    old_pod = f"{old_rs}-h2j5k"
    up, down = tl.grafana_rollout, tl.grafana_rollout + timedelta(seconds=25)
    events += [
        TimelineEvent(up, "monitoring", "deployment/grafana", "Normal", "ScalingReplicaSet",
                      f"Scaled up replica set {grafana.replicaset_name} to 1", "deployment-controller"),
        *_pod_start_events(by_pod["grafana-5c7d8b9f6-m4n8t"], grafana),
        TimelineEvent(down, "monitoring", "deployment/grafana", "Normal", "ScalingReplicaSet",
                      f"Scaled down replica set {old_rs} to 0 from 1", "deployment-controller"),
        TimelineEvent(down, "monitoring", f"replicaset/{old_rs}", "Normal", "SuccessfulDelete",
                      f"Deleted pod: {old_pod}", "replicaset-controller"),
        TimelineEvent(down, "monitoring", f"pod/{old_pod}", "Normal", "Killing", "Stopping container grafana",
                      "kubelet", host="worker-02", container="grafana"),
    ]  # fmt: skip

    # the batch workloads: each CronJob's last run, each Job's pods (one per attempt) and how it ended
    for job in (w for w in workloads if w.kind == "Job" and w.batch is not None):
        events += _job_events(job, [p for p in pods if p.workload == job.name])
    return tuple(sorted(events, key=lambda e: (e.at, e.namespace, e.involved, e.reason)))


def _pod_start_events(pod: PodState, workload: Workload) -> list[TimelineEvent]:
    """The events of a pod its ReplicaSet created at ``pod.created`` and the kubelet started 4 s later."""
    at, ns, involved, image = pod.created, pod.namespace, f"pod/{pod.name}", workload.image
    rs = f"replicaset/{workload.replicaset_name}"
    steps = (
        (1, "Pulling", f'Pulling image "{image}"'),
        (3, "Pulled", f"Successfully pulled image {image}"),
        (4, "Created", f"Created container {pod.container}"),
        (4, "Started", f"Started container {pod.container}"),
    )
    return [
        TimelineEvent(at, ns, rs, "Normal", "SuccessfulCreate", f"Created pod: {pod.name}", "replicaset-controller"),
        TimelineEvent(at, ns, involved, "Normal", "Scheduled", f"Successfully assigned {ns}/{pod.name} to {pod.node}",
                      "default-scheduler"),
        *(
            TimelineEvent(at + timedelta(seconds=s), ns, involved, "Normal", reason, message, "kubelet",
                          host=pod.node, container=pod.container)
            for s, reason, message in steps
        ),
    ]  # fmt: skip


# (ms after the trace's base, host pod, level, logger, duration_ms, status_code, message); service = the pod's


def _job_events(job: Workload, pods: list[PodState]) -> list[TimelineEvent]:
    """The controllers' and the kubelet's events of one Job run (and of the CronJob that started it)."""
    batch, ns = job.batch, job.namespace
    assert batch is not None and batch.finished is not None
    events: list[TimelineEvent] = []
    if batch.owner:
        events += [
            TimelineEvent(job.created, ns, f"cronjob/{batch.owner}", "Normal", "SuccessfulCreate",
                          f"Created job {job.name}", "cronjob-controller"),
            TimelineEvent(batch.finished + timedelta(seconds=2), ns, f"cronjob/{batch.owner}", "Normal",
                          "SawCompletedJob", f"Saw completed job: {job.name}, status: {batch.outcome}",
                          "cronjob-controller"),
        ]  # fmt: skip
    for pod in pods:
        started = pod.state.started_at if isinstance(pod.state, TerminatedState) else pod.created
        steps = (
            ("Scheduled", f"Successfully assigned {ns}/{pod.name} to {pod.node}", "default-scheduler", pod.created),
            ("Pulled", f'Container image "{job.image}" already present on machine', "kubelet", started),
            ("Created", f"Created container {pod.container}", "kubelet", started),
            ("Started", f"Started container {pod.container}", "kubelet", started),
        )
        events.append(TimelineEvent(pod.created, ns, f"job/{job.name}", "Normal", "SuccessfulCreate",
                                    f"Created pod: {pod.name}", "job-controller"))  # fmt: skip
        events += [
            TimelineEvent(at, ns, f"pod/{pod.name}", "Normal", reason, message, source,
                          host=pod.node if source == "kubelet" else None,
                          container=pod.container if source == "kubelet" else None)
            for reason, message, source, at in steps
        ]  # fmt: skip
    if batch.outcome == "Complete":
        events.append(TimelineEvent(batch.finished, ns, f"job/{job.name}", "Normal", "Completed", "Job completed",
                                    "job-controller"))  # fmt: skip
    else:
        events.append(TimelineEvent(batch.finished, ns, f"job/{job.name}", "Warning", "BackoffLimitExceeded",
                                    "Job has reached the specified backoff limit", "job-controller"))  # fmt: skip
    return events
