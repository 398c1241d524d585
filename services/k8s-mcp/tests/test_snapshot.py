"""The snapshot backend: opened without reading (the server answers initialize at once), read once, indexed per
namespace, `captured_at` as "now", every kind read, and a broken file reported clearly, not as a crash."""

from __future__ import annotations

import json
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
    status,
    waiting,
    write_snapshot,
)
from mcp import Client

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server
from k8s_mcp.snapshot import SnapshotBackend
from mcp_common.settings import ConfigError

pytestmark = pytest.mark.anyio


def objects() -> list[dict]:
    crash = pod("web-7d9f8-b", statuses=[status("app", waiting("CrashLoopBackOff"), restarts=4)])
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": NAMESPACE, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "schedule": "30 1 * * *",
            "timeZone": "Europe/Paris",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "r", "image": "r:1"}]}}}},
        },
        "status": {
            "lastScheduleTime": "2026-03-02T00:30:00Z",
            "lastSuccessfulTime": "2026-03-01T00:31:10Z",
            "active": [],
        },
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "nightly-29020",
            "namespace": NAMESPACE,
            "creationTimestamp": "2026-03-02T00:30:00Z",
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "u", "controller": True}
            ],
        },
        "spec": {"completions": 1, "template": {"spec": {"containers": [{"name": "r", "image": "r:1"}]}}},
        "status": {
            "failed": 3,
            "startTime": "2026-03-02T00:30:00Z",
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        },
    }
    return [
        deployment(ready=1),
        replicaset("web-7d9f8"),
        ready_pod("web-7d9f8-a"),
        crash,
        cron,
        job,
        event("web-7d9f8-b", "BackOff", "Back-off restarting failed container app", count=40),
    ]


async def call(server, tool: str, **arguments):
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


def server_for(root: Path, **env):
    return create_server(K8sSettings(backend="snapshot", snapshot_dir=root, allowed_namespaces=NAMESPACE, **env))


def test_opening_reads_only_the_manifest(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    (root / "pods.json").write_text("{ this is not JSON")
    backend = SnapshotBackend(root)  # no error: nothing but the manifest has been read
    assert backend.captured_at == NOW
    with pytest.raises(ConfigError, match=r"pods.json is not readable JSON"):
        backend.load()


def test_missing_required_files_and_directory_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        SnapshotBackend(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"has no namespaces.json, pods.json, deployments.json"):
        SnapshotBackend(tmp_path / "empty")


def test_objects_from_a_newer_cluster_and_broken_items_do_not_break_the_namespace(tmp_path: Path) -> None:
    newer = ready_pod("web-7d9f8-n")
    newer["spec"]["futureFeature"] = {"enabled": True}  # a field this client version does not know
    newer["status"]["containerStatuses"][0]["allocatedResourcesStatus"] = []
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "half", "namespace": NAMESPACE},
        "spec": {"replicas": "three"},
    }
    backend = SnapshotBackend(write_snapshot(tmp_path / "snap", [*objects(), newer, broken])).load()
    index = backend.index(NAMESPACE)
    assert index.get("Pod", "web-7d9f8-n") is not None and index.get("Deployment", "half") is None
    assert index.get("Deployment", "web") is not None


def test_each_namespace_is_indexed_once_and_apart(tmp_path: Path) -> None:
    backend = SnapshotBackend(write_snapshot(tmp_path / "snap", objects()))
    first = backend.index(NAMESPACE)
    assert backend.index(NAMESPACE) is first and backend.index("elsewhere").items("Pod") == []
    assert [p.metadata.name for p in first.pods_of(first.get("Deployment", "web"))] == ["web-7d9f8-a", "web-7d9f8-b"]


async def test_ages_count_from_captured_at_not_the_wall_clock(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    data = (await call(server_for(root), "list_pods", namespace=NAMESPACE)).structured_content
    assert {p["age"] for p in data["items"]} == {"3h"}, "pods created 3 h before captured_at read 3h, whenever read"
    events = (await call(server_for(root), "get_events", namespace=NAMESPACE)).structured_content
    assert events["items"][0]["age"] == "2m"


async def test_jobs_and_cronjobs_tools(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    jobs = await call(server_for(root), "list_jobs", namespace=NAMESPACE)
    (job,) = jobs.structured_content["items"]
    assert (job["status"], job["completions"], job["failed"], job["owner"]) == ("Failed", "0/1", 3, "CronJob/nightly")
    assert job["reason"] == "BackoffLimitExceeded" and job["age"] == "9h"
    assert "nightly-29020  Failed  0/1" in jobs.content[0].text
    cron = (await call(server_for(root), "list_cronjobs", namespace=NAMESPACE)).structured_content["items"][0]
    assert (cron["schedule"], cron["timezone"], cron["suspend"], cron["active"]) == (
        "30 1 * * *",
        "Europe/Paris",
        False,
        0,
    )
    assert (cron["last_schedule"], cron["last_successful"]) == ("9h", "32h")
    assert (cron["last_job"], cron["last_job_status"]) == ("nightly-29020", "Failed")
    diagnosis = await call(server_for(root), "diagnose_workload", namespace=NAMESPACE, name="nightly", kind="CronJob")
    assert (
        diagnosis.structured_content["health"] == "failed"
        and "BackoffLimitExceeded" in diagnosis.structured_content["verdict"]
    )


async def test_list_pods_text_is_a_kubectl_table(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    result = await call(server_for(root), "list_pods", namespace=NAMESPACE)
    lines = result.content[0].text.splitlines()
    assert lines[0] == f"{NAMESPACE}: 2 pods, 1 ready, 1 not ready"
    assert lines[1].split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "NODE",
        "MEM-LIMIT",
        "LAST",
        "TERMINATION",
    ]
    assert lines[3].split()[:5] == ["web-7d9f8-b", "0/1", "CrashLoopBackOff", "4", "3h"]
    assert json.loads(json.dumps(result.structured_content))["items"][1]["status"] == "CrashLoopBackOff"
