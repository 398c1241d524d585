"""The snapshot backend: a directory of `kubectl get … -o json` output plus container log files (SNAPSHOT.md).

Opening is cheap (the directory and `manifest.json` are checked), so the server answers `initialize` at once.
`load()` parses the list files and groups their items by namespace; it runs in the background right after start,
or on the first call that needs it. Each namespace's objects become client models (`V1Pod`, …) the first time a
tool reads that namespace, and stay indexed: the data never changes, except a scale, which updates the
deployment in memory (and is audited).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mcp_common.errors import ToolError, not_found
from mcp_common.settings import ConfigError

if TYPE_CHECKING:  # annotations only; the module itself is imported when it is first needed (below)
    from kubernetes.client import CoreV1Event, V1Deployment, V1Namespace

    from k8s_mcp.index import NamespaceIndex

logger = logging.getLogger(__name__)

SNAPSHOT_FORMAT = "sre-lab-cluster-snapshot/v1"
# kind → file; the first three are required, the others are read when present.
KIND_FILES = {
    "Namespace": "namespaces.json",
    "Pod": "pods.json",
    "Deployment": "deployments.json",
    "ReplicaSet": "replicasets.json",
    "StatefulSet": "statefulsets.json",
    "DaemonSet": "daemonsets.json",
    "Job": "jobs.json",
    "CronJob": "cronjobs.json",
    "Event": "events.json",
}
REQUIRED = ("namespaces.json", "pods.json", "deployments.json")

Raw = dict[str, Any]


def _index_module() -> Any:
    # Deferred: the client's models cost most of a second of start-up. The server builds this backend before
    # `initialize` and reads the data after it, in the background; the models load then, with the data.
    from k8s_mcp import index  # noqa: PLC0415 - start-up cost, see above

    return index


def to_model(model: type[Any], raw: Raw) -> Any:
    """A client model from API JSON: pydantic's validator (fast), or the client's tolerant `from_dict` when the
    object carries fields this client version does not know (a newer cluster)."""
    try:
        return model.model_validate(raw)
    except ValidationError:
        return model.from_dict(raw)


def to_models(model: type[Any], items: list[Raw], where: str) -> list[Any]:
    """Every item that is a valid object; one that is not (hand-edited, truncated) is skipped and logged, so it
    cannot take the rest of its namespace down with it."""
    objects = []
    for item in items:
        try:
            objects.append(to_model(model, item))
        except (ValidationError, ValueError, TypeError) as exc:
            name = (item.get("metadata") or {}).get("name", "?")
            logger.warning(
                "snapshot %s: skipping %s %r, not a valid %s: %s", where, model.__name__, name, model.__name__, exc
            )
    return objects


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SnapshotBackend:
    """Cluster state read from a snapshot directory into `kubernetes.client` models, one namespace at a time."""

    name = "snapshot"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError(
                f"K8S_MCP_SNAPSHOT_DIR: {root} is not a directory; write one with `sre-lab seed cluster --out {root}` "
                "or take one of your cluster (services/k8s-mcp/SNAPSHOT.md)"
            )
        missing = [name for name in REQUIRED if not (root / name).is_file()]
        if missing:
            raise ConfigError(
                f"K8S_MCP_SNAPSHOT_DIR: {root} has no {', '.join(missing)} (see SNAPSHOT.md for the layout)"
            )
        self.root = root
        self._captured_at = self._read_manifest()
        self._lock = threading.Lock()
        self._raw: dict[str, dict[str, list[Raw]]] | None = None  # namespace → kind → items
        self._namespaces: list[V1Namespace] = []
        self._indexes: dict[str, NamespaceIndex] = {}
        self._index_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def _read_manifest(self) -> datetime | None:
        path = self.root / "manifest.json"
        if not path.is_file():
            logger.warning("snapshot %s has no manifest.json: ages are measured from the wall clock", self.root)
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            captured = manifest.get("captured_at")
            return parse_time(captured) if captured else None
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigError(f"K8S_MCP_SNAPSHOT_DIR: {path} is not a valid manifest ({exc})") from None

    @property
    def captured_at(self) -> datetime | None:
        return self._captured_at

    def load(self) -> SnapshotBackend:
        """Parse every list file once (idempotent, thread-safe); a broken file is a `ConfigError` naming it."""
        if self._raw is not None:
            return self
        with self._lock:
            if self._raw is not None:
                return self
            grouped: dict[str, dict[str, list[Raw]]] = defaultdict(lambda: defaultdict(list))
            namespaces: list[V1Namespace] = []
            for kind, filename in KIND_FILES.items():
                path = self.root / filename
                if not path.is_file():
                    continue
                items = self._read_list(path)
                if kind == "Namespace":
                    namespaces = to_models(_index_module().NAMESPACE_MODEL, items, str(path))
                    continue
                for item in items:
                    namespace = (item.get("metadata") or {}).get("namespace") or ""
                    grouped[namespace][kind].append(item)
            self._namespaces = namespaces
            self._raw = grouped
            counts = {kind: sum(len(kinds.get(kind, [])) for kinds in grouped.values()) for kind in KIND_FILES}
            logger.info("snapshot %s: %d namespaces, %s", self.root, len(namespaces), counts)
        return self

    @staticmethod
    def _read_list(path: Path) -> list[Raw]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"K8S_MCP_SNAPSHOT_DIR: {path} is not readable JSON ({exc})") from None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ConfigError(f"K8S_MCP_SNAPSHOT_DIR: {path} is not a kubectl List (no 'items' array of objects)")
        return items

    def warm(self, namespaces: Collection[str]) -> None:
        """Index these namespaces and print their pods now (the server does it in the background after start),
        so the first call finds them ready."""
        for namespace in namespaces:
            index = self.index(namespace, ())
            index.pod_counts()
            for pod, _ in index.pod_rows():
                index.facts(pod)

    def namespaces(self) -> list[V1Namespace]:
        self.load()
        return list(self._namespaces)

    def index(
        self, namespace: str, kinds: Collection[str] = (), pod_selector: Mapping[str, str] | None = None
    ) -> NamespaceIndex:
        """The namespace's every object, indexed once (`kinds` and `pod_selector` narrow nothing here)."""
        built = self._indexes.get(namespace)
        if built is not None:
            return built
        self.load()
        assert self._raw is not None
        with self._index_locks[namespace]:
            built = self._indexes.get(namespace)
            if built is None:
                raw = self._raw.get(namespace, {})
                where = f"{self.root}/{namespace}"
                index = _index_module()
                models = index.KIND_MODELS
                objects = {kind: to_models(models[kind], raw.get(kind, []), where) for kind in models}
                built = self._indexes[namespace] = index.NamespaceIndex(namespace, objects)
        return built

    def get(self, kind: str, namespace: str, name: str) -> Any:
        index = self.index(namespace)
        found = index.get(kind, name)
        if found is None:
            raise not_found(kind.lower(), name, index.names(kind))
        return found

    def events_for(self, namespace: str, names: Collection[str]) -> list[CoreV1Event]:
        return self.index(namespace).events_about(names)

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]:
        self.get("Pod", namespace, name)  # not-found first, with the pods that exist
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

    def scale(self, namespace: str, name: str, replicas: int, resource_version: str | None = None) -> V1Deployment:
        deployment: V1Deployment = self.get("Deployment", namespace, name)
        with self._lock:
            current = deployment.metadata.resource_version
            if resource_version is not None and current != resource_version:
                raise ToolError(
                    f"deployment {namespace}/{name} changed since the preview (resourceVersion {resource_version} → "
                    f"{current}); call scale_deployment again without a token for a new preview"
                )
            previous = deployment.spec.replicas
            deployment.spec.replicas = replicas
            deployment.metadata.generation = (deployment.metadata.generation or 1) + 1
            # A new resourceVersion, as the API server would assign: tokens bound to the old one stop matching.
            deployment.metadata.resource_version = str(int(current) + 1) if (current or "").isdigit() else "1"
        logger.warning("snapshot: scaled %s/%s from %s to %d (in memory)", namespace, name, previous, replicas)
        return deployment

    def ping(self) -> bool:
        return self.root.is_dir()

    def close(self) -> None:
        return None
