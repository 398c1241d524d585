"""The live backend without a cluster: the official client builds real HTTP requests, which a recording
urllib3 pool answers with Kubernetes JSON (or fails the way a dead server does). Asserts on the requests (paths,
query, timeout, body) and on what the tools make of the answers and of every kind of failure."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
import yaml
from kubernetes import client
from mcp import Client

from k8s_mcp.config import K8sSettings
from k8s_mcp.live import KIND_CALLS, RBAC_DIR, LiveBackend, api_client_from
from k8s_mcp.server import create_server
from mcp_common.errors import ToolError
from mcp_common.settings import ConfigError

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "payment-gw-def34",
        "namespace": "payments",
        "creationTimestamp": "2026-11-23T14:00:00Z",
        "labels": {"app": "payment-gateway"},
    },
    "spec": {"nodeName": "worker-02", "containers": [{"name": "payment-svc", "image": "visa/payment-gw:v2.3.1"}]},
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "payment-svc",
                "image": "visa/payment-gw:v2.3.1",
                "imageID": "",
                "ready": False,
                "restartCount": 47,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
            }
        ],
    },
}


def as_list(*items: dict) -> dict:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(items)}


class RecordingPool:
    """Stands in for urllib3's PoolManager: records each request, answers from `routes` (or raises `fail`)."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, Any]], fail: Exception | None = None) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        self.cleared = False
        self.fail = fail

    def clear(self) -> None:
        self.cleared = True  # ApiClient.close() drains the pool: proof the lifespan closed the client

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        parts = urlsplit(url)
        self.requests.append({"method": method, "path": parts.path, "query": parse_qs(parts.query), **kwargs})
        if self.fail is not None:
            raise self.fail
        status, payload = self.routes.get((method, parts.path), (404, {"kind": "Status", "code": 404}))
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        content_type = "text/plain" if isinstance(payload, bytes) else "application/json"
        return urllib3.HTTPResponse(
            body=io.BytesIO(body),
            status=status,
            reason="OK" if status < 400 else "Error",
            headers={"content-type": content_type},
            preload_content=False,
        )


def live_backend(
    routes: dict[tuple[str, str], tuple[int, Any]], fail: Exception | None = None
) -> tuple[LiveBackend, RecordingPool]:
    configuration = client.Configuration()
    configuration.host = "https://k8s.example.test:6443"
    api_client = client.ApiClient(configuration)
    pool = RecordingPool(routes, fail)
    api_client.rest_client.pool_manager = pool
    return LiveBackend(api_client, request_timeout_s=7, context="staging"), pool


def forbidden(resource: str, group: str, namespace: str) -> dict:
    """The Status body a real API server sends with a 403."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": f"{resource}{'.' + group if group else ''} is forbidden: "
        'User "system:serviceaccount:sre-tools:k8s-mcp" '
        f'cannot list resource "{resource}" in API group "{group}" in the namespace "{namespace}"',
        "reason": "Forbidden",
        "details": {"group": group, "kind": resource},
        "code": 403,
    }


def test_list_pods_builds_the_request_with_selector_and_timeout() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (200, as_list(POD))})
    pods = backend.list_kind("Pod", "payments", {"app": "payment-gateway"})
    assert pods[0].status.container_statuses[0].last_state.terminated.exit_code == 137
    (request,) = pool.requests
    assert request["query"] == {"labelSelector": ["app=payment-gateway"]}
    assert request["timeout"].total == 7


def test_previous_logs_request() -> None:
    path = "/api/v1/namespaces/payments/pods/payment-gw-def34/log"
    backend, pool = live_backend({("GET", path): (200, b"line one\njava.lang.OutOfMemoryError: Java heap space\n")})
    lines = backend.pod_log("payments", "payment-gw-def34", "payment-svc", previous=True, tail_lines=21)
    assert lines == ["line one", "java.lang.OutOfMemoryError: Java heap space"]
    query = pool.requests[0]["query"]
    assert query == {"container": ["payment-svc"], "previous": ["true"], "tailLines": ["21"], "timestamps": ["true"]}


def test_not_found_lists_what_exists() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (200, as_list(POD))})
    with pytest.raises(ToolError, match=r"pod 'payment-gw-zzz99' not found; available: payment-gw-def34"):
        backend.get("Pod", "payments", "payment-gw-zzz99")
    assert [r["path"] for r in pool.requests] == [
        "/api/v1/namespaces/payments/pods/payment-gw-zzz99",
        "/api/v1/namespaces/payments/pods",
    ]


def test_forbidden_names_the_verb_the_resource_and_where_the_rbac_is() -> None:
    path = "/apis/apps/v1/namespaces/auth/deployments"
    backend, _ = live_backend({("GET", path): (403, forbidden("deployments", "apps", "auth"))})
    with pytest.raises(ToolError) as refused:
        backend.list_kind("Deployment", "auth")
    message = str(refused.value)
    assert (
        "refused to list deployments in namespace auth (HTTP 403, missing permission 'list' on 'deployments')"
        in message
    )
    assert 'User "system:serviceaccount:sre-tools:k8s-mcp" cannot list resource "deployments"' in message
    assert f"kubectl apply -f {RBAC_DIR}" in message
    assert sorted(p.name for p in RBAC_DIR.glob("*.yaml")) == [
        "00-serviceaccount.yaml",
        "10-read-only.yaml",
        "20-scale-opt-in.yaml",
    ], "the message points at manifests that exist where the package is installed"


def test_expired_credentials_are_not_a_missing_permission() -> None:
    backend, _ = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (401, {"kind": "Status", "code": 401})})
    with pytest.raises(ToolError) as rejected:
        backend.list_kind("Pod", "payments")
    message = str(rejected.value)
    assert "rejected the credentials of context 'staging' (HTTP 401)" in message and "expired" in message
    assert "Refresh them" in message and "RBAC" not in message and "permission" not in message


@pytest.mark.parametrize(
    "failure",
    [
        urllib3.exceptions.MaxRetryError(None, "/api", reason=urllib3.exceptions.NewConnectionError(None, "refused")),
        urllib3.exceptions.ReadTimeoutError(None, "/api", "read timed out"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_an_unreachable_server_is_named_with_its_context(failure: Exception) -> None:
    backend, _ = live_backend({}, fail=failure)
    with pytest.raises(
        ToolError,
        match=r"cannot reach the Kubernetes API server at https://k8s.example.test:6443 "
        r"\(context 'staging'\) to list pods in namespace payments",
    ):
        backend.list_kind("Pod", "payments")


@pytest.mark.anyio
async def test_unreachable_through_the_tool_is_a_clear_error_not_an_internal_one() -> None:
    failure = urllib3.exceptions.MaxRetryError(None, "/api", reason=urllib3.exceptions.NewConnectionError(None, "x"))
    backend, _ = live_backend({}, fail=failure)
    async with Client(create_server(K8sSettings(backend="live"), backend=backend)) as mcp:
        result = await mcp.call_tool("list_pods", {"namespace": "payments"})
    assert result.is_error and "cannot reach the Kubernetes API server" in result.content[0].text
    assert "internal error" not in result.content[0].text


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "payment-gateway", "namespace": "payments", "resourceVersion": "4711", "generation": 3},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "payment-gateway"}},
        "template": {"spec": {"containers": [{"name": "payment-svc", "image": "i"}]}},
    },
}
BASE = "/apis/apps/v1/namespaces/payments/deployments/payment-gateway"


def test_scale_patches_the_scale_subresource_with_the_previewed_version_as_precondition() -> None:
    backend, pool = live_backend(
        {
            ("PATCH", f"{BASE}/scale"): (200, {"kind": "Scale", "spec": {"replicas": 3}}),
            ("GET", BASE): (200, DEPLOYMENT),
        }
    )
    assert backend.scale("payments", "payment-gateway", 3, resource_version="4711").spec.replicas == 3
    patch = pool.requests[0]
    assert patch["method"] == "PATCH" and patch["path"] == f"{BASE}/scale"
    assert json.loads(patch["body"]) == {"spec": {"replicas": 3}, "metadata": {"resourceVersion": "4711"}}
    assert "patch" in patch["headers"]["Content-Type"]


def test_a_conflict_means_the_deployment_changed_since_the_preview() -> None:
    conflict = {"kind": "Status", "code": 409, "reason": "Conflict", "message": "the object has been modified"}
    backend, _ = live_backend({("PATCH", f"{BASE}/scale"): (409, conflict)})
    with pytest.raises(ToolError, match=r"changed since the preview \(conflict on resourceVersion 4711\)"):
        backend.scale("payments", "payment-gateway", 3, resource_version="4711")


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Job", "/apis/batch/v1/namespaces/payments/jobs"),
        ("CronJob", "/apis/batch/v1/namespaces/payments/cronjobs"),
        ("StatefulSet", "/apis/apps/v1/namespaces/payments/statefulsets"),
        ("DaemonSet", "/apis/apps/v1/namespaces/payments/daemonsets"),
        ("ReplicaSet", "/apis/apps/v1/namespaces/payments/replicasets"),
    ],
)
def test_workload_kinds_are_listed_from_their_api_groups(kind: str, path: str) -> None:
    backend, pool = live_backend({("GET", path): (200, as_list())})
    assert backend.list_kind(kind, "payments") == []
    assert pool.requests[0]["path"] == path and pool.requests[0]["timeout"].total == 7


def test_events_of_one_object_use_a_field_selector() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/events"): (200, as_list())})
    backend.events_for("payments", {"payment-gw-def34"})
    assert pool.requests[0]["query"] == {"fieldSelector": ["involvedObject.name=payment-gw-def34"]}


@pytest.mark.anyio
async def test_tools_format_live_objects_like_snapshot_ones() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (200, as_list(POD))})
    async with Client(create_server(K8sSettings(backend="live"), backend=backend)) as mcp:
        result = await mcp.call_tool("list_pods", {"namespace": "payments"})
    pod = result.structured_content["items"][0]
    assert pod["status"] == "CrashLoopBackOff" and pod["restarts"] == 47 and pod["ready"] == "0/1"
    assert pod["last_termination"].startswith("Terminated (OOMKilled, exit code 137)")
    assert result.structured_content["summary"] == {"total": 1, "running": 0, "not_ready": 1}
    assert "payment-gw-def34  0/1    CrashLoopBackOff" in result.content[0].text
    assert pool.cleared, "the lifespan closes the API client"


KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "prod",
    "clusters": [
        {"name": "prod", "cluster": {"server": "https://prod.example.test"}},
        {"name": "lab", "cluster": {"server": "https://lab.example.test:6443"}},
    ],
    "users": [{"name": "u", "user": {"token": "t0k3n"}}],
    "contexts": [
        {"name": "prod", "context": {"cluster": "prod", "user": "u"}},
        {"name": "lab", "context": {"cluster": "lab", "user": "u", "namespace": "payments"}},
    ],
}


def test_kubeconfig_context_is_selectable(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(KUBECONFIG))
    assert api_client_from(kubeconfig, "lab", in_cluster=False).configuration.host == "https://lab.example.test:6443"
    assert api_client_from(kubeconfig, None, in_cluster=False).configuration.host == "https://prod.example.test"
    with pytest.raises(ConfigError, match=rf"context 'staging' is not in {kubeconfig}; contexts there: prod, lab"):
        api_client_from(kubeconfig, "staging", in_cluster=False)
    with pytest.raises(ConfigError, match="K8S_MCP_IN_CLUSTER=true but this is not a pod"):
        api_client_from(None, None, in_cluster=True)


def test_kubeconfig_env_is_honoured_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "from-env"
    kubeconfig.write_text(json.dumps(KUBECONFIG))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert api_client_from(None, "lab", in_cluster=False).configuration.host == "https://lab.example.test:6443"
    with pytest.raises(ConfigError, match=rf"is not in \$KUBECONFIG \({kubeconfig}\); contexts there: prod, lab"):
        api_client_from(None, "staging", in_cluster=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"cannot load the kubeconfig \$KUBECONFIG"):
        api_client_from(None, None, in_cluster=False)


def test_rbac_grants_every_read_the_live_backend_makes_and_nothing_more() -> None:
    documents = list(yaml.safe_load_all((RBAC_DIR / "10-read-only.yaml").read_text()))
    rules = [rule for doc in documents if doc["kind"] == "ClusterRole" for rule in doc["rules"]]
    granted = {(group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]}
    groups = {"core": "", "apps": "apps", "batch": "batch"}
    for group, resource, _, _ in KIND_CALLS.values():
        assert (groups[group], resource) in granted, f"{resource} is read but not granted"
    assert ("", "pods/log") in granted and ("", "namespaces") in granted
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list"}, (
        "the read-only manifests stay read-only"
    )
