"""The live backend: the official `kubernetes` client against a real API server.

Every request carries `_request_timeout` (the server-side half of the deadline; the tool also waits with a
timeout). Failures become tool errors a person can act on: an unreachable server names the address and the
context; 401 says the context's credentials are missing or expired and how to refresh them; 403 names the verb
and resource that were refused and where the RBAC manifests are installed; 404 lists what does exist.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client import ApiException, CoreV1Event, V1Deployment, V1Namespace
from kubernetes.config import ConfigException

from k8s_mcp.index import NamespaceIndex, name_of
from mcp_common.errors import ToolError, not_found
from mcp_common.settings import ConfigError

logger = logging.getLogger(__name__)
T = TypeVar("T")

RBAC_DIR = Path(__file__).resolve().parent / "rbac"
EVENT_LIMIT = 1000
# kind → (API group attribute, plural resource for messages, list method, read method)
KIND_CALLS = {
    "Pod": ("core", "pods", "list_namespaced_pod", "read_namespaced_pod"),
    "Deployment": ("apps", "deployments", "list_namespaced_deployment", "read_namespaced_deployment"),
    "ReplicaSet": ("apps", "replicasets", "list_namespaced_replica_set", "read_namespaced_replica_set"),
    "StatefulSet": ("apps", "statefulsets", "list_namespaced_stateful_set", "read_namespaced_stateful_set"),
    "DaemonSet": ("apps", "daemonsets", "list_namespaced_daemon_set", "read_namespaced_daemon_set"),
    "Job": ("batch", "jobs", "list_namespaced_job", "read_namespaced_job"),
    "CronJob": ("batch", "cronjobs", "list_namespaced_cron_job", "read_namespaced_cron_job"),
    "Event": ("core", "events", "list_namespaced_event", "read_namespaced_event"),
}


def kubeconfig_source(kubeconfig: Path | None) -> str:
    """Which kubeconfig a live backend reads, for messages: the setting, else $KUBECONFIG, else the default."""
    if kubeconfig is not None:
        return str(kubeconfig)
    env = os.environ.get("KUBECONFIG")
    return f"$KUBECONFIG ({env})" if env else "~/.kube/config"


def api_client_from(kubeconfig: Path | None, context: str | None, in_cluster: bool) -> client.ApiClient:
    """An `ApiClient` from the pod's service account or a kubeconfig (optionally a named context).

    Without `K8S_MCP_KUBECONFIG`, `$KUBECONFIG` is honoured (a list of files, as kubectl reads it), then
    `~/.kube/config`."""
    if in_cluster:
        try:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except ConfigException as exc:
            raise ConfigError(
                f"K8S_MCP_IN_CLUSTER=true but this is not a pod with a service account ({exc}); "
                "run outside a cluster with K8S_MCP_IN_CLUSTER=false and a kubeconfig"
            ) from None
    source = kubeconfig_source(kubeconfig)
    config_file = str(kubeconfig) if kubeconfig is not None else os.environ.get("KUBECONFIG") or None
    try:
        if context:
            contexts, _ = config.list_kube_config_contexts(config_file=config_file)
            names = [c["name"] for c in contexts or []]
            if context not in names:
                raise ConfigError(
                    f"K8S_MCP_CONTEXT: context '{context}' is not in {source}; contexts there: "
                    f"{', '.join(names) or 'none'}"
                )
        return config.new_client_from_config(config_file=config_file, context=context, persist_config=False)
    except (ConfigException, FileNotFoundError, OSError) as exc:
        raise ConfigError(
            f"K8S_MCP_BACKEND=live: cannot load the kubeconfig {source}: {exc}; set K8S_MCP_KUBECONFIG or "
            "KUBECONFIG to your kubeconfig, or K8S_MCP_IN_CLUSTER=true inside a cluster"
        ) from None


def _status_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (ValueError, TypeError):
        return ""
    return str(body.get("message") or "") if isinstance(body, dict) else ""


class LiveBackend:
    """Cluster state from the Kubernetes API."""

    name = "live"
    captured_at = None  # a live cluster's "now" is the clock

    def __init__(self, api_client: client.ApiClient, request_timeout_s: float, context: str | None = None) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.timeout = request_timeout_s
        self.context = context
        self.server = api_client.configuration.host

    def _where(self) -> str:
        return f"{self.server} (context '{self.context}')" if self.context else str(self.server)

    def _call(
        self,
        verb: str,
        resource: str,
        namespace: str | None,
        fn: Callable[[], T],
        on_missing: Callable[[], ToolError] | None = None,
    ) -> T:
        what = f"{verb} {resource}" + (f" in namespace {namespace}" if namespace else "")
        try:
            return fn()
        except ApiException as exc:
            raise self._api_error(exc, what, verb, resource, on_missing) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            logger.warning("Kubernetes API unreachable on %s: %s", what, exc)
            raise ToolError(
                f"cannot reach the Kubernetes API server at {self._where()} to {what}: {type(exc).__name__}; "
                "check that the cluster is up and reachable from here (VPN, proxy, the kubeconfig's server address)"
            ) from None

    def _api_error(
        self, exc: ApiException, what: str, verb: str, resource: str, on_missing: Callable[[], ToolError] | None
    ) -> ToolError:
        detail = _status_message(exc)
        if exc.status == 404 and on_missing is not None:
            return on_missing()
        if exc.status == 401:
            context = f"context '{self.context}'" if self.context else "the current context"
            return ToolError(
                f"the Kubernetes API at {self.server} rejected the credentials of {context} (HTTP 401): they are "
                "missing or expired. Refresh them (run any kubectl command with that context to re-run its login "
                "plugin, or your provider's get-credentials command) and restart k8s-mcp"
            )
        if exc.status == 403:
            return ToolError(
                f"the Kubernetes API refused to {what} (HTTP 403, missing permission '{verb}' on '{resource}'): "
                f"{detail or 'forbidden'}. Grant it with the RBAC manifests shipped in {RBAC_DIR} "
                f"(kubectl apply -f {RBAC_DIR})"
            )
        logger.warning("Kubernetes API error on %s: %s %s", what, exc.status, exc.reason)
        return ToolError(f"the Kubernetes API failed to {what} (HTTP {exc.status} {exc.reason}): {detail[:300]}")

    def _api(self, kind: str) -> tuple[Any, str, str, str]:
        group, resource, list_method, read_method = KIND_CALLS[kind]
        return getattr(self, group), resource, list_method, read_method

    def list_kind(
        self, kind: str, namespace: str, selector: Mapping[str, str] | None = None, **query: Any
    ) -> list[Any]:
        api, resource, list_method, _ = self._api(kind)
        label_selector = ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or None
        if label_selector:
            query["label_selector"] = label_selector
        result = self._call(
            "list",
            resource,
            namespace,
            lambda: getattr(api, list_method)(namespace, _request_timeout=self.timeout, **query),
        )
        return list(result.items or [])

    def namespaces(self) -> list[V1Namespace]:
        result = self._call("list", "namespaces", None, lambda: self.core.list_namespace(_request_timeout=self.timeout))
        return list(result.items or [])

    def index(
        self, namespace: str, kinds: Collection[str], pod_selector: Mapping[str, str] | None = None
    ) -> NamespaceIndex:
        objects: dict[str, list[Any]] = {}
        for kind in kinds:
            if kind == "Pod":
                objects[kind] = self.list_kind(kind, namespace, pod_selector)
            elif kind == "Event":
                objects[kind] = self.list_kind(kind, namespace, limit=EVENT_LIMIT)
            else:
                objects[kind] = self.list_kind(kind, namespace)
        return NamespaceIndex(namespace, objects)

    def get(self, kind: str, namespace: str, name: str) -> Any:
        api, resource, _, read_method = self._api(kind)
        return self._call(
            "get",
            resource,
            namespace,
            lambda: getattr(api, read_method)(name, namespace, _request_timeout=self.timeout),
            lambda: not_found(kind.lower(), name, [name_of(o) for o in self.list_kind(kind, namespace)]),
        )

    def events_for(self, namespace: str, names: Collection[str]) -> list[CoreV1Event]:
        if len(names) == 1:
            (only,) = names
            return self.list_kind("Event", namespace, field_selector=f"involvedObject.name={only}")
        wanted = set(names)
        return [e for e in self.list_kind("Event", namespace, limit=EVENT_LIMIT) if e.involved_object.name in wanted]

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]:
        def missing() -> ToolError:
            self.get("Pod", namespace, name)  # raises not-found with the pods that exist
            return ToolError(f"pod '{name}' container '{container}' has no {'previous ' if previous else ''}logs")

        text = self._call(
            "get",
            "pods/log",
            namespace,
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

    def scale(self, namespace: str, name: str, replicas: int, resource_version: str | None = None) -> V1Deployment:
        body: dict[str, Any] = {"spec": {"replicas": replicas}}
        if resource_version:
            # Optimistic concurrency: the API server refuses (409) if the deployment changed since the preview.
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            self._call(
                "patch",
                "deployments/scale",
                namespace,
                lambda: self.apps.patch_namespaced_deployment_scale(
                    name, namespace, body, _request_timeout=self.timeout
                ),
                lambda: not_found("deployment", name, [name_of(d) for d in self.list_kind("Deployment", namespace)]),
            )
        except ToolError as exc:
            if "HTTP 409" in str(exc):
                raise ToolError(
                    f"deployment {namespace}/{name} changed since the preview (conflict on resourceVersion "
                    f"{resource_version}); call scale_deployment again without a token for a new preview"
                ) from None
            raise
        return self.get("Deployment", namespace, name)

    def ping(self) -> bool:
        self._call(
            "get", "version", None, lambda: client.VersionApi(self.api_client).get_code(_request_timeout=self.timeout)
        )
        return True

    def close(self) -> None:
        self.api_client.close()
