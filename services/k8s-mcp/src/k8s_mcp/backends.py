"""Where cluster state comes from. Both backends hand back the official client's model objects (`V1Pod`,
`V1Deployment`, `V1Job`, `CoreV1Event`, ...) in a `NamespaceIndex`, so one formatting path serves a snapshot and a
live cluster, and a tool's cost depends on the namespace it reads, not on the cluster.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the server imports this module at start (see objects.py)
    from kubernetes.client import CoreV1Event, V1Deployment, V1Namespace

    from k8s_mcp.index import NamespaceIndex


class ClusterBackend(Protocol):
    """Read access to one cluster (plus the one write we allow: scaling a deployment).

    Not-found and permission problems raise `ToolError` with a message naming what exists or what permission is
    missing; methods are blocking and are called off the event loop.
    """

    name: str

    @property
    def captured_at(self) -> datetime | None:
        """The moment the data describes: a snapshot's `captured_at` ("now" for ages and event windows), or None
        for a live cluster, whose "now" is the clock."""
        ...

    def namespaces(self) -> list[V1Namespace]: ...

    def index(
        self, namespace: str, kinds: Collection[str], pod_selector: Mapping[str, str] | None = None
    ) -> NamespaceIndex:
        """At least `kinds` of `namespace`, indexed; `pod_selector` lets a live backend list only a workload's
        pods (a snapshot has them all anyway)."""
        ...

    def get(self, kind: str, namespace: str, name: str) -> Any:
        """One object; not found is a `ToolError` listing the names of that kind that exist."""
        ...

    def events_for(self, namespace: str, names: Collection[str]) -> list[CoreV1Event]:
        """Events about the objects called `names` in `namespace`."""
        ...

    def pod_log(self, namespace: str, name: str, container: str, *, previous: bool, tail_lines: int) -> list[str]: ...

    def scale(self, namespace: str, name: str, replicas: int, resource_version: str | None = None) -> V1Deployment:
        """Set the replicas; with `resource_version`, only if the deployment is still at that version (a
        conflict is a `ToolError`)."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
