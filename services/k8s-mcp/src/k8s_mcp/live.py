"""The live backend: the official `kubernetes` client against a real API server.

Every request carries `_request_timeout` (the server-side half of the deadline; the tool also waits with a
timeout). API errors become tool errors a person can act on: 403 names the missing permission, 404 lists
what does exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from kubernetes import client, config
from kubernetes.client import ApiException, CoreV1Event, V1Deployment, V1Namespace, V1Pod
from kubernetes.config import ConfigException

from mcp_common.errors import ToolError, not_found
from mcp_common.settings import ConfigError

logger = logging.getLogger(__name__)
T = TypeVar("T")


def api_client_from(kubeconfig: Path | None, context: str | None, in_cluster: bool) -> client.ApiClient:
    """An `ApiClient` from the pod's service account or a kubeconfig (optionally a named context)."""
    try:
        if in_cluster:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        return config.new_client_from_config(
            config_file=str(kubeconfig) if kubeconfig else None, context=context, persist_config=False
        )
    except (ConfigException, FileNotFoundError) as exc:
        where = "in-cluster service account" if in_cluster else f"kubeconfig {kubeconfig or '~/.kube/config'}"
        raise ConfigError(f"K8S_MCP_BACKEND=live: cannot load the {where}: {exc}") from None


class LiveBackend:
    """Cluster state from the Kubernetes API."""

    name = "live"

    def __init__(self, api_client: client.ApiClient, request_timeout_s: float) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.timeout = request_timeout_s

    def _call(self, what: str, fn: Callable[[], T], on_missing: Callable[[], ToolError] | None = None) -> T:
        try:
            return fn()
        except ApiException as exc:
            if exc.status == 404 and on_missing is not None:
                raise on_missing() from None
            if exc.status in (401, 403):
                raise ToolError(
                    f"the Kubernetes API refused '{what}' (HTTP {exc.status}): the server's credentials lack that "
                    "permission; grant it with the Role in services/k8s-mcp/rbac/"
                ) from None
            logger.warning("Kubernetes API error on %s: %s %s", what, exc.status, exc.reason)
            raise ToolError(f"the Kubernetes API failed '{what}' (HTTP {exc.status} {exc.reason})") from None

    def namespaces(self) -> list[V1Namespace]:
        result = self._call("list namespaces", lambda: self.core.list_namespace(_request_timeout=self.timeout))
        return list(result.items or [])

    def pods(self, namespace: str, selector: Mapping[str, str] | None = None) -> list[V1Pod]:
        label_selector = ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or None
        result = self._call(
            f"list pods in {namespace}",
            lambda: self.core.list_namespaced_pod(
                namespace, label_selector=label_selector, _request_timeout=self.timeout
            ),
        )
        return list(result.items or [])

    def pod(self, namespace: str, name: str) -> V1Pod:
        return self._call(
            f"get pod {namespace}/{name}",
            lambda: self.core.read_namespaced_pod(name, namespace, _request_timeout=self.timeout),
            lambda: not_found("pod", name, [p.metadata.name for p in self.pods(namespace)]),
        )

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]:
        def missing() -> ToolError:
            self.pod(namespace, name)  # raises not-found with the pods that exist
            return ToolError(f"pod '{name}' container '{container}' has no {'previous ' if previous else ''}logs")

        text = self._call(
            f"get logs of pod {namespace}/{name}",
            lambda: self.core.read_namespaced_pod_log(
                name,
                namespace,
                container=container,
                previous=previous,
                tail_lines=tail_lines,
                timestamps=True,
                _request_timeout=self.timeout,
            ),
            missing,
        )
        return str(text or "").splitlines()

    def deployments(self, namespace: str) -> list[V1Deployment]:
        result = self._call(
            f"list deployments in {namespace}",
            lambda: self.apps.list_namespaced_deployment(namespace, _request_timeout=self.timeout),
        )
        return list(result.items or [])

    def deployment(self, namespace: str, name: str) -> V1Deployment:
        return self._call(
            f"get deployment {namespace}/{name}",
            lambda: self.apps.read_namespaced_deployment(name, namespace, _request_timeout=self.timeout),
            lambda: not_found("deployment", name, [d.metadata.name for d in self.deployments(namespace)]),
        )

    def events(self, namespace: str) -> list[CoreV1Event]:
        result = self._call(
            f"list events in {namespace}",
            lambda: self.core.list_namespaced_event(namespace, limit=500, _request_timeout=self.timeout),
        )
        return list(result.items or [])

    def scale(self, namespace: str, name: str, replicas: int) -> V1Deployment:
        self._call(
            f"patch deployments/scale {namespace}/{name}",
            lambda: self.apps.patch_namespaced_deployment_scale(
                name, namespace, {"spec": {"replicas": replicas}}, _request_timeout=self.timeout
            ),
            lambda: not_found("deployment", name, [d.metadata.name for d in self.deployments(namespace)]),
        )
        return self.deployment(namespace, name)

    def ping(self) -> bool:
        self._call("get version", lambda: client.VersionApi(self.api_client).get_code(_request_timeout=self.timeout))
        return True

    def close(self) -> None:
        self.api_client.close()
