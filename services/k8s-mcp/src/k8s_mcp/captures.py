"""Real cluster captures → a snapshot directory the server reads, for the evaluation and the tests.

Public bug reports and test suites rarely carry `kubectl get -o json`; they carry `kubectl describe` output
(and sometimes `-o yaml`). A capture folder holds those files verbatim plus a `case.yaml`; this module turns
`kubectl describe pod|deployment|statefulset|daemonset|job` text back into API objects (the fields describe
prints: container states and last states with reason, message and exit code, restart counts, readiness,
limits, conditions, owner, events with counts and ages) and writes a snapshot whose `captured_at` is the
capture's moment, so ages and event windows read as they did then.

Folder layout: `*.describe.txt` (the kind is the first word of the file name: pod, deployment, ...),
`*.yaml` / `*.json` (objects or Lists as kubectl prints them), `logs/<pod>/<container>[.previous].log`,
`case.yaml` (source, licence, captured_at, and what the case is expected to show).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from k8s_mcp.snapshot import KIND_FILES, SNAPSHOT_FORMAT

Raw = dict[str, Any]
_FIELD = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9 /-]*?):(?:\s+(.*))?$")
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_COUNT = re.compile(r"^(\S+)\s+\(x(\d+) over (\S+)\)$")
DESCRIBE_KINDS = {
    "pod": "Pod",
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
    "replicaset": "ReplicaSet",
}


def parse_duration(text: str) -> timedelta | None:
    """'3m17s', '2d', '100s' (kubectl's HumanDuration) → a timedelta; None for '<unknown>' or ''."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        return None
    y, d, h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(days=365 * y + d, hours=h, minutes=m, seconds=s)


def parse_time(text: str) -> str | None:
    """'Tue, 26 Nov 2024 12:37:10 +0100' (describe's RFC 1123Z) → RFC 3339 UTC."""
    text = text.strip()
    if not text or text == "<none>":
        return None
    for layout in ("%a, %d %b %Y %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return rfc3339(datetime.strptime(text.replace("Z", "+0000"), layout))
        except ValueError:
            continue
    return None


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Block:
    """An indented `Key: value` tree, as `kubectl describe` prints it."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def fields(self, indent: int) -> Iterator[tuple[str, str, list[str]]]:
        """(key, inline value, the more-indented lines below) at exactly `indent`."""
        i = 0
        while i < len(self.lines):
            line = self.lines[i]
            match = _FIELD.match(line)
            if match and len(match.group(1)) == indent:
                children = []
                j = i + 1
                while j < len(self.lines) and (not self.lines[j].strip() or _indent(self.lines[j]) > indent):
                    children.append(self.lines[j])
                    j += 1
                yield match.group(2).strip(), (match.group(3) or "").strip(), children
                i = j
            else:
                i += 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _map(value: str, children: list[str]) -> dict[str, str]:
    """'app=x' plus continuation lines → {'app': 'x'}; '<none>' → {}."""
    pairs: dict[str, str] = {}
    for item in [value, *[c.strip() for c in children]]:
        if not item or item == "<none>":
            continue
        key, sep, val = item.partition("=") if "=" in item else item.partition(": ")
        if sep:
            pairs[key.strip()] = val.strip()
    return pairs


def _resources(children: list[str]) -> dict[str, str]:
    return {k: v for k, v in (_split_kv(c) for c in children) if k}


def _split_kv(line: str) -> tuple[str, str]:
    key, _, value = line.strip().partition(":")
    return key.strip(), value.strip()


def _state(value: str, children: list[str]) -> Raw:
    facts: dict[str, str] = {}
    last_key = None
    for line in children:
        match = _FIELD.match(line)
        if match and match.group(2).strip() in ("Reason", "Message", "Exit Code", "Signal", "Started", "Finished"):
            last_key = match.group(2).strip()
            facts[last_key] = (match.group(3) or "").strip()
        elif last_key == "Message" and line.strip():
            facts["Message"] += " " + line.strip()
    kind = value.split(maxsplit=1)[0].lower() if value else ""
    if kind == "waiting":
        return {
            "waiting": {k: v for k, v in {"reason": facts.get("Reason"), "message": facts.get("Message")}.items() if v}
        }
    if kind == "running":
        return {"running": {"startedAt": parse_time(facts.get("Started", ""))}}
    if kind == "terminated":
        terminated: Raw = {"exitCode": int(facts.get("Exit Code") or 0)}
        for key, field in (("Reason", "reason"), ("Message", "message")):
            if facts.get(key):
                terminated[field] = facts[key]
        if facts.get("Signal"):
            terminated["signal"] = int(facts["Signal"])
        for key, field in (("Started", "startedAt"), ("Finished", "finishedAt")):
            if parse_time(facts.get(key, "")):
                terminated[field] = parse_time(facts[key])
        return {"terminated": terminated}
    return {}


def _probe(text: str) -> Raw:
    """'exec [sh -c exit 1] delay=5s timeout=1s period=5s #success=1 #failure=3' → a probe (timings kept)."""
    numbers = dict(re.findall(r"(delay|timeout|period|#success|#failure)=(\d+)", text))
    probe: Raw = {
        "initialDelaySeconds": int(numbers.get("delay", 0)),
        "timeoutSeconds": int(numbers.get("timeout", 1)),
        "periodSeconds": int(numbers.get("period", 10)),
        "successThreshold": int(numbers.get("#success", 1)),
        "failureThreshold": int(numbers.get("#failure", 3)),
    }
    if text.startswith("http-get"):
        probe["httpGet"] = {
            "path": "/" + text.split("/", 3)[-1].split(maxsplit=1)[0] if "/" in text else "/",
            "port": 80,
        }
    elif text.startswith("tcp-socket"):
        probe["tcpSocket"] = {"port": 80}
    else:
        command = re.search(r"\[(.*?)\]", text)
        probe["exec"] = {"command": command.group(1).split() if command else []}
    return probe


def _containers(children: list[str], init: bool) -> tuple[list[Raw], list[Raw]]:  # noqa: PLR0912 - one per field
    specs, statuses = [], []
    for name, _, body in Block(children).fields(2):
        spec: Raw = {"name": name}
        status: Raw = {"name": name, "image": "", "imageID": "", "ready": False, "restartCount": 0}
        for key, value, sub in Block(body).fields(4):
            if key == "Image":
                spec["image"] = status["image"] = value
            elif key == "Image ID":
                status["imageID"] = value
            elif key == "State":
                status["state"] = _state(value, sub)
            elif key == "Last State":
                status["lastState"] = _state(value, sub)
            elif key == "Ready":
                status["ready"] = value == "True"
            elif key == "Started" and value in ("True", "False"):
                status["started"] = value == "True"
            elif key == "Restart Count":
                status["restartCount"] = int(value or 0)
            elif key == "Restart Policy":
                spec["restartPolicy"] = value
            elif key in ("Limits", "Requests"):
                spec.setdefault("resources", {})[key.lower()] = _resources(sub)
            elif key in ("Liveness", "Readiness", "Startup"):
                spec[f"{key.lower()}Probe"] = _probe(value)
        specs.append(spec)
        if "state" in status:
            statuses.append(status)
    return specs, statuses


def _events(children: list[str], now: datetime, namespace: str, kind: str, name: str) -> list[Raw]:
    rows = [line for line in children if line.strip()]
    if not rows or rows[0].strip() == "<none>":
        return []
    header = rows[0]
    columns = [header.index(col) for col in ("Type", "Reason", "Age", "From", "Message")]
    events = []
    for number, line in enumerate(rows[2:]):
        cells = [line[start:end].strip() for start, end in zip(columns, [*columns[1:], None], strict=True)]
        type_, reason, age_text, source, message = cells
        count, first = 1, None
        counted = _COUNT.match(age_text)
        if counted:
            age_text, count, first = counted.group(1), int(counted.group(2)), parse_duration(counted.group(3))
        last = parse_duration(age_text)
        last_seen = rfc3339(now - last) if last is not None else None
        events.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "type": type_,
                "reason": reason,
                "message": message,
                "count": count,
                "metadata": {"name": f"{name}.{number}", "namespace": namespace},
                "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
                "source": {"component": source.split(",")[0]},
                "lastTimestamp": last_seen,
                "firstTimestamp": rfc3339(now - first) if first is not None else last_seen,
            }
        )
    return events


def parse_describe(text: str, kind: str, now: datetime) -> list[Raw]:
    """One object (and its events) from `kubectl describe <kind>` output."""
    top = list(Block(text.splitlines()).fields(0))
    values = {key: value for key, value, _ in top}
    children = {key: sub for key, _, sub in top}
    name, namespace = values.get("Name", ""), values.get("Namespace", "default")
    meta: Raw = {
        "name": name,
        "namespace": namespace,
        "labels": _map(values.get("Labels", ""), children.get("Labels", [])),
    }
    annotations = _map(values.get("Annotations", ""), children.get("Annotations", []))
    if annotations:
        meta["annotations"] = annotations
    created = parse_time(values.get("CreationTimestamp", "") or values.get("Start Time", ""))
    if created:
        meta["creationTimestamp"] = created
    if kind == "Pod" and values.get("Status", "").startswith("Terminating"):
        meta["deletionTimestamp"] = rfc3339(now)
    owner = values.get("Controlled By", "")
    if "/" in owner:
        owner_kind, owner_name = owner.split("/", 1)
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": owner_kind, "name": owner_name, "uid": owner_name, "controller": True}
        ]
    conditions = _conditions(children.get("Conditions", []))
    obj: Raw = {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "Pod":
        obj.update(_pod(values, children, conditions))
    else:
        obj.update(_workload(kind, values, children, conditions, meta))
    return [obj, *_events(children.get("Events", []), now, namespace, kind, name)]


def _conditions(children: list[str]) -> list[Raw]:
    rows = [line.split() for line in children if line.strip() and not line.strip().startswith(("Type", "----"))]
    return [{"type": r[0], "status": r[1], **({"reason": r[2]} if len(r) > 2 else {})} for r in rows if len(r) >= 2]


def _pod(values: dict[str, str], children: dict[str, list[str]], conditions: list[Raw]) -> Raw:
    init_specs, init_statuses = _containers(children.get("Init Containers", []), init=True)
    specs, statuses = _containers(children.get("Containers", []), init=False)
    node = values.get("Node", "<none>")
    spec: Raw = {"containers": specs}
    if init_specs:
        spec["initContainers"] = init_specs
    if node and node != "<none>":
        spec["nodeName"] = node.split("/")[0]
    status_text = values.get("Status", "")
    phase = status_text.split()[0] if status_text else "Pending"
    status: Raw = {"phase": "Running" if phase == "Terminating" else phase, "conditions": conditions}
    for key, field in (("Reason", "reason"), ("Message", "message"), ("IP", "podIP"), ("QoS Class", "qosClass")):
        if values.get(key):
            status[field] = values[key]
    if statuses:
        status["containerStatuses"] = statuses
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return {"spec": spec, "status": status}


def _workload(
    kind: str, values: dict[str, str], children: dict[str, list[str]], conditions: list[Raw], meta: Raw
) -> Raw:
    selector = _map(values.get("Selector", ""), [])
    template_specs, _ = _containers(
        next((sub for key, _, sub in Block(children.get("Pod Template", [])).fields(2) if key == "Containers"), []),
        False,
    )
    template = {"metadata": {"labels": selector}, "spec": {"containers": template_specs}}
    replicas = dict((v, int(n)) for n, v in re.findall(r"(\d+) (\w+)", values.get("Replicas", "")))
    spec: Raw = {"selector": {"matchLabels": selector}, "template": template}
    status: Raw = {"conditions": [dict(c, message=c.get("reason", "")) for c in conditions]}
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        spec["replicas"] = replicas.get("desired", replicas.get("current", 1))
        status.update(
            replicas=replicas.get("total", replicas.get("current", 0)),
            readyReplicas=replicas.get("available", 0),
            availableReplicas=replicas.get("available", 0),
            updatedReplicas=replicas.get("updated", 0),
        )
    pods = dict(
        (v, int(n))
        for n, v in re.findall(
            r"(\d+) (Active|Succeeded|Failed|Running|Waiting)",
            values.get("Pods Statuses", "") or values.get("Pods Status", ""),
        )
    )
    if kind == "Job":
        spec.update(parallelism=int(values.get("Parallelism") or 1), backoffLimit=int(values.get("Backoff Limit") or 6))
        if values.get("Completions", "<unset>").isdigit():
            spec["completions"] = int(values["Completions"])
        status.update(active=pods.get("Active", 0), succeeded=pods.get("Succeeded", 0), failed=pods.get("Failed", 0))
        if parse_time(values.get("Start Time", "")):
            status["startTime"] = parse_time(values["Start Time"])
    if kind == "DaemonSet":
        status.update(
            desiredNumberScheduled=int(values.get("Desired Number of Nodes Scheduled") or 0),
            currentNumberScheduled=int(values.get("Current Number of Nodes Scheduled") or 0),
            numberReady=pods.get("Running", 0),
            updatedNumberScheduled=int(values.get("Number of Nodes Scheduled with Up-to-date Pods") or 0),
            numberAvailable=int(values.get("Number of Nodes Scheduled with Available Pods") or 0),
            numberMisscheduled=int(values.get("Number of Nodes Misscheduled") or 0),
        )
    if kind == "StatefulSet":
        status["readyReplicas"] = pods.get("Running", 0)
    return {
        "apiVersion": {"Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1"),
        "spec": spec,
        "status": status,
    }


def _json_time(value: object) -> str:
    """YAML reads unquoted timestamps as datetimes; JSON wants them back as RFC 3339."""
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def load_case(folder: Path) -> tuple[Raw, list[Raw]]:
    """(case.yaml, every object of the capture) with `captured_at` as the moment describe ages count from."""
    case = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8")) or {}
    now = datetime.fromisoformat(str(case["captured_at"]).replace("Z", "+00:00"))
    objects: list[Raw] = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".describe.txt"):
            kind = DESCRIBE_KINDS[path.name.split(".")[0].split("-")[0]]
            objects += parse_describe(path.read_text(encoding="utf-8"), kind, now)
        elif path.suffix in (".yaml", ".json") and path.name != "case.yaml":
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            objects += loaded.get("items", []) if loaded.get("kind", "").endswith("List") else [loaded]
    return case, objects + _reconstructed_workload(case, objects)


def _reconstructed_workload(case: Raw, objects: list[Raw]) -> list[Raw]:
    """The Deployment (and ReplicaSet) a capture of pods only implies: `workload:` in case.yaml names it, its
    pods say the rest (labels, containers). Bare pods are wrapped the same way, so they diagnose as a
    one-replica workload. Nothing is added when the capture holds the workload itself."""
    wanted = case.get("workload") or {}
    kind, name = wanted.get("kind"), wanted.get("name")
    if kind != "Deployment" or any(o["kind"] == kind and o["metadata"]["name"] == name for o in objects):
        return []
    pods = [o for o in objects if o["kind"] == "Pod"]
    namespace = pods[0]["metadata"].get("namespace", "default") if pods else "default"
    replicaset = f"{name}-reconstructed"
    for pod in pods:
        refs = pod["metadata"].get("ownerReferences") or []
        if refs and refs[0]["kind"] == "ReplicaSet":
            replicaset = refs[0]["name"]
        else:
            pod["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": replicaset,
                    "uid": replicaset,
                    "controller": True,
                }
            ]
    labels = (
        {k: v for k, v in (pods[0]["metadata"].get("labels") or {}).items() if k != "pod-template-hash"} if pods else {}
    )
    containers = [
        {k: c[k] for k in ("name", "image", "resources") if k in c}
        for c in (pods[0]["spec"]["containers"] if pods else [])
    ]
    meta = {"name": name, "namespace": namespace, "annotations": {"deployment.kubernetes.io/revision": "1"}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": int(wanted.get("replicas", len(pods) or 1)),
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
        "status": {},
    }
    rs_meta = {
        "name": replicaset,
        "namespace": namespace,
        "annotations": {"deployment.kubernetes.io/revision": "1"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": name, "controller": True}
        ],
    }
    return [
        deployment,
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": rs_meta,
            "spec": {"selector": {"matchLabels": labels}},
            "status": {"replicas": len(pods)},
        },
    ]


def write_snapshot(folder: Path, out: Path) -> Raw:
    """Write the capture in `folder` as a snapshot directory at `out`; returns its case.yaml."""
    case, objects = load_case(folder)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    by_file: dict[str, list[Raw]] = {name: [] for name in KIND_FILES.values()}
    namespaces = sorted({o["metadata"].get("namespace") or "default" for o in objects})
    by_file["namespaces.json"] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}, "status": {"phase": "Active"}}
        for n in namespaces
    ]
    for obj in objects:
        obj["metadata"].setdefault("namespace", "default")
        by_file[KIND_FILES[obj["kind"]]].append(obj)
    for filename, items in by_file.items():
        listing = {"apiVersion": "v1", "kind": "List", "items": items}
        (out / filename).write_text(json.dumps(listing, default=_json_time), encoding="utf-8")
    manifest = {"format": SNAPSHOT_FORMAT, "captured_at": str(case["captured_at"]), "source": case.get("source", "")}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    logs = folder / "logs"
    if logs.is_dir():
        namespace = namespaces[0] if namespaces else "default"
        shutil.copytree(logs, out / "logs" / namespace)
    return case
