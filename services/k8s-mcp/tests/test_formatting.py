"""kubectl-style views computed from real `kubernetes.client` model objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kubernetes.client import (
    V1Container,
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1EnvVar,
    V1EnvVarSource,
    V1HTTPGetAction,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1PodStatus,
    V1Probe,
    V1SecretKeySelector,
)

from k8s_mcp.diagnosis import crash_summary
from k8s_mcp.formatting import age, describe_env, describe_probe
from k8s_mcp.pod_status import print_pod

NOW = datetime(2026, 11, 26, 14, 23, tzinfo=UTC)


def pod(*statuses: V1ContainerStatus, deleting: bool = False) -> V1Pod:
    return V1Pod(
        metadata=V1ObjectMeta(name="p", deletion_timestamp=NOW if deleting else None),
        spec=V1PodSpec(containers=[V1Container(name=s.name) for s in statuses]),
        status=V1PodStatus(phase="Running", container_statuses=list(statuses)),
    )


def status(state: V1ContainerState, ready: bool = False, name: str = "c") -> V1ContainerStatus:
    return V1ContainerStatus(name=name, image="i", image_id="", ready=ready, restart_count=0, state=state)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(45, "45s"), (330, "5m30s"), (23 * 60, "23m"), (3 * 3600 + 300, "3h5m"), (14 * 3600, "14h"), (3 * 86400, "3d")],
)
def test_age_is_printed_like_kubectl(seconds: int, expected: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == expected


def test_status_comes_from_container_states_not_the_phase() -> None:
    crash = status(V1ContainerState(waiting=V1ContainerStateWaiting(reason="CrashLoopBackOff")))
    oom = status(V1ContainerState(terminated=V1ContainerStateTerminated(reason="OOMKilled", exit_code=137)))
    pulling = status(V1ContainerState(waiting=V1ContainerStateWaiting(reason="ImagePullBackOff")))
    running = status(V1ContainerState(running=V1ContainerStateRunning(started_at=NOW)), ready=True)
    assert print_pod(pod(crash)).status == "CrashLoopBackOff"
    assert print_pod(pod(oom)).status == "OOMKilled"
    assert print_pod(pod(pulling)).status == "ImagePullBackOff"
    assert print_pod(pod(running)).status == "Running"
    assert print_pod(pod(running, deleting=True)).status == "Terminating"
    assert print_pod(pod(running, status(V1ContainerState(), name="sidecar"))).ready == "1/2"


def test_env_keeps_secret_references_and_masks_literal_credentials() -> None:
    container = V1Container(
        name="c",
        env=[
            V1EnvVar(name="DB_HOST", value="pg-primary"),
            V1EnvVar(
                name="DB_PASSWORD",
                value_from=V1EnvVarSource(secret_key_ref=V1SecretKeySelector(name="payment-db", key="password")),
            ),
            V1EnvVar(name="CARD_NETWORK_API_KEY", value="sk_live_abcdef123456"),
        ],
    )
    assert describe_env(container) == {
        "DB_HOST": "pg-primary",
        "DB_PASSWORD": "<secret payment-db/password>",
        "CARD_NETWORK_API_KEY": "***",
    }


def test_probe_in_describe_notation() -> None:
    probe = V1Probe(
        http_get=V1HTTPGetAction(path="/health", port=8080),
        initial_delay_seconds=10,
        timeout_seconds=3,
        period_seconds=10,
    )
    assert describe_probe(probe) == "HTTP GET /health :8080 delay=10s timeout=3s period=10s #success=1 #failure=3"


def test_crash_summary_names_the_error_and_the_application_frame() -> None:
    lines = [
        "2026-11-26T14:23:06.000Z WARN  [BatchReconciliation] Loading 2.1M transactions into memory",
        "2026-11-26T14:23:11.000Z ERROR [BatchReconciliation] java.lang.OutOfMemoryError: Java heap space",
        "2026-11-26T14:23:11.000Z ERROR [BatchReconciliation]   at java.util.ArrayList.grow(ArrayList.java:265)",
        "2026-11-26T14:23:11.000Z ERROR [BatchReconciliation]   at com.visa.payment.BatchReconciliation"
        ".loadAllTransactions(BatchReconciliation.java:142)",
    ]
    message, excerpt = crash_summary(lines)
    assert message == "java.lang.OutOfMemoryError: Java heap space in BatchReconciliation.loadAllTransactions"
    assert excerpt[0] == lines[1]
