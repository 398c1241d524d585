"""The snapshot backend: a directory of `kubectl get … -o json` output plus container log files.

Layout (see SNAPSHOT.md): manifest.json, namespaces.json, pods.json, deployments.json, replicasets.json,
events.json, logs/<namespace>/<pod>/<container>.log and <container>.previous.log. Everything is loaded
into the official client's models once; scaling changes the in-memory state only (and is audited).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes.client import ApiClient, CoreV1Event, V1Deployment, V1Namespace, V1Pod

from k8s_mcp.backends import matches
from mcp_common.errors import ToolError, not_found
from mcp_common.settings import ConfigError

logger = logging.getLogger(__name__)

_LISTS = {
    "namespaces.json": "V1NamespaceList",
    "pods.json": "V1PodList",
    "deployments.json": "V1DeploymentList",
    "events.json": "CoreV1EventList",
}


class SnapshotBackend:
    """Cluster state read from a snapshot directory into `kubernetes.client` models."""

    name = "snapshot"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError(
                f"K8S_MCP_SNAPSHOT_DIR: {root} is not a directory; write one with `sre-lab seed cluster --out {root}`"
            )
        self.root = root
        self._lock = threading.Lock()
        api = ApiClient()
        loaded: dict[str, list[Any]] = {}
        for filename, list_type in _LISTS.items():
            path = root / filename
            if not path.exists():
                if filename == "events.json":
                    loaded[filename] = []
                    continue
                raise ConfigError(f"K8S_MCP_SNAPSHOT_DIR: {root} has no {filename} (see SNAPSHOT.md for the layout)")
            try:
                items = api.deserialize(path.read_text(encoding="utf-8"), list_type, "application/json").items
            except (ValueError, json.JSONDecodeError) as exc:
                raise ConfigError(f"K8S_MCP_SNAPSHOT_DIR: {path} is not a valid {list_type}: {exc}") from None
            loaded[filename] = list(items or [])
        self._namespaces: list[V1Namespace] = loaded["namespaces.json"]
        self._pods: list[V1Pod] = loaded["pods.json"]
        self._deployments: list[V1Deployment] = loaded["deployments.json"]
        self._events: list[CoreV1Event] = loaded["events.json"]
        logger.info(
            "snapshot %s: %d namespaces, %d pods, %d deployments, %d events",
            root,
            len(self._namespaces),
            len(self._pods),
            len(self._deployments),
            len(self._events),
        )

    def namespaces(self) -> list[V1Namespace]:
        return list(self._namespaces)

    def pods(self, namespace: str, selector: Mapping[str, str] | None = None) -> list[V1Pod]:
        return [p for p in self._pods if p.metadata.namespace == namespace and matches(p.metadata.labels, selector)]

    def pod(self, namespace: str, name: str) -> V1Pod:
        for pod in self.pods(namespace):
            if pod.metadata.name == name:
                return pod
        raise not_found("pod", name, [p.metadata.name for p in self.pods(namespace)])

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]:
        self.pod(namespace, name)  # not-found first, with the pods that exist
        suffix = ".previous.log" if previous else ".log"
        path = self.root / "logs" / namespace / name / f"{container}{suffix}"
        if not path.is_file():
            if previous:
                raise ToolError(
                    f"pod '{name}' container '{container}' has no previous (terminated) container logs; "
                    "call again with previous=false for the current container"
                )
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return lines[-tail_lines:] if tail_lines else lines

    def deployments(self, namespace: str) -> list[V1Deployment]:
        return [d for d in self._deployments if d.metadata.namespace == namespace]

    def deployment(self, namespace: str, name: str) -> V1Deployment:
        for deployment in self.deployments(namespace):
            if deployment.metadata.name == name:
                return deployment
        raise not_found("deployment", name, [d.metadata.name for d in self.deployments(namespace)])

    def events(self, namespace: str) -> list[CoreV1Event]:
        return [e for e in self._events if e.metadata.namespace == namespace]

    def scale(self, namespace: str, name: str, replicas: int) -> V1Deployment:
        with self._lock:
            deployment = self.deployment(namespace, name)
            previous = deployment.spec.replicas
            deployment.spec.replicas = replicas
            deployment.metadata.generation = (deployment.metadata.generation or 1) + 1
            logger.warning("snapshot: scaled %s/%s from %s to %d (in memory)", namespace, name, previous, replicas)
            return deployment

    def ping(self) -> bool:
        return self.root.is_dir()

    def close(self) -> None:
        return None
