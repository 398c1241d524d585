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
      events.json          kubectl get events -A -o json           (core/v1 Events)
      logs/<namespace>/<pod>/<container>.log            kubectl logs --timestamps
      logs/<namespace>/<pod>/<container>.previous.log   kubectl logs --timestamps --previous (if any)

Secrets are never written: a secret reaches the snapshot only as an env ``valueFrom.secretKeyRef``.
The snapshot is built in a temporary directory next to ``out`` and swapped in, so re-running replaces it
cleanly and a reader never sees half a snapshot.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sre_lab.scenario import (
    ContainerSpec,
    Node,
    PodState,
    Probe,
    Scenario,
    SecretKeyRef,
    TimelineEvent,
    WaitingState,
    Workload,
)

SNAPSHOT_FORMAT = "sre-lab-cluster-snapshot/v1"
MANIFEST = "manifest.json"
LIST_FILES = (
    "namespaces.json",
    "nodes.json",
    "pods.json",
    "deployments.json",
    "replicasets.json",
    "statefulsets.json",
    "events.json",
)

JSONObject = dict[str, Any]


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
        "namespaces.json": _sorted([_namespace(scenario, ns.name, ns.created) for ns in scenario.namespaces]),
        "nodes.json": _sorted([_node(scenario, node) for node in scenario.nodes]),
        "pods.json": _sorted([_pod(scenario, pod) for pod in scenario.pods]),
        "deployments.json": _sorted([_deployment(scenario, w) for w in workloads if w.kind == "Deployment"]),
        "replicasets.json": _sorted(
            [rs for w in workloads if w.kind == "Deployment" for rs in _replicasets(scenario, w)]
        ),
        "statefulsets.json": _sorted([_statefulset(scenario, w) for w in workloads if w.kind == "StatefulSet"]),
        "events.json": _sorted([_event(scenario, event) for event in scenario.events]),
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
        "captured_at": _ts(scenario.now),
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


# --------------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------------


def _ts(at: datetime) -> str:
    """RFC 3339 to the second, as the API server writes metav1.Time."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource_version(uid: str) -> str:
    return str(1_000_000 + int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) % 9_000_000)


def _meta(scenario: Scenario, kind: str, namespace: str, name: str, created: datetime, **extra: object) -> JSONObject:
    uid = scenario.uid_for(kind, namespace, name)
    meta: JSONObject = {"creationTimestamp": _ts(created)}
    meta.update({k: v for k, v in extra.items() if v})
    meta["name"] = name
    if namespace:
        meta["namespace"] = namespace
    meta["resourceVersion"] = _resource_version(uid)
    meta["uid"] = uid
    return meta


def _owner(scenario: Scenario, api_version: str, kind: str, namespace: str, name: str) -> list[JSONObject]:
    return [
        {
            "apiVersion": api_version,
            "blockOwnerDeletion": True,
            "controller": True,
            "kind": kind,
            "name": name,
            "uid": scenario.uid_for(kind, namespace, name),
        }
    ]


def _namespace(scenario: Scenario, name: str, created: datetime) -> JSONObject:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(scenario, "Namespace", "", name, created, labels={"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def _node(scenario: Scenario, node: Node) -> JSONObject:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
    }
    spec: JSONObject = {"podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr]}
    if node.role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"] = [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]
    heartbeat = _ts(scenario.now - timedelta(seconds=23))
    since = _ts(node.created + timedelta(minutes=1))

    def condition(kind: str, status: str, reason: str, message: str) -> JSONObject:
        return {
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": since,
            "message": message,
            "reason": reason,
            "status": status,
            "type": kind,
        }

    digest = hashlib.sha256(node.uid.encode()).hexdigest()
    memory_ki = 16 * 1024 * 1024
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(scenario, "Node", "", node.name, node.created, labels=labels),
        "spec": spec,
        "status": {
            "addresses": [{"address": node.ip, "type": "InternalIP"}, {"address": node.name, "type": "Hostname"}],
            "allocatable": {
                "cpu": node.cpu,
                "ephemeral-storage": "95551679124",
                "memory": f"{memory_ki - 102400}Ki",
                "pods": "110",
            },
            "capacity": {
                "cpu": node.cpu,
                "ephemeral-storage": "103676100Ki",
                "memory": f"{memory_ki}Ki",
                "pods": "110",
            },
            "conditions": [
                condition(
                    "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
                ),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _uuid_from(digest[:32]),
                "containerRuntimeVersion": "containerd://1.7.13",
                "kernelVersion": "6.1.0-18-amd64",
                "kubeProxyVersion": scenario.kubelet_version,
                "kubeletVersion": scenario.kubelet_version,
                "machineID": digest[32:64],
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": _uuid_from(digest[16:48]),
            },
        },
    }


def _uuid_from(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


def _probe(probe: Probe) -> JSONObject:
    handler: JSONObject
    if probe.path is not None:
        handler = {"httpGet": {"path": probe.path, "port": probe.port, "scheme": "HTTP"}}
    else:
        handler = {"tcpSocket": {"port": probe.port}}
    body: JSONObject = {**handler, "failureThreshold": probe.failure_threshold}
    if probe.initial_delay:  # the API server omits zero
        body["initialDelaySeconds"] = probe.initial_delay
    body.update({"periodSeconds": probe.period, "successThreshold": 1, "timeoutSeconds": probe.timeout})
    return body


def _env(name: str, value: str | SecretKeyRef) -> JSONObject:
    if isinstance(value, SecretKeyRef):
        # a reference only: the Secret's data never leaves the cluster
        return {"name": name, "valueFrom": {"secretKeyRef": {"key": value.key, "name": value.secret}}}
    return {"name": name, "value": value}


def _container(spec: ContainerSpec) -> JSONObject:
    body: JSONObject = {}
    if spec.args:
        body["args"] = list(spec.args)
    if spec.command:
        body["command"] = list(spec.command)
    if spec.env:
        body["env"] = [_env(name, value) for name, value in spec.env]
    body["image"] = spec.image
    body["imagePullPolicy"] = spec.image_pull_policy
    if spec.liveness:
        body["livenessProbe"] = _probe(spec.liveness)
    body["name"] = spec.name
    if spec.port is not None:
        body["ports"] = [{"containerPort": spec.port, "name": spec.port_name, "protocol": spec.protocol}]
    if spec.readiness:
        body["readinessProbe"] = _probe(spec.readiness)
    resources: JSONObject = {}
    limits = {k: v for k, v in (("cpu", spec.cpu_limit), ("memory", spec.mem_limit)) if v}
    requests = {k: v for k, v in (("cpu", spec.cpu_request), ("memory", spec.mem_request)) if v}
    if limits:
        resources["limits"] = limits
    if requests:
        resources["requests"] = requests
    body["resources"] = resources
    body["terminationMessagePath"] = "/dev/termination-log"
    body["terminationMessagePolicy"] = "File"
    return body


def _pod_spec(workload: Workload, containers: tuple[ContainerSpec, ...]) -> JSONObject:
    return {
        "containers": [_container(spec) for spec in containers],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": workload.service_account,
        "serviceAccountName": workload.service_account,
        "terminationGracePeriodSeconds": 30,
    }


def _template(workload: Workload, labels: dict[str, str], containers: tuple[ContainerSpec, ...]) -> JSONObject:
    return {"metadata": {"creationTimestamp": None, "labels": labels}, "spec": _pod_spec(workload, containers)}


def _pod_labels(workload: Workload, pod: PodState) -> dict[str, str]:
    labels = workload.label_map
    if workload.kind == "Deployment":
        labels["pod-template-hash"] = workload.replicaset_hash
    elif workload.kind == "StatefulSet":
        labels["apps.kubernetes.io/pod-index"] = pod.name.rsplit("-", 1)[1]
        labels["controller-revision-hash"] = workload.replicaset_name
        labels["statefulset.kubernetes.io/pod-name"] = pod.name
    return labels


def _image_ref(image: str) -> str:
    """The image as containerd reports it: docker.io and library/ made explicit."""
    first = image.split("/", 1)[0]
    if "." in first or ":" in first:
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


def _image_id(image: str) -> str:
    ref = _image_ref(image)
    return f"{ref.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def _pod(scenario: Scenario, pod: PodState) -> JSONObject:
    workload = scenario.workload_of(pod)
    spec = next(c for c in workload.containers if c.name == pod.container)
    owner: list[JSONObject] = []
    generate_name = None
    if workload.kind == "Deployment":
        owner = _owner(scenario, "apps/v1", "ReplicaSet", pod.namespace, workload.replicaset_name)
        if pod.name.startswith(f"{workload.replicaset_name}-"):
            generate_name = f"{workload.replicaset_name}-"
    elif workload.kind == "StatefulSet":
        owner = _owner(scenario, "apps/v1", "StatefulSet", pod.namespace, workload.name)
    meta = _meta(
        scenario,
        "Pod",
        pod.namespace,
        pod.name,
        pod.created,
        generateName=generate_name,
        labels=_pod_labels(workload, pod),
        ownerReferences=owner,
    )

    pod_spec = _pod_spec(workload, (spec,))
    pod_spec["nodeName"] = pod.node
    pod_spec["preemptionPolicy"] = "PreemptLowerPriority"
    pod_spec["priority"] = 0
    pod_spec["tolerations"] = [
        {"effect": "NoExecute", "key": f"node.kubernetes.io/{taint}", "operator": "Exists", "tolerationSeconds": 300}
        for taint in ("not-ready", "unreachable")
    ]
    if workload.kind == "StatefulSet":
        pod_spec["hostname"] = pod.name
        pod_spec["subdomain"] = workload.name

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": pod_spec,
        "status": _pod_status(scenario, pod, spec),
    }


def _pod_status(scenario: Scenario, pod: PodState, spec: ContainerSpec) -> JSONObject:
    node = scenario.node(pod.node)
    scheduled = _ts(pod.created)
    sandbox = _ts(pod.created + timedelta(seconds=2))

    def condition(kind: str, ok: bool, since: str) -> JSONObject:
        body: JSONObject = {"lastProbeTime": None, "lastTransitionTime": since}
        if not ok:
            body["message"] = f"containers with unready status: [{pod.container}]"
            body["reason"] = "ContainersNotReady"
        body.update({"status": "True" if ok else "False", "type": kind})
        return body

    ready_since = _ts(pod.ready_since)
    status: JSONObject = {
        "conditions": [
            condition("PodReadyToStartContainers", True, sandbox),
            condition("Initialized", True, scheduled),
            condition("Ready", pod.ready, ready_since),
            condition("ContainersReady", pod.ready, ready_since),
            condition("PodScheduled", True, scheduled),
        ],
        "containerStatuses": [_container_status(pod, spec)],
        "hostIP": node.ip,
        "hostIPs": [{"ip": node.ip}],
        "phase": pod.phase,
        "podIP": pod.ip,
        "podIPs": [{"ip": pod.ip}],
        "qosClass": spec.qos_class,
        "startTime": scheduled,
    }
    return status


def _container_status(pod: PodState, spec: ContainerSpec) -> JSONObject:
    if isinstance(pod.state, WaitingState):
        state: JSONObject = {"waiting": {"message": pod.state.message, "reason": pod.state.reason}}
    else:
        state = {"running": {"startedAt": _ts(pod.state.started_at)}}
    last: JSONObject = {}
    if pod.last_state is not None:
        t = pod.last_state
        last = {
            "terminated": {
                "containerID": t.container_id,
                "exitCode": t.exit_code,
                "finishedAt": _ts(t.finished_at),
                "reason": t.reason,
                "startedAt": _ts(t.started_at),
            }
        }
    return {
        "containerID": pod.container_id,
        "image": _image_ref(spec.image),
        "imageID": _image_id(spec.image),
        "lastState": last,
        "name": pod.container,
        "ready": pod.ready,
        "restartCount": pod.restarts,
        "started": not isinstance(pod.state, WaitingState),
        "state": state,
    }


def _deployment(scenario: Scenario, workload: Workload) -> JSONObject:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    max_unavailable = math.floor(workload.replicas * 0.25)  # maxUnavailable 25 %, rounded down
    available = ready >= workload.replicas - max_unavailable
    rolled_out = workload.rolled_out or workload.created
    lost = min((p.oom_kills[0] for p in pods if p.oom_kills), default=None)
    available_since = _ts(lost if not available and lost else rolled_out + timedelta(seconds=40))
    conditions = [
        {
            "lastTransitionTime": available_since,
            "lastUpdateTime": available_since,
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "status": "True" if available else "False",
            "type": "Available",
        },
        {
            "lastTransitionTime": _ts(workload.created),
            "lastUpdateTime": _ts(rolled_out + timedelta(seconds=40)),
            "message": f'ReplicaSet "{workload.replicaset_name}" has successfully progressed.',
            "reason": "NewReplicaSetAvailable",
            "status": "True",
            "type": "Progressing",
        },
    ]
    status: JSONObject = {
        "availableReplicas": ready,
        "conditions": conditions,
        "observedGeneration": workload.revision,
        "readyReplicas": ready,
        "replicas": len(pods),
    }
    if len(pods) > ready:
        status["unavailableReplicas"] = len(pods) - ready
    status["updatedReplicas"] = len(pods)
    labels = workload.label_map
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(
            scenario,
            "Deployment",
            workload.namespace,
            workload.name,
            workload.created,
            annotations={"deployment.kubernetes.io/revision": str(workload.revision)},
            generation=workload.revision,
            labels=labels,
        ),
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": workload.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": _template(workload, labels, workload.containers),
        },
        "status": status,
    }


def _replicasets(scenario: Scenario, workload: Workload) -> list[JSONObject]:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    current = _replicaset(
        scenario,
        workload,
        workload.replicaset_hash,
        workload.containers,
        workload.rolled_out or workload.created,
        workload.revision,
        workload.replicas,
        {"availableReplicas": ready, "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "replicas": len(pods)},
    )
    result = [current]
    if workload.previous is not None:
        prev = workload.previous
        containers = (replace(workload.containers[0], image=prev.image), *workload.containers[1:])
        result.append(
            _replicaset(
                scenario, workload, prev.replicaset_hash, containers, prev.created, prev.number, 0, {"replicas": 0}
            )
        )
    return result


def _replicaset(
    scenario: Scenario,
    workload: Workload,
    template_hash: str,
    containers: tuple[ContainerSpec, ...],
    created: datetime,
    revision: int,
    replicas: int,
    counts: JSONObject,
) -> JSONObject:
    labels = {**workload.label_map, "pod-template-hash": template_hash}
    name = f"{workload.name}-{template_hash}"
    generation = 2 if replicas == 0 else 1  # an old ReplicaSet was scaled down once
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": _meta(
            scenario,
            "ReplicaSet",
            workload.namespace,
            name,
            created,
            annotations={
                "deployment.kubernetes.io/desired-replicas": str(workload.replicas),
                "deployment.kubernetes.io/max-replicas": str(workload.replicas + math.ceil(workload.replicas * 0.25)),
                "deployment.kubernetes.io/revision": str(revision),
            },
            generation=generation,
            labels=labels,
            ownerReferences=_owner(scenario, "apps/v1", "Deployment", workload.namespace, workload.name),
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": _template(workload, labels, containers),
        },
        "status": {**counts, "observedGeneration": generation},
    }


def _statefulset(scenario: Scenario, workload: Workload) -> JSONObject:
    pods = [p for p in scenario.pods_in(workload.namespace) if p.workload == workload.name]
    ready = sum(p.ready for p in pods)
    labels = workload.label_map
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(
            scenario, "StatefulSet", workload.namespace, workload.name, workload.created, generation=1, labels=labels
        ),
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": workload.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "serviceName": workload.name,
            "template": _template(workload, labels, workload.containers),
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
        },
        "status": {
            "availableReplicas": ready,
            "collisionCount": 0,
            "currentReplicas": len(pods),
            "currentRevision": workload.replicaset_name,
            "observedGeneration": 1,
            "readyReplicas": ready,
            "replicas": len(pods),
            "updateRevision": workload.replicaset_name,
            "updatedReplicas": len(pods),
        },
    }


def _event(scenario: Scenario, event: TimelineEvent) -> JSONObject:
    first = event.first
    # the API server names an event "<object>.<first seen, UnixNano in hex>"; the digest keeps series apart
    nanos = int(first.timestamp()) * 1_000_000_000
    nanos += (
        int(hashlib.sha256(f"{event.involved}/{event.reason}/{event.message}".encode()).hexdigest()[:8], 16) % 10**9
    )
    name = f"{event.name}.{nanos:x}"
    involved: JSONObject = {"apiVersion": event.api_version}
    if event.container:
        involved["fieldPath"] = f"spec.containers{{{event.container}}}"
    involved.update(
        {
            "kind": event.kind,
            "name": event.name,
            "namespace": event.namespace,
            "uid": scenario.uid_for(event.kind, event.namespace, event.name),
        }
    )
    source: JSONObject = {"component": event.source}
    if event.host:
        source["host"] = event.host
    return {
        "apiVersion": "v1",
        "count": event.count,
        "eventTime": None,
        "firstTimestamp": _ts(first),
        "involvedObject": involved,
        "kind": "Event",
        "lastTimestamp": _ts(event.at),
        "message": event.message,
        "metadata": _meta(scenario, "Event", event.namespace, name, first),
        "reason": event.reason,
        "reportingComponent": event.source,
        "reportingInstance": event.host or "",
        "source": source,
        "type": event.type,
    }
