"""The cluster snapshot: kubectl's JSON shapes, the official client's models, the layout, and safe rewrites."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from sre_lab.cluster_snapshot import LIST_FILES, SNAPSHOT_FORMAT, write_cluster_snapshot
from sre_lab.scenario import Scenario, build_scenario

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
MODELS = {
    "namespaces.json": ("V1NamespaceList", "v1", "Namespace"),
    "nodes.json": ("V1NodeList", "v1", "Node"),
    "pods.json": ("V1PodList", "v1", "Pod"),
    "deployments.json": ("V1DeploymentList", "apps/v1", "Deployment"),
    "replicasets.json": ("V1ReplicaSetList", "apps/v1", "ReplicaSet"),
    "statefulsets.json": ("V1StatefulSetList", "apps/v1", "StatefulSet"),
    "jobs.json": ("V1JobList", "batch/v1", "Job"),
    "cronjobs.json": ("V1CronJobList", "batch/v1", "CronJob"),
    "events.json": ("CoreV1EventList", "v1", "Event"),
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(now=NOW)


@pytest.fixture(scope="module")
def snapshot(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("snapshots") / "cluster"
    write_cluster_snapshot(scenario, out)
    return out


def _load(snapshot: Path, name: str) -> Any:
    return json.loads((snapshot / name).read_text(encoding="utf-8"))


def _model(snapshot: Path, name: str) -> Any:
    return ApiClient().deserialize((snapshot / name).read_text(encoding="utf-8"), MODELS[name][0], "application/json")


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _unknown_keys(raw: Any, dumped: Any, path: str = "") -> list[str]:
    """Keys of our JSON that the model dropped: a misspelt field would vanish silently otherwise."""
    if isinstance(raw, dict):
        missing = [f"{path}/{k}" for k in raw if not isinstance(dumped, dict) or k not in dumped]
        return missing + [
            m
            for k, v in raw.items()
            if isinstance(dumped, dict) and k in dumped
            for m in _unknown_keys(v, dumped[k], f"{path}/{k}")
        ]
    if isinstance(raw, list) and isinstance(dumped, list):
        return [
            m for i, (a, b) in enumerate(zip(raw, dumped, strict=True)) for m in _unknown_keys(a, b, f"{path}[{i}]")
        ]
    return []


# -- layout --------------------------------------------------------------------------------------


def test_writes_the_documented_layout(scenario: Scenario, snapshot: Path) -> None:
    expected = {"manifest.json", *LIST_FILES}
    for pod in scenario.pods:
        expected.add(f"logs/{pod.namespace}/{pod.name}/{pod.container}.log")
        if pod.restarts:
            expected.add(f"logs/{pod.namespace}/{pod.name}/{pod.container}.previous.log")
    assert _files(snapshot) == expected
    assert "logs/payments/payment-gw-def34/payment-svc.previous.log" in expected
    assert "logs/payments/payment-gw-abc12/payment-svc.previous.log" not in expected


def test_manifest(snapshot: Path) -> None:
    assert _load(snapshot, "manifest.json") == {
        "format": SNAPSHOT_FORMAT,
        "captured_at": "2026-11-26T14:23:30Z",
        "context": "lab",
        "source": "sre-lab seed cluster",
    }


def test_summary_counts_what_was_written(scenario: Scenario, tmp_path: Path) -> None:
    summary = write_cluster_snapshot(scenario, tmp_path / "cluster")
    assert summary.path == tmp_path / "cluster"
    assert summary.captured_at == NOW
    assert set(summary.files) == _files(tmp_path / "cluster")
    assert summary.counts["pods.json"] == len(scenario.pods)
    assert summary.counts["namespaces.json"] == 6
    assert summary.log_files == len(scenario.pods) + len(scenario.crashing_pods)


# -- kubectl's shape and the official models -------------------------------------------------------


@pytest.mark.parametrize("name", LIST_FILES)
def test_list_files_have_kubectl_shape(snapshot: Path, name: str) -> None:
    body = _load(snapshot, name)
    assert set(body) == {"apiVersion", "items", "kind", "metadata"}
    assert (body["apiVersion"], body["kind"], body["metadata"]) == ("v1", "List", {"resourceVersion": ""})
    _, api_version, kind = MODELS[name]
    assert body["items"]
    for item in body["items"]:
        assert (item["apiVersion"], item["kind"]) == (api_version, kind)
        meta = item["metadata"]
        assert {"name", "uid", "creationTimestamp", "resourceVersion"} <= set(meta)
        assert "managedFields" not in meta
    uids = [item["metadata"]["uid"] for item in body["items"]]
    assert len(set(uids)) == len(uids)
    names = [(item["metadata"].get("namespace", ""), item["metadata"]["name"]) for item in body["items"]]
    assert names == sorted(names) and len(set(names)) == len(names)


@pytest.mark.parametrize("name", LIST_FILES)
def test_list_files_load_into_the_official_models_without_losing_a_field(snapshot: Path, name: str) -> None:
    model = _model(snapshot, name)
    raw = _load(snapshot, name)
    assert len(model.items) == len(raw["items"])
    assert _unknown_keys(raw, model.model_dump(by_alias=True, mode="json")) == []


def test_pod_model_fields(snapshot: Path) -> None:
    pods = {p.metadata.name: p for p in _model(snapshot, "pods.json").items}
    def34 = pods["payment-gw-def34"]
    assert (def34.metadata.namespace, def34.spec.node_name, def34.status.pod_ip) == (
        "payments",
        "worker-02",
        "10.244.2.15",
    )
    assert def34.status.host_ip == "10.0.1.12"
    assert def34.status.phase == "Running" and def34.status.qos_class == "Burstable"
    status = def34.status.container_statuses[0]
    assert (status.name, status.ready, status.restart_count) == ("payment-svc", False, 47)
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.exit_code == 137
    assert status.last_state.terminated.finished_at == NOW - timedelta(seconds=18)
    assert status.image_id.startswith("docker.io/visa/payment-gw@sha256:")
    assert status.container_id.startswith("containerd://")
    ready = next(c for c in def34.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "ContainersNotReady")

    container = def34.spec.containers[0]
    assert container.image == "visa/payment-gw:v2.3.1"
    assert container.resources.limits == {"cpu": "500m", "memory": "512Mi"}
    assert container.resources.requests == {"cpu": "200m", "memory": "256Mi"}
    probe = container.liveness_probe
    assert (probe.http_get.path, probe.http_get.port) == ("/health", 8080)
    assert (probe.initial_delay_seconds, probe.timeout_seconds, probe.period_seconds) == (10, 3, 10)

    assert pods["payment-gw-ghi56"].status.container_statuses[0].restart_count == 32
    abc12 = pods["payment-gw-abc12"].status.container_statuses[0]
    assert abc12.ready and abc12.state.running.started_at is not None and abc12.last_state.terminated is None
    assert pods["debug-toolbox"].status.qos_class == "BestEffort"
    assert pods["debug-toolbox"].metadata.owner_references is None


def test_owner_references_point_at_listed_objects(snapshot: Path) -> None:
    owners = {
        (item.kind, item.metadata.namespace, item.metadata.name): item.metadata.uid
        for name in ("replicasets.json", "statefulsets.json", "deployments.json", "jobs.json", "cronjobs.json")
        for item in _model(snapshot, name).items
    }
    for name in ("pods.json", "replicasets.json", "jobs.json"):
        for item in _model(snapshot, name).items:
            for ref in item.metadata.owner_references or []:
                assert owners[(ref.kind, item.metadata.namespace, ref.name)] == ref.uid
    def34 = next(p for p in _model(snapshot, "pods.json").items if p.metadata.name == "payment-gw-def34")
    assert [(r.kind, r.name) for r in def34.metadata.owner_references] == [("ReplicaSet", "payment-gateway-7d9f8b6c5")]


def test_deployment_and_replicasets(snapshot: Path) -> None:
    deployment = next(d for d in _model(snapshot, "deployments.json").items if d.metadata.name == "payment-gateway")
    assert deployment.spec.replicas == 5
    assert deployment.spec.template.spec.containers[0].image == "visa/payment-gw:v2.3.1"
    assert (deployment.status.replicas, deployment.status.ready_replicas, deployment.status.available_replicas) == (
        5,
        3,
        3,
    )
    assert deployment.status.unavailable_replicas == 2
    available = next(c for c in deployment.status.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")
    assert deployment.metadata.creation_timestamp == NOW - timedelta(days=45)

    replicasets = {r.metadata.name: r for r in _model(snapshot, "replicasets.json").items}
    current = replicasets["payment-gateway-7d9f8b6c5"]
    assert (current.spec.replicas, current.status.ready_replicas) == (5, 3)
    assert current.metadata.annotations["deployment.kubernetes.io/revision"] == "7"
    old = replicasets["payment-gateway-5f6c7d8b9"]
    assert old.spec.replicas == 0 and old.spec.template.spec.containers[0].image == "visa/payment-gw:v2.3.0"

    statefulsets = {s.metadata.name: s for s in _model(snapshot, "statefulsets.json").items}
    assert {"redis-primary", "redis-replica", "vault"} == set(statefulsets)
    assert statefulsets["redis-primary"].status.ready_replicas == 1


def test_events_model_fields(scenario: Scenario, snapshot: Path) -> None:
    events = _model(snapshot, "events.json").items
    assert len(events) == len(scenario.events)
    pod_uids = {p.metadata.name: p.metadata.uid for p in _model(snapshot, "pods.json").items}

    scaled = next(e for e in events if e.reason == "ScalingReplicaSet" and e.involved_object.name == "payment-gateway")
    assert scaled.first_timestamp == scaled.last_timestamp == NOW - timedelta(minutes=23)
    assert scaled.message.startswith("Scaled up replica set payment-gateway-7d9f8b6c5 to 5")
    assert (scaled.involved_object.kind, scaled.source.component) == ("Deployment", "deployment-controller")

    oom = next(e for e in events if e.reason == "OOMKilled" and e.involved_object.name == "payment-gw-def34")
    assert (oom.type, oom.count, oom.metadata.namespace) == ("Warning", 48, "payments")
    assert oom.message == "Container payment-svc exceeded memory limit (512Mi)"
    assert oom.involved_object.uid == pod_uids["payment-gw-def34"]
    assert oom.involved_object.field_path == "spec.containers{payment-svc}"
    assert (oom.source.component, oom.source.host, oom.reporting_component) == ("kubelet", "worker-02", "kubelet")
    assert oom.first_timestamp < oom.last_timestamp <= NOW
    for event in events:
        if event.involved_object.kind == "Pod" and event.involved_object.name in pod_uids:
            assert event.involved_object.uid == pod_uids[event.involved_object.name]


def test_namespaces_include_the_restricted_ones(snapshot: Path) -> None:
    names = {n.metadata.name for n in _model(snapshot, "namespaces.json").items}
    assert names == {"payments", "auth", "monitoring", "default", "kube-system", "vault"}
    pods = _model(snapshot, "pods.json").items
    assert {p.metadata.namespace for p in pods} == names


# -- secrets -------------------------------------------------------------------------------------


def test_no_secret_objects_anywhere(snapshot: Path) -> None:
    def kinds(value: Any) -> list[str]:
        if isinstance(value, dict):
            own = [value["kind"]] if isinstance(value.get("kind"), str) else []
            return own + [k for v in value.values() for k in kinds(v)]
        if isinstance(value, list):
            return [k for v in value for k in kinds(v)]
        return []

    for name in LIST_FILES:
        assert "Secret" not in kinds(_load(snapshot, name)), name
    assert not [f for f in _files(snapshot) if "secret" in f.lower()]


def test_secret_env_stays_a_reference(snapshot: Path) -> None:
    pod = next(p for p in _load(snapshot, "pods.json")["items"] if p["metadata"]["name"] == "payment-gw-def34")
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"key": "password", "name": "payment-db"}},
    }
    assert env["DB_HOST"] == {"name": "DB_HOST", "value": "pg-primary"}
    assert "value" in env["CARD_NETWORK_API_KEY"]  # the literal credential the server must mask
    model = next(p for p in _model(snapshot, "pods.json").items if p.metadata.name == "payment-gw-def34")
    ref = next(e for e in model.spec.containers[0].env if e.name == "DB_PASSWORD")
    assert ref.value is None
    assert (ref.value_from.secret_key_ref.name, ref.value_from.secret_key_ref.key) == ("payment-db", "password")


# -- logs ----------------------------------------------------------------------------------------


def test_log_files_are_the_scenario_container_logs(scenario: Scenario, snapshot: Path) -> None:
    for pod in scenario.pods:
        base = snapshot / "logs" / pod.namespace / pod.name / pod.container
        assert Path(f"{base}.log").read_text(encoding="utf-8").splitlines() == scenario.container_logs(pod.name)
    previous = (snapshot / "logs/payments/payment-gw-def34/payment-svc.previous.log").read_text(encoding="utf-8")
    assert previous.endswith("\n")
    assert "ERROR [BatchReconciliation] java.lang.OutOfMemoryError: Java heap space" in previous
    assert "at com.visa.payment.BatchReconciliation.loadAllTransactions(BatchReconciliation.java:142)" in previous
    current = (snapshot / "logs/payments/payment-gw-def34/payment-svc.log").read_text(encoding="utf-8").splitlines()
    assert 3 <= len(current) <= 5 and "OutOfMemoryError" not in "\n".join(current)


# -- rewriting -----------------------------------------------------------------------------------


def test_rewrite_replaces_the_snapshot_cleanly(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    write_cluster_snapshot(scenario, out)
    first = _files(out)
    (out / "stray.json").write_text("{}", encoding="utf-8")
    (out / "logs" / "payments" / "gone-pod").mkdir()

    later = build_scenario(now=NOW + timedelta(hours=1))
    write_cluster_snapshot(later, out)
    write_cluster_snapshot(later, tmp_path / "fresh")
    assert _files(out) == _files(tmp_path / "fresh")
    # the same objects, but a CronJob's last Job is named after its scheduled minute: an hour later, another run
    assert len(_files(out)) == len(first) and "logs/auth/session-cleanup-29928413-8xk2p/cleanup.log" in _files(out)
    shutil.rmtree(tmp_path / "fresh")
    assert not (out / "logs" / "payments" / "gone-pod").exists()
    assert _load(out, "manifest.json")["captured_at"] == "2026-11-26T15:23:30Z"
    assert [p.name for p in tmp_path.iterdir()] == ["cluster"]  # no staging or retired directories left
    assert (out.stat().st_mode & 0o777) == 0o755


def test_writes_into_an_existing_empty_directory(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    out.mkdir()
    write_cluster_snapshot(scenario, out)
    assert (out / "pods.json").is_file()


def test_refuses_to_replace_a_directory_that_is_not_a_snapshot(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        write_cluster_snapshot(scenario, out)
    assert _files(out) == {"notes.txt"}
    assert [p.name for p in tmp_path.iterdir()] == ["precious"]


# -- the batch workloads ---------------------------------------------------------------------------------


def test_the_nightly_cronjob_and_its_last_run(snapshot: Path) -> None:
    cronjob = next(c for c in _model(snapshot, "cronjobs.json").items if c.metadata.name == "settlement-export")
    assert cronjob.spec.schedule == "30 2 * * *"  # the course's T is 14:23:30: 11 h 53 min earlier
    assert cronjob.status.last_schedule_time == datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    assert cronjob.status.last_successful_time > cronjob.status.last_schedule_time
    job = next(j for j in _model(snapshot, "jobs.json").items if j.metadata.name.startswith("settlement-export-"))
    assert job.metadata.name == f"settlement-export-{int(datetime(2026, 11, 26, 2, 30, tzinfo=UTC).timestamp()) // 60}"
    assert [(c.type, c.status) for c in job.status.conditions] == [("Complete", "True")] and job.status.succeeded == 1
    pod = next(p for p in _model(snapshot, "pods.json").items if p.metadata.name.startswith(job.metadata.name))
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.reason == "Completed"
    ready = next(c for c in pod.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "PodCompleted")


def test_the_failed_job_and_its_two_attempts(snapshot: Path) -> None:
    job = next(j for j in _model(snapshot, "jobs.json").items if j.metadata.name == "ledger-backfill")
    assert job.spec.backoff_limit == 1 and job.status.failed == 2 and not job.status.succeeded
    failed = job.status.conditions[0]
    assert (failed.type, failed.status, failed.reason) == ("Failed", "True", "BackoffLimitExceeded")
    pods = [p for p in _model(snapshot, "pods.json").items if p.metadata.name.startswith("ledger-backfill-")]
    assert [p.status.phase for p in pods] == ["Failed", "Failed"]
    assert {p.status.container_statuses[0].state.terminated.exit_code for p in pods} == {1}
    assert all(p.metadata.labels["job-name"] == "ledger-backfill" for p in pods)
    log = (snapshot / "logs/payments/ledger-backfill-7m2qk/backfill.log").read_text()
    assert "InsufficientPrivilege: permission denied for table ledger_entries" in log
    events = [e for e in _model(snapshot, "events.json").items if e.involved_object.name == "ledger-backfill"]
    assert ("Warning", "BackoffLimitExceeded") in {(e.type, e.reason) for e in events}
