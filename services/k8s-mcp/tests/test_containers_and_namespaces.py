"""Every container and every message (describe_pod, get_pod_logs), status_filter through the tool, and the
namespace policy: an explicit list or `*` with a deny list, validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_objects import NAMESPACE, event, pod, ready_pod, running, status, terminated, waiting, write_snapshot
from mcp import Client
from pydantic import ValidationError

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server

pytestmark = pytest.mark.anyio

SIDECAR = {"name": "proxy", "image": "envoy:1.31", "restartPolicy": "Always"}
INIT = {"name": "migrate", "image": "registry.example/migrate:7"}


def objects() -> list[dict]:
    stuck = pod(
        "web-7d9f8-a",
        phase="Pending",
        init_containers=[SIDECAR, INIT],
        init_statuses=[
            status("proxy", running(), ready=True, started=True),
            status(
                "migrate",
                waiting("CrashLoopBackOff", "back-off 2m40s restarting failed container=migrate"),
                restarts=5,
                last=terminated("Error", 1, 'psql: error: FATAL: password authentication failed for user "app"'),
            ),
        ],
        statuses=[status("app", waiting("PodInitializing"))],
    )
    config = pod(
        "web-7d9f8-b",
        phase="Pending",
        statuses=[status("app", waiting("CreateContainerConfigError", 'configmap "web-settings" not found'))],
    )
    return [
        stuck,
        config,
        ready_pod("web-7d9f8-c"),
        event("web-7d9f8-b", "Failed", 'Error: configmap "web-settings" not found'),
    ]


async def call(root: Path, tool: str, **arguments):
    settings = K8sSettings(backend="snapshot", snapshot_dir=root, allowed_namespaces=NAMESPACE)
    async with Client(create_server(settings)) as client:
        return await client.call_tool(tool, arguments)


async def test_describe_pod_shows_init_containers_sidecars_and_their_messages(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    data = (await call(root, "describe_pod", namespace=NAMESPACE, pod_name="web-7d9f8-a")).structured_content
    assert [(c["name"], c["kind"]) for c in data["containers"]] == [
        ("proxy", "sidecar"),
        ("migrate", "init"),
        ("app", "container"),
    ]
    migrate = data["containers"][1]
    assert migrate["reason"] == "CrashLoopBackOff" and migrate["restart_count"] == 5
    assert migrate["last_reason"] == "Error" and migrate["last_exit_code"] == 1
    assert 'password authentication failed for user "app"' in migrate["last_message"]
    assert data["containers"][0]["ready"] is True and data["containers"][0]["started"] is True
    assert (data["status"], data["ready"], data["restarts"]) == ("Init:CrashLoopBackOff", "1/2", 5)
    config = (await call(root, "describe_pod", namespace=NAMESPACE, pod_name="web-7d9f8-b")).structured_content
    assert config["containers"][0]["message"] == 'configmap "web-settings" not found'
    assert config["events"][0]["message"] == 'Error: configmap "web-settings" not found'


async def test_logs_of_any_container_and_a_clear_list_when_the_name_is_wrong(tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snap", objects(), logs={"web-7d9f8-a/migrate.previous": "psql: error: FATAL\n"})
    init = await call(
        root, "get_pod_logs", namespace=NAMESPACE, pod_name="web-7d9f8-a", container="migrate", previous=True
    )
    assert (
        init.structured_content["lines"] == ["psql: error: FATAL"] and init.structured_content["container"] == "migrate"
    )
    wrong = await call(root, "get_pod_logs", namespace=NAMESPACE, pod_name="web-7d9f8-a", container="nginx")
    assert wrong.is_error
    assert "containers: proxy (sidecar), migrate (init), app (container)" in wrong.content[0].text


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("Init:*", ["web-7d9f8-a"]),
        ("init:crashloopbackoff", ["web-7d9f8-a"]),
        ("CreateContainerConfigError", ["web-7d9f8-b"]),
        ("failing", ["web-7d9f8-a", "web-7d9f8-b"]),
        ("running", ["web-7d9f8-c"]),
        ("pending", []),
    ],
)
async def test_status_filter_through_the_tool(tmp_path: Path, value: str, names: list[str]) -> None:
    root = write_snapshot(tmp_path / "snap", objects())
    data = (await call(root, "list_pods", namespace=NAMESPACE, status_filter=value)).structured_content
    assert [p["name"] for p in data["items"]] == names
    assert data["summary"] == {"total": 3, "running": 1, "not_ready": 2}


async def test_wildcard_allows_every_namespace_but_the_denied_ones(tmp_path: Path, snapshot_dir: Path) -> None:
    settings = K8sSettings(backend="snapshot", snapshot_dir=snapshot_dir, allowed_namespaces="*")
    async with Client(create_server(settings)) as client:
        listed = (await client.call_tool("list_namespaces", {})).structured_content["items"]
        vault = await client.call_tool("list_pods", {"namespace": "vault"})
        system = await client.call_tool("list_pods", {"namespace": "kube-system"})
    assert [n["name"] for n in listed] == ["auth", "default", "monitoring", "payments", "vault"]
    assert not vault.is_error
    assert (
        system.is_error
        and "allowed: any namespace except kube-system, kube-public, kube-node-lease" in system.content[0].text
    )
    named = K8sSettings(backend="snapshot", snapshot_dir=snapshot_dir, allowed_namespaces="*,kube-system")
    async with Client(create_server(named)) as client:
        assert not (await client.call_tool("list_pods", {"namespace": "kube-system"})).is_error


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "Payments",
            "'Payments' is not a namespace name (lowercase letters, digits and '-', at most 63 characters, "
            "or * for every namespace); did you mean 'payments'?",
        ),
        ("payments,auth_team", "'auth_team' is not a namespace name"),
        ("", "at least one namespace (or *) must be allowed"),
    ],
)
def test_allowed_namespaces_are_validated_at_start(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        K8sSettings(backend="snapshot", allowed_namespaces=value)


def test_quoted_values_from_env_files_are_accepted() -> None:
    assert K8sSettings(backend="snapshot", allowed_namespaces="'*'").allowed_namespaces == ("*",)
    assert K8sSettings(backend="snapshot", allowed_namespaces='"payments, auth"').allowed_namespaces == (
        "payments",
        "auth",
    )
