"""Real-shaped API objects for tests: the JSON `kubectl get -o json` prints, written as a snapshot directory.

Messages and reasons are the ones kubelet, the scheduler and the controllers really emit (copied from real
captures); names and times are made up. A test states only what matters to it; the rest is a valid default.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from k8s_mcp.snapshot import KIND_FILES

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NAMESPACE = "shop"


def ts(**ago: float) -> str:
    return (NOW - timedelta(**ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def running(**ago: float) -> dict:
    return {"running": {"startedAt": ts(**(ago or {"hours": 1}))}}


def waiting(reason: str, message: str | None = None) -> dict:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def terminated(reason: str, code: int, message: str | None = None, **ago: float) -> dict:
    state = {"reason": reason, "exitCode": code, "finishedAt": ts(**(ago or {"minutes": 1})), "startedAt": ts(hours=2)}
    if message:
        state["message"] = message
    return {"terminated": state}


def status(
    name: str,
    state: dict,
    *,
    ready: bool = False,
    restarts: int = 0,
    last: dict | None = None,
    started: bool | None = None,
    image: str = "registry.example/app:1.4.2",
) -> dict:
    result = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": ready,
        "restartCount": restarts,
        "state": state,
        "lastState": last or {},
    }
    if started is not None:
        result["started"] = started
    return result


def pod(
    name: str,
    *,
    owner: tuple[str, str] | None = ("ReplicaSet", "web-7d9f8"),
    labels: dict | None = None,
    containers: list[dict] | None = None,
    init_containers: list[dict] | None = None,
    statuses: list[dict] | None = None,
    init_statuses: list[dict] | None = None,
    phase: str = "Running",
    conditions: list[dict] | None = None,
    node: str | None = "node-1",
    reason: str | None = None,
    message: str | None = None,
    created: dict | None = None,
) -> dict:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "labels": labels or {"app": "web", "pod-template-hash": "7d9f8"},
        "creationTimestamp": ts(**(created or {"hours": 3})),
        "uid": f"uid-{name}",
    }
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": f"uid-{owner[1]}", "controller": True}
        ]
    spec: dict[str, Any] = {
        "containers": containers
        or [{"name": "app", "image": "registry.example/app:1.4.2", "resources": {"limits": {"memory": "256Mi"}}}]
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if node:
        spec["nodeName"] = node
    pod_status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if statuses is not None:
        pod_status["containerStatuses"] = statuses
    if init_statuses is not None:
        pod_status["initContainerStatuses"] = init_statuses
    if reason:
        pod_status["reason"] = reason
    if message:
        pod_status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": pod_status}


def ready_pod(name: str, **kw: Any) -> dict:
    kw.setdefault("statuses", [status("app", running(), ready=True, started=True)])
    kw.setdefault("conditions", [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}])
    return pod(name, **kw)


def deployment(
    name: str = "web",
    *,
    replicas: int = 2,
    ready: int = 0,
    conditions: list[dict] | None = None,
    revision: str = "2",
    labels: dict | None = None,
) -> dict:
    labels = labels or {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": ts(days=30),
            "resourceVersion": "9120",
            "generation": 4,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.4.2"}]},
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": replicas,
            "conditions": conditions or [],
        },
    }


def replicaset(
    name: str, deployment_name: str = "web", *, revision: str = "2", ready: int = 0, replicas: int = 2
) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": ts(days=1),
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment_name,
                    "uid": f"uid-{deployment_name}",
                    "controller": True,
                }
            ],
        },
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def event(
    about: str, reason: str, message: str, *, kind: str = "Pod", type_: str = "Warning", count: int = 1, **ago: float
) -> dict:
    when = ts(**(ago or {"minutes": 2}))
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "type": type_,
        "reason": reason,
        "message": message,
        "count": count,
        "metadata": {"name": f"{about}.{reason}.{abs(hash(message)) % 10**6}", "namespace": NAMESPACE},
        "involvedObject": {"kind": kind, "name": about, "namespace": NAMESPACE},
        "firstTimestamp": when,
        "lastTimestamp": when,
    }


FILES = {kind: name for kind, name in KIND_FILES.items() if kind != "Namespace"}


def write_snapshot(root: Path, objects: list[dict], logs: dict[str, str] | None = None) -> Path:
    """A snapshot directory holding `objects` (and `logs`: 'pod/container[.previous]' → text)."""
    root.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[dict]] = {name: [] for name in FILES.values()}
    for obj in objects:
        by_file[FILES[obj["kind"]]].append(obj)
    by_file["namespaces.json"] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "creationTimestamp": ts(days=90)},
            "status": {"phase": "Active"},
        }
    ]
    for filename, items in by_file.items():
        (root / filename).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    (root / "manifest.json").write_text(
        json.dumps({"format": "sre-lab-cluster-snapshot/v1", "captured_at": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")})
    )
    for key, text in (logs or {}).items():
        pod_name, container = key.split("/")
        suffix = ".previous.log" if container.endswith(".previous") else ".log"
        path = root / "logs" / NAMESPACE / pod_name / (container.removesuffix(".previous") + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
