"""Cluster objects indexed the way the tools ask for them: one namespace at a time, by name, pods by the
workload that owns them, events by the object they are about, and every pod's kubectl row computed once.

The snapshot backend builds one `NamespaceIndex` per namespace and keeps it (the data never changes); the live
backend builds one per call from what it just listed. Either way a tool's cost grows with the namespace it asks
about, never with the size of the cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from kubernetes.client import (
    CoreV1Event,
    V1CronJob,
    V1DaemonSet,
    V1Deployment,
    V1Job,
    V1Namespace,
    V1Pod,
    V1ReplicaSet,
    V1StatefulSet,
)

from k8s_mcp.formatting import PodFacts, pod_facts
from k8s_mcp.objects import controller_of, match_labels, matches, name_of, type_kind
from k8s_mcp.pod_status import PodRow, print_pod
from k8s_mcp.statuses import category

# kind → model class. The order is the order `kubectl get all` would use; Event last.
KIND_MODELS: dict[str, type[Any]] = {
    "Pod": V1Pod,
    "Deployment": V1Deployment,
    "ReplicaSet": V1ReplicaSet,
    "StatefulSet": V1StatefulSet,
    "DaemonSet": V1DaemonSet,
    "Job": V1Job,
    "CronJob": V1CronJob,
    "Event": CoreV1Event,
}
NAMESPACE_MODEL = V1Namespace
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


class NamespaceIndex:
    """One namespace's objects, looked up by kind and name, with pods grouped by their controller."""

    def __init__(self, namespace: str, objects: Mapping[str, Iterable[Any]]) -> None:
        self.namespace = namespace
        self._by_kind: dict[str, dict[str, Any]] = {
            kind: {name_of(obj): obj for obj in sorted(items, key=name_of)} for kind, items in objects.items()
        }
        self._rows: dict[str, PodRow] = {}
        self._facts: dict[str, PodFacts] = {}
        self._pod_rows: list[tuple[V1Pod, PodRow]] | None = None
        self._counts: tuple[int, int, int] | None = None
        self._owned: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for kind in ("Pod", "ReplicaSet", "Job"):
            for obj in self._by_kind.get(kind, {}).values():
                ref = controller_of(obj)
                if ref is not None:
                    self._owned[(ref.kind, ref.name)].append(obj)
        self._events: dict[str, list[CoreV1Event]] = defaultdict(list)
        for event in self._by_kind.get("Event", {}).values():
            involved = event.involved_object
            if involved is not None and involved.name:
                self._events[involved.name].append(event)

    def kinds(self) -> set[str]:
        return set(self._by_kind)

    def items(self, kind: str) -> list[Any]:
        """Every object of `kind`, sorted by name."""
        return list(self._by_kind.get(kind, {}).values())

    def names(self, kind: str) -> list[str]:
        return list(self._by_kind.get(kind, {}))

    def get(self, kind: str, name: str) -> Any | None:
        return self._by_kind.get(kind, {}).get(name)

    def row(self, pod: V1Pod) -> PodRow:
        """The pod's kubectl row, computed once per indexed pod (a pod from elsewhere is printed afresh)."""
        key = name_of(pod)
        if self._by_kind.get("Pod", {}).get(key) is not pod:
            return print_pod(pod)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = print_pod(pod)
        return row

    def pod_rows(self) -> list[tuple[V1Pod, PodRow]]:
        """Every pod with its kubectl row, by name (computed once)."""
        if self._pod_rows is None:
            self._pod_rows = [(pod, self.row(pod)) for pod in self.items("Pod")]
        return self._pod_rows

    def pod_counts(self) -> tuple[int, int, int]:
        """(pods, ready, completed) over the namespace."""
        if self._counts is None:
            rows = [row for _, row in self.pod_rows()]
            ready = sum(1 for row in rows if row.is_ready)
            completed = sum(1 for row in rows if category(row) == "completed")
            self._counts = (len(rows), ready, completed)
        return self._counts

    def facts(self, pod: V1Pod) -> PodFacts:
        """The pod's list facts (node, requests, limits, telling termination), computed once per indexed pod."""
        key = name_of(pod)
        if self._by_kind.get("Pod", {}).get(key) is not pod:
            return pod_facts(pod)
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = pod_facts(pod)
        return facts

    def owned(self, kind: str, name: str) -> list[Any]:
        """Objects whose controller is `kind/name` (pods, ReplicaSets, Jobs)."""
        return list(self._owned.get((kind, name), []))

    def replicasets_of(self, deployment: V1Deployment) -> list[V1ReplicaSet]:
        return [rs for rs in self.owned("Deployment", name_of(deployment)) if isinstance(rs, V1ReplicaSet)]

    def jobs_of(self, cronjob: V1CronJob) -> list[V1Job]:
        jobs = [job for job in self.owned("CronJob", name_of(cronjob)) if isinstance(job, V1Job)]
        return sorted(jobs, key=lambda job: (job.metadata.creation_timestamp is None, job.metadata.creation_timestamp))

    def pods_of(self, workload: Any) -> list[V1Pod]:
        """The pods a workload runs: through owner references (Deployment → ReplicaSet → Pod, CronJob → Job →
        Pod), falling back to its label selector when the snapshot lacks the intermediate objects."""
        name = name_of(workload)
        if isinstance(workload, V1Deployment):
            replicasets = self.replicasets_of(workload)
            if replicasets:
                return [p for rs in replicasets for p in self.owned("ReplicaSet", name_of(rs))]
            selector = match_labels(workload)
            # No ReplicaSets captured: pods owned by a ReplicaSet named <deployment>-<hash> that match the selector.
            return [
                p
                for p in self.items("Pod")
                if matches(p.metadata.labels, selector)
                and (ref := controller_of(p)) is not None
                and ref.kind == "ReplicaSet"
                and ref.name.startswith(f"{name}-")
            ]
        if isinstance(workload, V1CronJob):
            return [p for job in self.jobs_of(workload) for p in self.owned("Job", name_of(job))]
        owned = [p for p in self.owned(type_kind(workload), name) if isinstance(p, V1Pod)]
        if owned:
            return owned
        selector = match_labels(workload)
        return [p for p in self.items("Pod") if matches(p.metadata.labels, selector)] if selector else []

    def events_about(self, names: Collection[str]) -> list[CoreV1Event]:
        """Events whose involved object is one of `names` (any kind)."""
        return [event for name in names for event in self._events.get(name, [])]


__all__ = [
    "KIND_MODELS",
    "NAMESPACE_MODEL",
    "WORKLOAD_KINDS",
    "NamespaceIndex",
    "controller_of",
    "match_labels",
    "matches",
    "name_of",
    "type_kind",
]
