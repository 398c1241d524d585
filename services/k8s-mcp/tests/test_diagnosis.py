"""diagnose_workload names each cause with its evidence, on real-shaped objects, for every workload kind; the
health and the verdict never disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_objects import (
    NAMESPACE,
    NOW,
    deployment,
    event,
    pod,
    ready_pod,
    replicaset,
    running,
    status,
    terminated,
    ts,
    waiting,
    write_snapshot,
)

from k8s_mcp.diagnosis import diagnose_workload
from k8s_mcp.models import Diagnosis
from k8s_mcp.snapshot import SnapshotBackend
from mcp_common.errors import ToolError

RS = replicaset("web-7d9f8")


def diagnose(
    tmp_path: Path, objects: list[dict], kind: str = "Deployment", name: str = "web", logs: dict[str, str] | None = None
) -> Diagnosis:
    backend = SnapshotBackend(write_snapshot(tmp_path / "snap", objects, logs))
    return diagnose_workload(backend, NAMESPACE, kind, name, NOW)


def kinds(result: Diagnosis) -> list[str]:
    return [cause.kind for cause in result.causes]


def evidence(result: Diagnosis) -> str:
    return "\n".join([result.verdict, *(line for cause in result.causes for line in cause.evidence)])


def test_healthy_only_when_every_pod_is_ready_and_nothing_restarted_recently(tmp_path: Path) -> None:
    result = diagnose(tmp_path, [deployment(ready=2), RS, ready_pod("web-7d9f8-a"), ready_pod("web-7d9f8-b")])
    assert result.health == "healthy" and result.verdict.startswith("healthy: 2/2 pods ready") and not result.causes


def test_old_restarts_do_not_make_a_workload_unhealthy_but_recent_ones_do(tmp_path: Path) -> None:
    old = ready_pod(
        "web-7d9f8-a",
        statuses=[status("app", running(days=5), ready=True, restarts=12, last=terminated("Error", 1, days=5))],
    )
    recent = ready_pod(
        "web-7d9f8-b",
        statuses=[status("app", running(minutes=3), ready=True, restarts=430, last=terminated("Error", 2, minutes=3))],
    )
    assert diagnose(tmp_path / "a", [deployment(ready=1, replicas=1), RS, old]).health == "healthy"
    result = diagnose(tmp_path / "b", [deployment(ready=2), RS, old, recent])
    assert result.health == "degraded" and kinds(result) == ["restarts"]
    assert "restarted 430 times (last 3m ago: Error, exit code 2)" in result.verdict


def test_crash_loop_names_the_exit_and_the_log(tmp_path: Path) -> None:
    crash = pod(
        "web-7d9f8-a",
        statuses=[
            status(
                "app",
                waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=app"),
                restarts=14,
                last=terminated("Error", 1),
            )
        ],
    )
    logs = {
        "web-7d9f8-a/app.previous": "2026-03-02T09:28:00Z starting\n"
        "2026-03-02T09:28:01Z panic: dial tcp 10.0.0.7:5432: connect: connection refused\n"
    }
    result = diagnose(tmp_path, [deployment(ready=1), RS, crash, ready_pod("web-7d9f8-b")], logs=logs)
    assert result.health == "degraded" and kinds(result) == ["crash_loop"]
    assert "1/2 pods container app last exit Error, code 1" in result.verdict
    assert "last log: panic: dial tcp 10.0.0.7:5432: connect: connection refused" in result.verdict
    assert result.log_source == "web-7d9f8-a/app (previous container)"


def test_several_crash_looping_pods_are_summed_up_by_the_worst_and_each_count_kept(tmp_path: Path) -> None:
    def looping(name: str, restarts: int) -> dict:
        return pod(
            name, statuses=[status("app", waiting("CrashLoopBackOff"), restarts=restarts, last=terminated("Error", 1))]
        )

    result = diagnose(tmp_path, [deployment(ready=0), RS, looping("web-7d9f8-a", 3), looping("web-7d9f8-b", 41)])
    (cause,) = result.causes
    assert cause.kind == "crash_loop" and cause.pods == ["web-7d9f8-a", "web-7d9f8-b"]
    assert (
        cause.summary.startswith("2/2 pods ") and "41 restarts" in cause.summary and "3 restarts" not in cause.summary
    )
    assert cause.summary.endswith("(restarts web-7d9f8-a 3, web-7d9f8-b 41)")


def test_the_crash_log_quoted_in_the_verdict_is_masked(tmp_path: Path) -> None:
    crash = pod(
        "web-7d9f8-a", statuses=[status("app", waiting("CrashLoopBackOff"), restarts=3, last=terminated("Error", 1))]
    )
    logs = {
        "web-7d9f8-a/app.previous": "panic: dial postgres://app:Vd3shNZOOx6qGxStSocp@db.shop.svc:5432/shop: refused\n"
    }
    result = diagnose(tmp_path, [deployment(ready=1), RS, crash, ready_pod("web-7d9f8-b")], logs=logs)
    assert "last log: panic: dial postgres://app:***@db.shop.svc:5432/shop: refused" in result.verdict
    assert "Vd3shNZ" not in result.model_dump_json()


def test_oom_now_and_in_the_restart_history(tmp_path: Path) -> None:
    now_oom = pod(
        "web-7d9f8-a",
        statuses=[status("app", waiting("CrashLoopBackOff"), restarts=47, last=terminated("OOMKilled", 137))],
    )
    history = ready_pod(
        "web-7d9f8-b",
        statuses=[
            status("app", running(minutes=20), ready=True, restarts=3, last=terminated("OOMKilled", 137, minutes=20))
        ],
    )
    result = diagnose(tmp_path, [deployment(ready=1), RS, now_oom, history])
    assert kinds(result) == ["oom_killed"] and result.health == "degraded"
    assert result.verdict.startswith("2/2 pods OOMKilled at 256Mi limit (restarts 47, 3)")


def test_image_pull_names_the_image_and_the_registry_message(tmp_path: Path) -> None:
    stuck = pod(
        "web-7d9f8-a",
        phase="Pending",
        statuses=[status("app", waiting("ImagePullBackOff", 'Back-off pulling image "registry.example/app:1.4.3"'))],
    )
    pulled = event(
        "web-7d9f8-a",
        "Failed",
        'Failed to pull image "registry.example/app:1.4.3": rpc error: code = NotFound desc = '
        "failed to pull and unpack image: not found",
        count=4,
    )
    result = diagnose(tmp_path, [deployment(replicas=1), RS, stuck, pulled])
    assert kinds(result) == ["image_pull"] and result.health == "down"
    assert "cannot pull image registry.example/app:1.4.2" in result.verdict and "not found" in result.verdict


def test_config_error_shows_the_kubelet_message(tmp_path: Path) -> None:
    stuck = pod(
        "web-7d9f8-a",
        phase="Pending",
        statuses=[status("app", waiting("CreateContainerConfigError", 'secret "db" not found'))],
    )
    result = diagnose(
        tmp_path, [deployment(replicas=1), RS, stuck, event("web-7d9f8-a", "Failed", 'Error: secret "db" not found')]
    )
    assert kinds(result) == ["config_error"] and 'CreateContainerConfigError: secret "db" not found' in result.verdict


def test_unschedulable_quotes_the_scheduler(tmp_path: Path) -> None:
    message = (
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod."
    )
    pending = pod(
        "web-7d9f8-a",
        phase="Pending",
        node=None,
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
    )
    result = diagnose(
        tmp_path, [deployment(replicas=1), RS, pending, event("web-7d9f8-a", "FailedScheduling", message, count=12)]
    )
    assert kinds(result) == ["unschedulable"] and result.health == "down"
    assert "Insufficient memory" in result.verdict and "FailedScheduling ×12" in evidence(result)


def test_init_container_failure_names_the_init_container(tmp_path: Path) -> None:
    stuck = pod(
        "web-7d9f8-a",
        phase="Pending",
        init_containers=[{"name": "migrate", "image": "registry.example/migrate:7"}],
        init_statuses=[
            status(
                "migrate",
                waiting("CrashLoopBackOff"),
                restarts=6,
                last=terminated("Error", 3, 'relation "orders" does not exist'),
            )
        ],
        statuses=[status("app", waiting("PodInitializing"))],
    )
    logs = {"web-7d9f8-a/migrate.previous": 'ERROR: relation "orders" does not exist\n'}
    result = diagnose(tmp_path, [deployment(replicas=1), RS, stuck], logs=logs)
    assert kinds(result) == ["init_failure"] and result.pods[0].status == "Init:CrashLoopBackOff"
    assert "init container migrate fails (Error, exit code 3)" in result.verdict
    assert result.pods[0].restarts == 6 and result.log_source == "web-7d9f8-a/migrate (previous container)"


def test_stuck_creating_names_the_mount_failure(tmp_path: Path) -> None:
    stuck = pod("web-7d9f8-a", phase="Pending", statuses=[status("app", waiting("ContainerCreating"))])
    mount = event(
        "web-7d9f8-a",
        "FailedMount",
        'MountVolume.SetUp failed for volume "certs" : secret "web-tls" not found',
        count=9,
    )
    result = diagnose(tmp_path, [deployment(replicas=1), RS, stuck, mount])
    assert (
        kinds(result) == ["stuck_creating"]
        and 'FailedMount: MountVolume.SetUp failed for volume "certs"' in result.verdict
    )


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ("Readiness", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
        ("Liveness", 'Liveness probe failed: Get "http://10.1.0.4:8080/healthz": context deadline exceeded'),
        ("Startup", "Startup probe failed: dial tcp 10.1.0.4:8080: connect: connection refused"),
    ],
)
def test_probe_failures(tmp_path: Path, probe: str, message: str) -> None:
    restarts = 0 if probe == "Readiness" else 4
    last = terminated("Error", 137, minutes=1) if restarts else None
    unready = pod(
        "web-7d9f8-a",
        statuses=[status("app", running(minutes=1), restarts=restarts, last=last)],
        conditions=[{"type": "Ready", "status": "False"}],
    )
    result = diagnose(
        tmp_path, [deployment(replicas=1), RS, unready, event("web-7d9f8-a", "Unhealthy", message, count=30)]
    )
    assert "probe_failure" in kinds(result) or (probe != "Readiness" and "restarts" in kinds(result))
    assert f"{probe.lower()} probe" in result.verdict.lower() or message.split(":", maxsplit=1)[0] in evidence(result)
    assert result.health == "down"


def test_stuck_rollout_with_old_replicaset_still_serving(tmp_path: Path) -> None:
    stalled = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "web-8b4c6" has timed out progressing.',
        },
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
    ]
    old = replicaset("web-7d9f8", revision="1", ready=2)
    new = replicaset("web-8b4c6", revision="2", ready=0, replicas=1)
    old_pods = [ready_pod(f"web-7d9f8-{s}") for s in "ab"]
    new_pod = pod(
        "web-8b4c6-c",
        owner=("ReplicaSet", "web-8b4c6"),
        labels={"app": "web", "pod-template-hash": "8b4c6"},
        statuses=[status("app", waiting("CrashLoopBackOff"), restarts=9, last=terminated("Error", 1))],
    )
    result = diagnose(tmp_path, [deployment(ready=2, conditions=stalled), old, new, *old_pods, new_pod])
    assert set(kinds(result)) == {"crash_loop", "rollout_stuck"}
    assert "rollout stuck (ProgressDeadlineExceeded)" in result.verdict
    assert "old ReplicaSets still serving: web-7d9f8 (2 ready)" in evidence(result)
    assert result.health == "degraded", "several causes at once, and the health agrees with them"


def test_replica_failure_from_quota(tmp_path: Path) -> None:
    quota = [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": 'pods "web-7d9f8-x" is forbidden: exceeded quota: compute, requested: memory=512Mi, '
            "used: memory=1536Mi, limited: memory=2Gi",
        }
    ]
    result = diagnose(tmp_path, [deployment(replicas=3, ready=1, conditions=quota), RS, ready_pod("web-7d9f8-a")])
    assert kinds(result)[0] == "replica_failure" and "exceeded quota: compute" in result.verdict
    assert result.health == "degraded"


def test_statefulset_and_daemonset(tmp_path: Path) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": NAMESPACE, "creationTimestamp": ts(days=9)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "postgres", "image": "postgres:16"}]},
            },
        },
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    db = [
        ready_pod("db-0", owner=("StatefulSet", "db"), labels={"app": "db"}),
        pod(
            "db-1",
            owner=("StatefulSet", "db"),
            labels={"app": "db"},
            phase="Pending",
            node=None,
            conditions=[
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                }
            ],
        ),
    ]
    result = diagnose(tmp_path / "sts", [sts, *db], kind="StatefulSet", name="db")
    assert kinds(result) == ["unschedulable"] and result.replicas == "1/2 ready" and result.health == "degraded"

    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": NAMESPACE, "creationTimestamp": ts(days=9)},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:2"}]},
            },
        },
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1, "numberMisscheduled": 0},
    }
    agents = [
        ready_pod("agent-x1", owner=("DaemonSet", "agent"), labels={"app": "agent"}),
        pod(
            "agent-x2",
            owner=("DaemonSet", "agent"),
            labels={"app": "agent"},
            containers=[{"name": "agent", "image": "agent:2", "resources": {"limits": {"memory": "128Mi"}}}],
            statuses=[status("agent", waiting("CrashLoopBackOff"), restarts=33, last=terminated("OOMKilled", 137))],
        ),
    ]
    result = diagnose(tmp_path / "ds", [ds, *agents], kind="DaemonSet", name="agent")
    assert kinds(result) == ["oom_killed"] and result.replicas == "1/2 ready"
    assert "1/2 pods OOMKilled at 128Mi limit (restarts 33)" in result.verdict


def _job(name: str, condition: dict | None, owner: str | None = None, **status_fields: int) -> dict:
    meta = {"name": name, "namespace": NAMESPACE, "creationTimestamp": ts(hours=7)}
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": owner, "uid": owner, "controller": True}
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 2,
            "selector": {"matchLabels": {"job-name": name}},
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "report:3"}]}},
        },
        "status": {"conditions": [condition] if condition else [], "startTime": ts(hours=7), **status_fields},
    }


def _failed_job_pod(name: str, job: str, container: str, image: str, code: int) -> dict:
    return pod(
        name,
        owner=("Job", job),
        labels={"job-name": job},
        phase="Failed",
        containers=[{"name": container, "image": image}],
        statuses=[status(container, terminated("Error", code))],
    )


FAILED = {
    "type": "Failed",
    "status": "True",
    "reason": "BackoffLimitExceeded",
    "message": "Job has reached the specified backoff limit",
}


def test_failed_job_and_its_cronjob(tmp_path: Path) -> None:
    job = _job("nightly-29001", FAILED, owner="nightly", failed=3)
    job_pod = pod(
        "nightly-29001-q2x",
        owner=("Job", "nightly-29001"),
        labels={"job-name": "nightly-29001"},
        phase="Failed",
        containers=[{"name": "report", "image": "report:3"}],
        statuses=[status("report", terminated("Error", 2, "FileNotFoundError: /data/ledger.csv"))],
    )
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": NAMESPACE, "creationTimestamp": ts(days=40)},
        "spec": {
            "schedule": "0 2 * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "report", "image": "report:3"}]}}}},
        },
        "status": {"lastScheduleTime": ts(hours=7), "lastSuccessfulTime": ts(days=1, hours=7)},
    }
    logs = {"nightly-29001-q2x/report": "Traceback (most recent call last):\nFileNotFoundError: /data/ledger.csv\n"}
    objects = [
        job,
        job_pod,
        cron,
        event("nightly-29001", "BackoffLimitExceeded", "Job has reached the specified backoff limit", kind="Job"),
    ]
    as_job = diagnose(tmp_path / "job", objects, kind="Job", name="nightly-29001", logs=logs)
    assert as_job.health == "failed" and "job_failed" in kinds(as_job) and "crash_loop" in kinds(as_job)
    assert "job nightly-29001 failed (BackoffLimitExceeded)" in as_job.verdict
    assert "FileNotFoundError: /data/ledger.csv" in as_job.verdict
    as_cron = diagnose(tmp_path / "cron", objects, kind="CronJob", name="nightly", logs=logs)
    assert as_cron.health == "failed" and "job_failed" in kinds(as_cron)


def test_completed_job_is_completed_not_down(tmp_path: Path) -> None:
    done = _job("export", {"type": "Complete", "status": "True"}, succeeded=1)
    finished = pod(
        "export-7f2",
        owner=("Job", "export"),
        labels={"job-name": "export"},
        phase="Succeeded",
        statuses=[status("app", terminated("Completed", 0))],
    )
    result = diagnose(tmp_path, [done, finished], kind="Job", name="export")
    assert result.health == "completed" and not result.causes and result.verdict.startswith("completed: Complete")


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"])
def test_not_found_lists_what_exists(tmp_path: Path, kind: str) -> None:
    with pytest.raises(ToolError, match=f"{kind.lower()} 'nope' not found; available:"):
        diagnose(tmp_path, [deployment(), RS], kind=kind, name="nope")


def test_verdict_and_health_never_disagree(tmp_path: Path) -> None:
    cases = [
        [deployment(replicas=2, ready=1), RS, ready_pod("web-7d9f8-a")],
        [deployment(replicas=1), RS, pod("web-7d9f8-a", statuses=[status("app", running(), ready=False)])],
        [deployment(replicas=1, ready=1), RS, ready_pod("web-7d9f8-a")],
    ]
    for number, objects in enumerate(cases):
        result = diagnose(tmp_path / str(number), objects)
        assert result.verdict.startswith("healthy") == (result.health == "healthy"), result.verdict
        if result.health == "healthy":
            assert all(p.status == "Running" and p.ready == "1/1" for p in result.pods)
        else:
            assert result.causes, "an unhealthy verdict always names a cause, or says none is visible"


def test_a_failed_job_read_without_its_conditions_is_failed_by_its_event(tmp_path: Path) -> None:
    """A Job as `kubectl describe job` shows it (no conditions), or before the controller wrote them: the
    BackoffLimitExceeded event says it failed. A FailedCreate that a later SuccessfulCreate superseded was
    transient and is not a cause."""
    job = _job("get-data", None, failed=1)
    job_pod = _failed_job_pod("get-data-mldtn", "get-data", "curl", "curlimages/curl:latest", 6)
    objects = [
        job,
        job_pod,
        event(
            "get-data",
            "FailedCreate",
            'Error creating: pods "get-data-" is forbidden: error looking up service '
            'account default/get-data-sa: serviceaccount "get-data-sa" not found',
            kind="Job",
            minutes=10,
        ),
        event("get-data", "SuccessfulCreate", "Created pod: get-data-mldtn", kind="Job", type_="Normal", minutes=9),
        event("get-data", "BackoffLimitExceeded", "Job has reached the specified backoff limit", kind="Job", minutes=9),
    ]
    logs = {"get-data-mldtn/curl": "curl: (6) Could not resolve host: example.invalid\n"}
    result = diagnose(tmp_path, objects, kind="Job", name="get-data", logs=logs)
    assert result.health == "failed" and "replica_failure" not in kinds(result)
    assert "job get-data failed (BackoffLimitExceeded)" in result.verdict
    assert "Could not resolve host" in result.verdict


def test_a_long_pull_error_keeps_its_root_cause(tmp_path: Path) -> None:
    """containerd wraps the cause in the image reference three times; cut at the head, the message loses the
    one part that says why (here, the registry's host does not resolve)."""
    image = "registry.internal.example.com/payments/gateway-service:2024.11.3-rc1"
    stuck = pod("web-7d9f8-a", phase="Pending", statuses=[status("app", waiting("ImagePullBackOff"))])
    failed = event(
        "web-7d9f8-a",
        "Failed",
        f'Failed to pull image "{image}": failed to pull and unpack image "{image}": failed to resolve reference '
        f'"{image}": failed to do request: Head "https://registry.internal.example.com/v2/payments/gateway-service/'
        'manifests/2024.11.3-rc1": dial tcp: lookup registry.internal.example.com on 10.96.0.10:53: no such host',
        count=4,
    )
    result = diagnose(tmp_path, [deployment(replicas=1), RS, stuck, failed])
    assert kinds(result) == ["image_pull"]
    assert "no such host" in result.verdict and "Failed to pull image" in result.verdict
    assert "no such host" in evidence(result).split("\n", 1)[1]


def test_a_job_past_its_backoff_limit_is_failed_without_conditions_or_events(tmp_path: Path) -> None:
    """`kubectl describe job` prints neither conditions nor (once they age out) events: more failed pods than
    backoffLimit, none active, is the controller's own rule for BackoffLimitExceeded. Below the limit, or
    with pods still running, the Job is not failed."""
    failed = _job("scraper", None, failed=3)
    result = diagnose(tmp_path, [failed], kind="Job", name="scraper")
    assert kinds(result) == ["job_failed"] and result.health == "failed"
    assert "BackoffLimitExceeded" in result.verdict and "3 failed pods, more than backoffLimit 2" in result.verdict
    retrying = _job("scraper", None, failed=3, active=1)
    assert "job_failed" not in kinds(diagnose(tmp_path, [retrying], kind="Job", name="scraper"))
    within = _job("scraper", None, failed=2)
    assert "job_failed" not in kinds(diagnose(tmp_path, [within], kind="Job", name="scraper"))


def test_a_running_container_not_started_names_its_startup_probe(tmp_path: Path) -> None:
    """Without probe events (aged out, or a capture without them), a running container that is not yet started
    is held by its startup probe, and one that started but is unready by its readiness probe."""
    probes = {
        "startupProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "failureThreshold": 30},
        "readinessProbe": {"exec": {"command": ["pg_isready"]}},
    }
    booting = pod(
        "web-7d9f8-a",
        containers=[{"name": "app", "image": "registry.example/app:1.4.2", **probes}],
        statuses=[status("app", running(minutes=3), started=False)],
    )
    unready = pod(
        "web-7d9f8-b",
        containers=[{"name": "app", "image": "registry.example/app:1.4.2", **probes}],
        statuses=[status("app", running(minutes=3), started=True)],
    )
    result = diagnose(tmp_path, [deployment(replicas=2), RS, booting, unready])
    assert kinds(result) == ["not_ready"] and result.health == "down"
    text = evidence(result)
    assert "container app running for 3m, not ready: startup probe HTTP GET /healthz :8080" in text
    assert "container app running for 3m, not ready: readiness probe exec pg_isready" in text


def test_a_retrying_job_is_told_once_by_its_failed_pod_or_else_by_its_counts(tmp_path: Path) -> None:
    """A running Job with a failed attempt: the failed pod, when it is there, says why (exit code, log); the Job's
    own counts say it only when no pod does (deleted, or not captured)."""
    job = _job("nightly", None, failed=1, active=1)
    failed_pod = _failed_job_pod("nightly-a", "nightly", "report", "report:3", 2)
    with_pod = diagnose(tmp_path, [job, failed_pod], kind="Job", name="nightly")
    assert kinds(with_pod) == ["crash_loop"] and with_pod.health == "degraded"
    without = diagnose(tmp_path, [job], kind="Job", name="nightly")
    assert kinds(without) == ["job_retrying"] and without.health == "degraded"
    assert without.verdict == "job nightly: 1 pod failed so far, 1 active"
    assert evidence(without).endswith("job/nightly active 1, succeeded 0, failed 1; backoffLimit 2")
