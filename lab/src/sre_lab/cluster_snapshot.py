"""Write the scenario's cluster as kubectl would dump it: the k8s server's offline backend reads this.

Each JSON file is exactly what ``kubectl get <kind> -A -o json`` prints: a ``List`` whose items carry their
own ``apiVersion`` and ``kind`` and the official object shape (metadata, spec, status). So a snapshot of a
real cluster, taken with the same kubectl commands, is a drop-in replacement. ``services/k8s-mcp/SNAPSHOT.md``
documents the format for the server's users; keep the two in step.

Layout::

    <out>/
      manifest.json        {"format": "sre-lab-cluster-snapshot/v1", "captured_at": ISO, "context", "source"}
      namespaces.json      kubectl get namespaces -o json
      nodes.json           kubectl get nodes -o json
      pods.json            kubectl get pods -A -o json
      deployments.json     kubectl get deployments -A -o json
      replicasets.json     kubectl get replicasets -A -o json
      statefulsets.json    kubectl get statefulsets -A -o json
      jobs.json            kubectl get jobs -A -o json
      cronjobs.json        kubectl get cronjobs -A -o json
      events.json          kubectl get events -A -o json           (core/v1 Events)
      logs/<namespace>/<pod>/<container>.log            kubectl logs --timestamps
      logs/<namespace>/<pod>/<container>.previous.log   kubectl logs --timestamps --previous (if any)

Secrets are never written: a secret reaches the snapshot only as an env ``valueFrom.secretKeyRef``.
The snapshot is built in a temporary directory next to ``out`` and swapped in, so re-running replaces it
cleanly and a reader never sees half a snapshot. The objects come from ``sre_lab.kube_objects`` (pods,
namespaces, nodes, events) and ``sre_lab.kube_workloads`` (the controllers).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sre_lab.kube_objects import JSONObject, event_object, namespace_object, node_object, pod_object, ts
from sre_lab.kube_workloads import (
    cronjob_object,
    deployment_object,
    job_object,
    replicaset_objects,
    statefulset_object,
)
from sre_lab.scenario import Scenario

SNAPSHOT_FORMAT = "sre-lab-cluster-snapshot/v1"
MANIFEST = "manifest.json"
LIST_FILES = (
    "namespaces.json",
    "nodes.json",
    "pods.json",
    "deployments.json",
    "replicasets.json",
    "statefulsets.json",
    "jobs.json",
    "cronjobs.json",
    "events.json",
)


@dataclass(frozen=True)
class SnapshotSummary:
    path: Path
    captured_at: datetime
    counts: dict[str, int]  # items per list file, e.g. {"pods.json": 19, …}
    log_files: int
    files: tuple[str, ...]  # every file written, relative to ``path``, sorted


def write_cluster_snapshot(scenario: Scenario, out_dir: Path) -> SnapshotSummary:
    """Write the snapshot of ``scenario`` into ``out_dir``, replacing an earlier snapshot there.

    Refuses (``FileExistsError``) to replace a non-empty directory that is not a cluster snapshot.
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".new", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes 0700; the server container reads this as another user
        files, counts = _write_into(scenario, staging)
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SnapshotSummary(
        path=out_dir,
        captured_at=scenario.now,
        counts=counts,
        log_files=sum(1 for f in files if f.startswith("logs/")),
        files=tuple(sorted(files)),
    )


def cluster_objects(scenario: Scenario) -> dict[str, list[JSONObject]]:
    """The items of every list file, keyed by file name, in the order the API server lists them."""
    workloads = scenario.workloads
    return {
        "namespaces.json": _sorted([namespace_object(scenario, ns.name, ns.created) for ns in scenario.namespaces]),
        "nodes.json": _sorted([node_object(scenario, node) for node in scenario.nodes]),
        "pods.json": _sorted([pod_object(scenario, pod) for pod in scenario.pods]),
        "deployments.json": _sorted([deployment_object(scenario, w) for w in workloads if w.kind == "Deployment"]),
        "replicasets.json": _sorted(
            [rs for w in workloads if w.kind == "Deployment" for rs in replicaset_objects(scenario, w)]
        ),
        "statefulsets.json": _sorted([statefulset_object(scenario, w) for w in workloads if w.kind == "StatefulSet"]),
        "jobs.json": _sorted([job_object(scenario, w) for w in workloads if w.kind == "Job"]),
        "cronjobs.json": _sorted([cronjob_object(scenario, w) for w in workloads if w.kind == "CronJob"]),
        "events.json": _sorted([event_object(scenario, event) for event in scenario.events]),
    }


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _write_into(scenario: Scenario, root: Path) -> tuple[list[str], dict[str, int]]:
    files: list[str] = []
    counts: dict[str, int] = {}

    def write(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(relative)

    manifest = {
        "format": SNAPSHOT_FORMAT,
        "captured_at": ts(scenario.now),
        "context": "lab",
        "source": "sre-lab seed cluster",
    }
    write(MANIFEST, _dumps(manifest))
    for name, items in cluster_objects(scenario).items():
        write(name, _dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}))
        counts[name] = len(items)
    for pod in scenario.pods:
        base = f"logs/{pod.namespace}/{pod.name}/{pod.container}"
        write(f"{base}.log", _log_text(scenario.container_logs(pod.name)))
        if pod.last_state is not None:
            write(f"{base}.previous.log", _log_text(scenario.container_logs(pod.name, previous=True)))
    return files, counts


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a directory")
    if not any(out_dir.iterdir()):
        return
    # defence in depth: the swap deletes the old directory, so it must be one of ours
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != SNAPSHOT_FORMAT:
        raise FileExistsError(
            f"{out_dir} is not empty and holds no cluster snapshot ({MANIFEST} with format {SNAPSHOT_FORMAT}); "
            "refusing to replace it: choose another directory or empty this one"
        )


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging``: two renames, or (for a mount point) its contents one by one."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    retired.rmdir()
    try:
        out_dir.rename(retired)
    except OSError:  # e.g. a bind-mounted directory cannot be renamed: replace what is inside it
        for entry in list(out_dir.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in list(staging.iterdir()):
            os.replace(entry, out_dir / entry.name)
        staging.rmdir()
        return
    staging.rename(out_dir)
    shutil.rmtree(retired)


def _dumps(value: object) -> str:
    # kubectl re-encodes objects as maps, so its JSON has sorted keys
    return json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def _log_text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _sorted(items: list[JSONObject]) -> list[JSONObject]:
    # the API server lists by namespace, then name
    return sorted(items, key=lambda item: (item["metadata"].get("namespace", ""), item["metadata"]["name"]))
