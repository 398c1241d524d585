"""Cluster objects as the API server returns them (`kubectl get -o json`): metadata, pods with their
containers and statuses, namespaces, nodes and events. `sre_lab.kube_workloads` builds the controllers."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sre_lab.scenario import (
    ContainerSpec,
    Node,
    PodState,
    Probe,
    RunningState,
    Scenario,
    SecretKeyRef,
    TerminatedState,
    TimelineEvent,
    WaitingState,
    Workload,
)

JSONObject = dict[str, Any]


def ts(at: datetime) -> str:
    """RFC 3339 to the second, as the API server writes metav1.Time."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource_version(uid: str) -> str:
    return str(1_000_000 + int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) % 9_000_000)


def meta(scenario: Scenario, kind: str, namespace: str, name: str, created: datetime, **extra: object) -> JSONObject:
    uid = scenario.uid_for(kind, namespace, name)
    meta: JSONObject = {"creationTimestamp": ts(created)}
    meta.update({k: v for k, v in extra.items() if v})
    meta["name"] = name
    if namespace:
        meta["namespace"] = namespace
    meta["resourceVersion"] = _resource_version(uid)
    meta["uid"] = uid
    return meta


def owner_refs(scenario: Scenario, api_version: str, kind: str, namespace: str, name: str) -> list[JSONObject]:
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


def namespace_object(scenario: Scenario, name: str, created: datetime) -> JSONObject:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(scenario, "Namespace", "", name, created, labels={"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node_object(scenario: Scenario, node: Node) -> JSONObject:
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
    heartbeat = ts(scenario.now - timedelta(seconds=23))
    since = ts(node.created + timedelta(minutes=1))

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
        "metadata": meta(scenario, "Node", "", node.name, node.created, labels=labels),
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


def container_object(spec: ContainerSpec) -> JSONObject:
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


def pod_spec(workload: Workload, containers: tuple[ContainerSpec, ...]) -> JSONObject:
    return {
        "containers": [container_object(spec) for spec in containers],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "restartPolicy": "Never" if workload.kind in ("Job", "CronJob") else "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": workload.service_account,
        "serviceAccountName": workload.service_account,
        "terminationGracePeriodSeconds": 30,
    }


def pod_template(workload: Workload, labels: dict[str, str], containers: tuple[ContainerSpec, ...]) -> JSONObject:
    return {"metadata": {"creationTimestamp": None, "labels": labels}, "spec": pod_spec(workload, containers)}


def pod_labels(scenario: Scenario, workload: Workload, pod: PodState | None = None) -> dict[str, str]:
    """The labels of the workload's pods (a Job's name its controller's uid, as the Job controller sets them)."""
    labels = workload.label_map
    if workload.kind == "Job":
        uid = scenario.uid_for("Job", workload.namespace, workload.name)
        labels |= {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}
    elif pod is None:
        return labels
    elif workload.kind == "Deployment":
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


def pod_object(scenario: Scenario, pod: PodState) -> JSONObject:
    workload = scenario.workload_of(pod)
    spec = next(c for c in workload.containers if c.name == pod.container)
    owner: list[JSONObject] = []
    generate_name = None
    if workload.kind == "Deployment":
        owner = owner_refs(scenario, "apps/v1", "ReplicaSet", pod.namespace, workload.replicaset_name)
        if pod.name.startswith(f"{workload.replicaset_name}-"):
            generate_name = f"{workload.replicaset_name}-"
    elif workload.kind == "StatefulSet":
        owner = owner_refs(scenario, "apps/v1", "StatefulSet", pod.namespace, workload.name)
    elif workload.kind == "Job":
        owner = owner_refs(scenario, "batch/v1", "Job", pod.namespace, workload.name)
        generate_name = f"{workload.name}-"
    metadata = meta(
        scenario,
        "Pod",
        pod.namespace,
        pod.name,
        pod.created,
        generateName=generate_name,
        labels=pod_labels(scenario, workload, pod),
        ownerReferences=owner,
    )

    body = pod_spec(workload, (spec,))
    body["nodeName"] = pod.node
    body["preemptionPolicy"] = "PreemptLowerPriority"
    body["priority"] = 0
    body["tolerations"] = [
        {"effect": "NoExecute", "key": f"node.kubernetes.io/{taint}", "operator": "Exists", "tolerationSeconds": 300}
        for taint in ("not-ready", "unreachable")
    ]
    if workload.kind == "StatefulSet":
        body["hostname"] = pod.name
        body["subdomain"] = workload.name

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": body,
        "status": _pod_status(scenario, pod, spec),
    }


def _pod_status(scenario: Scenario, pod: PodState, spec: ContainerSpec) -> JSONObject:
    node = scenario.node(pod.node)
    scheduled = ts(pod.created)
    sandbox = ts(pod.created + timedelta(seconds=2))

    # a pod that ran to its end (a Job's) says why it is not ready: PodCompleted or PodFailed
    ended = isinstance(pod.state, TerminatedState)
    done_reason = "PodCompleted" if pod.phase == "Succeeded" else "PodFailed"

    def condition(kind: str, ok: bool, since: str, reason: str | None = None) -> JSONObject:
        body: JSONObject = {"lastProbeTime": None, "lastTransitionTime": since}
        if not ok and not ended:
            body["message"] = f"containers with unready status: [{pod.container}]"
            body["reason"] = "ContainersNotReady"
        elif reason:
            body["reason"] = reason
        body.update({"status": "True" if ok else "False", "type": kind})
        return body

    ready_since = ts(pod.ready_since)
    status: JSONObject = {
        "conditions": [
            condition("PodReadyToStartContainers", not ended, ready_since if ended else sandbox),
            condition("Initialized", True, scheduled, done_reason if ended else None),
            condition("Ready", pod.ready, ready_since, done_reason if ended else None),
            condition("ContainersReady", pod.ready, ready_since, done_reason if ended else None),
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
    elif isinstance(pod.state, TerminatedState):
        state = {"terminated": _terminated(pod.state)}
    else:
        state = {"running": {"startedAt": ts(pod.state.started_at)}}
    last: JSONObject = {}
    if pod.last_state is not None:
        last = {"terminated": _terminated(pod.last_state)}
    return {
        "containerID": pod.container_id,
        "image": _image_ref(spec.image),
        "imageID": _image_id(spec.image),
        "lastState": last,
        "name": pod.container,
        "ready": pod.ready,
        "restartCount": pod.restarts,
        "started": isinstance(pod.state, RunningState),
        "state": state,
    }


def _terminated(state: TerminatedState) -> JSONObject:
    return {
        "containerID": state.container_id,
        "exitCode": state.exit_code,
        "finishedAt": ts(state.finished_at),
        "reason": state.reason,
        "startedAt": ts(state.started_at),
    }


def event_object(scenario: Scenario, event: TimelineEvent) -> JSONObject:
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
        "firstTimestamp": ts(first),
        "involvedObject": involved,
        "kind": "Event",
        "lastTimestamp": ts(event.at),
        "message": event.message,
        "metadata": meta(scenario, "Event", event.namespace, name, first),
        "reason": event.reason,
        "reportingComponent": event.source,
        "reportingInstance": event.host or "",
        "source": source,
        "type": event.type,
    }
