"""Where cluster state comes from. Both backends hand back the official client's model objects
(`V1Pod`, `V1Deployment`, `CoreV1Event`, ...), so one formatting path serves a snapshot and a live cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from kubernetes.client import CoreV1Event, V1Deployment, V1Namespace, V1Pod


class ClusterBackend(Protocol):
    """Read access to one cluster (plus the one write we allow: scaling a deployment).

    Not-found and permission problems raise `ToolError` with a message naming what exists or what
    permission is missing; methods are blocking and are called off the event loop.
    """

    name: str

    def namespaces(self) -> list[V1Namespace]: ...

    def pods(self, namespace: str, selector: Mapping[str, str] | None = None) -> list[V1Pod]: ...

    def pod(self, namespace: str, name: str) -> V1Pod: ...

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]: ...

    def deployments(self, namespace: str) -> list[V1Deployment]: ...

    def deployment(self, namespace: str, name: str) -> V1Deployment: ...

    def events(self, namespace: str) -> list[CoreV1Event]: ...

    def scale(self, namespace: str, name: str, replicas: int) -> V1Deployment: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def matches(labels: Mapping[str, str] | None, selector: Mapping[str, str] | None) -> bool:
    """True when every selector label is present with the same value (matchLabels semantics)."""
    if not selector:
        return True
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())
