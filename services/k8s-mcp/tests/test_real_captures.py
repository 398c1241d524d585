"""The real captures collected after the server was written (`tests/fixtures/real/survey2/`, see SOURCE.md), read
the way the evaluation reads them: each becomes a snapshot and goes through an in-memory MCP session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from k8s_mcp.captures import write_snapshot
from k8s_mcp.config import K8sSettings
from k8s_mcp.evaluate import evaluate_case
from k8s_mcp.server import create_server

pytestmark = pytest.mark.anyio

SURVEY2 = Path(__file__).parent / "fixtures" / "real" / "survey2"
SURVEY3 = SURVEY2.parent / "survey3"


async def diagnose(case: str, tmp_path: Path, collection: Path = SURVEY2) -> dict[str, Any]:
    """diagnose_workload on a capture, through the protocol; the structured result plus its text."""
    workload = write_snapshot(collection / case, tmp_path / case)["workload"]
    listed = json.loads((tmp_path / case / "namespaces.json").read_text(encoding="utf-8"))["items"]
    namespace = workload.get("namespace") or listed[0]["metadata"]["name"]
    settings = K8sSettings(backend="snapshot", snapshot_dir=tmp_path / case, allowed_namespaces=namespace)
    async with Client(create_server(settings)) as client:
        result = await client.call_tool(
            "diagnose_workload", {"namespace": namespace, "name": workload["name"], "kind": workload["kind"]}
        )
    data = dict(result.structured_content or {})
    data["text"] = result.content[0].text
    return data


async def test_a_kube_system_capture_is_read_and_its_derived_rows_are_scored(tmp_path: Path) -> None:
    """`*` denies kube-system, so the evaluation once could not read a capture of it and counted its rows as
    misses; a case's own namespace is now allowed, as a user names it (`*,kube-system`)."""
    result = await evaluate_case(SURVEY2 / "kstatus-minikube-kube-system", tmp_path)
    assert result.collection == "survey2" and result.holdout
    assert result.kubectl_derived == {"etcd-minikube": True, "storage-provisioner": True}


async def test_a_container_running_unready_names_the_probe_that_keeps_it_out(tmp_path: Path) -> None:
    """argo-cd's never-ready pod: running a minute, unready, a tcpSocket readiness probe on a port nothing
    listens on, and no events in the capture. The diagnosis said only "Running, 0/1 containers ready"; the probe
    that gates readiness is the fact to check, events or not."""
    result = await diagnose("argo-pod-running-not-ready", tmp_path)
    assert result["health"] == "down" and [c["kind"] for c in result["causes"]] == ["not_ready"]
    assert "readiness probe of main (TCP :8080) not passing" in result["verdict"]
    assert "container main running for 61s, not ready: readiness probe TCP :8080 delay=10s" in result["text"]


async def test_a_deployment_without_pods_quotes_its_own_conditions(tmp_path: Path) -> None:
    """kubectl-status' httpbin Deployment, seconds old: 0/3, no pod yet. "only 0/3 pods exist" was all the
    diagnosis said; the Deployment's own conditions say the rollout has just begun and since when."""
    result = await diagnose("kstatus-deployment-unavailable", tmp_path)
    assert result["health"] == "down" and [c["kind"] for c in result["causes"]] == ["missing_pods"]
    evidence = result["causes"][0]["evidence"]
    assert "condition Available=False MinimumReplicasUnavailable (21s ago): Deployment does not have minimum " in (
        "\n".join(evidence)
    )
    assert any("NewReplicaSetCreated" in line and "httpbin-deployment-79f6dfbb9" in line for line in evidence)


async def test_a_deployment_captured_without_its_pods_is_not_missing_them(tmp_path: Path) -> None:
    """argo-cd's guestbook-ui: a stuck rollout, captured without its ReplicaSets or pods. Its status reports
    2 pods (1 ready); "only 0/1 pods exist" contradicted the "1/1 ready" above it. The stuck rollout is the cause."""
    result = await diagnose("argo-deployment-degraded", tmp_path)
    assert [c["kind"] for c in result["causes"]] == ["rollout_stuck"] and result["health"] == "degraded"
    assert result["replicas"] == "1/1 ready" and "exist" not in result["text"]


async def test_a_crash_loop_verdict_gives_restarts_and_back_off_not_the_kubelets_boilerplate(tmp_path: Path) -> None:
    """argo-cd's crash-looping pod: the verdict quoted the kubelet's waiting message ("Back-off 40s restarting failed
    container=main pod=my-pod_argocd(63674389-…)") as if it were the reason; what it says is the back-off, and the
    restart count was missing. The message stays in the evidence, as the fact it is."""
    result = await diagnose("argo-pod-crashloop", tmp_path)
    assert result["verdict"] == "1/1 pods container main last exit Error, code 1 (3 restarts, back-off 40s)"
    assert "restarting failed container=main pod=my-pod_argocd" in result["causes"][0]["evidence"][0]


async def test_a_running_job_captured_without_its_pod_is_progressing(tmp_path: Path) -> None:
    """argo-cd's running Job (2018: no `status.ready` yet), its pod not captured: "0/1 pods ready; no cause
    visible", degraded. Its one active pod is all the Job says; it is progressing."""
    result = await diagnose("argo-job-running", tmp_path, SURVEY3)
    assert result["health"] == "progressing" and result["causes"] == []
    assert result["verdict"] == "progressing: 1/1 pods ready, image alpine:latest"


async def test_a_running_job_with_failed_indexes_says_so(tmp_path: Path) -> None:
    """kubectl-status' Indexed Job while it still runs: indexes 0 and 2 failed (4 pods, their one retry each
    spent), 2 active, no condition yet. It read "0/3 pods ready; no cause visible"; the failures are the cause."""
    result = await diagnose("kstatus-job-indexed-backoff-active", tmp_path, SURVEY3)
    assert result["health"] == "degraded" and [c["kind"] for c in result["causes"]] == ["job_retrying"]
    assert result["verdict"] == "job job-indexed-backoff: 4 pods failed so far (failed indexes 0,2), 2 active"
    assert result["causes"][0]["evidence"] == [
        "job/job-indexed-backoff active 2, succeeded 2, failed 4 (failed indexes 0,2); backoffLimitPerIndex 1"
    ]
