"""The live backend without a cluster: the official client builds real HTTP requests, which a recording
urllib3 pool answers with Kubernetes JSON. Asserts on the requests (paths, query, timeout, body) and on what
the tools make of the answers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from kubernetes import client
from mcp import Client

from k8s_mcp.config import K8sSettings
from k8s_mcp.live import LiveBackend, api_client_from
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
    """Stands in for urllib3's PoolManager: records each request, answers from `routes`."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        self.cleared = False

    def clear(self) -> None:
        self.cleared = True  # ApiClient.close() drains the pool: proof the lifespan closed the client

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        parts = urlsplit(url)
        self.requests.append({"method": method, "path": parts.path, "query": parse_qs(parts.query), **kwargs})
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


def live_backend(routes: dict[tuple[str, str], tuple[int, Any]]) -> tuple[LiveBackend, RecordingPool]:
    configuration = client.Configuration()
    configuration.host = "https://k8s.example.test:6443"
    api_client = client.ApiClient(configuration)
    pool = RecordingPool(routes)
    api_client.rest_client.pool_manager = pool
    return LiveBackend(api_client, request_timeout_s=7), pool


def test_list_pods_builds_the_request_with_selector_and_timeout() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (200, as_list(POD))})
    pods = backend.pods("payments", {"app": "payment-gateway"})
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
        backend.pod("payments", "payment-gw-zzz99")
    assert [r["path"] for r in pool.requests] == [
        "/api/v1/namespaces/payments/pods/payment-gw-zzz99",
        "/api/v1/namespaces/payments/pods",
    ]


def test_forbidden_names_the_missing_permission() -> None:
    backend, _ = live_backend({("GET", "/apis/apps/v1/namespaces/auth/deployments"): (403, {"kind": "Status"})})
    with pytest.raises(ToolError, match=r"refused 'list deployments in auth' \(HTTP 403\).*rbac"):
        backend.deployments("auth")


def test_scale_patches_the_scale_subresource() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "payment-gateway", "namespace": "payments"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "payment-gateway"}},
            "template": {"spec": {"containers": [{"name": "payment-svc", "image": "i"}]}},
        },
    }
    base = "/apis/apps/v1/namespaces/payments/deployments/payment-gateway"
    backend, pool = live_backend(
        {
            ("PATCH", f"{base}/scale"): (200, {"kind": "Scale", "spec": {"replicas": 3}}),
            ("GET", base): (200, deployment),
        }
    )
    assert backend.scale("payments", "payment-gateway", 3).spec.replicas == 3
    patch = pool.requests[0]
    assert patch["method"] == "PATCH" and patch["path"] == f"{base}/scale"
    assert json.loads(patch["body"]) == {"spec": {"replicas": 3}}
    assert "patch" in patch["headers"]["Content-Type"]


@pytest.mark.anyio
async def test_tools_format_live_objects_like_snapshot_ones() -> None:
    backend, pool = live_backend({("GET", "/api/v1/namespaces/payments/pods"): (200, as_list(POD))})
    async with Client(create_server(K8sSettings(backend="live"), backend=backend)) as mcp:
        result = await mcp.call_tool("list_pods", {"namespace": "payments"})
    pod = result.structured_content["items"][0]
    assert pod["status"] == "CrashLoopBackOff" and pod["restarts"] == 47 and pod["ready"] == "0/1"
    assert pod["last_termination"].startswith("Terminated (OOMKilled, exit code 137)")
    assert result.structured_content["summary"] == {"total": 1, "running": 0, "not_ready": 1}
    assert pool.cleared, "the lifespan closes the API client"


def test_kubeconfig_context_is_selectable(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
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
        )
    )
    assert api_client_from(kubeconfig, "lab", in_cluster=False).configuration.host == "https://lab.example.test:6443"
    assert api_client_from(kubeconfig, None, in_cluster=False).configuration.host == "https://prod.example.test"
    with pytest.raises(ConfigError, match="cannot load the kubeconfig"):
        api_client_from(kubeconfig, "staging", in_cluster=False)
    with pytest.raises(ConfigError, match="in-cluster"):
        api_client_from(None, None, in_cluster=True)
