"""Benchmark k8s-mcp at real sizes: 2,000 pods in one namespace, and the same with more namespaces around it.

    python -m k8s_mcp.bench [--pods 2000] [--namespaces 1 10] [--calls 100] [--starts 5] [--out FILE]

1. writes a snapshot: `--pods` pods in namespace `big` (owned by 100 Deployments through their ReplicaSets; most
   running, some crash-looping, OOMKilled, pending, initialising, with native sidecars and init containers,
   env, probes and limits, ~3 kB each as a real pod is), 1.5 events per pod, and, for each figure in
   `--namespaces`, that many namespaces of the same size;
2. in one in-memory MCP session, after a warm-up, times `--calls` calls of list_pods, list_pods with a
   status_filter, describe_pod, diagnose_deployment and get_events in `big`, and prints p50/p95 (client side, the
   whole tool call: validation, domain work, compact text, structured output);
3. spawns k8s-mcp over stdio on the largest snapshot and a bare SDK server (`mcp_common.bench serve bare`),
   alternately, `--starts` times each, and times spawn → initialize → tools/list, then the first list_pods.

Self-contained on purpose (it imports only the server's public entry points), so the same file can measure an
older checkout: `PYTHONPATH=<old>/services/k8s-mcp/src:<old>/packages/mcp-common/src python bench.py`. That is
why it stays one module past ~500 lines: the synthetic cluster (the first half) and the timings travel together,
and an older checkout has neither.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
DEPLOYMENTS = 100


def _ts(**ago: float) -> str:
    return (NOW - timedelta(**ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container_status(name: str, rng: random.Random, kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "image": f"registry.example/{name}:1.{rng.randint(0, 9)}",
        "imageID": "",
        "containerID": f"containerd://{rng.getrandbits(128):032x}",
        "started": True,
    }
    if kind == "crash":
        restarts = rng.randint(5, 400)
        reason = rng.choice(["Error", "OOMKilled"])
        return {
            **base,
            "ready": False,
            "restartCount": restarts,
            "started": False,
            "state": {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={name}",
                }
            },
            "lastState": {
                "terminated": {
                    "reason": reason,
                    "exitCode": 137 if reason == "OOMKilled" else 1,
                    "startedAt": _ts(minutes=6),
                    "finishedAt": _ts(minutes=5),
                }
            },
        }
    if kind == "pending":
        return {
            **base,
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"waiting": {"reason": "ContainerCreating"}},
            "lastState": {},
        }
    return {
        **base,
        "ready": True,
        "restartCount": rng.choice([0, 0, 0, 1]),
        "state": {"running": {"startedAt": _ts(days=2)}},
        "lastState": {},
    }


def make_pod(namespace: str, deployment: int, index: int, rng: random.Random) -> dict[str, Any]:
    kind = rng.choices(["ok", "crash", "pending"], weights=[90, 7, 3])[0]
    app, rs = f"svc-{deployment:03d}", f"svc-{deployment:03d}-{deployment * 7919 % 99991:05x}"
    name = f"{rs}-{index:05d}"
    env = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_HOST", "value": "postgres.data.svc"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    probe = {
        "httpGet": {"path": "/healthz", "port": 8080},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    resources = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
    containers = [
        {
            "name": "app",
            "image": f"registry.example/{app}:1.4",
            "env": env,
            "resources": resources,
            "livenessProbe": probe,
            "readinessProbe": probe,
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "volumeMounts": [
                {
                    "name": "kube-api-access",
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "readOnly": True,
                }
            ],
        }
    ]
    init = [
        {"name": "migrate", "image": f"registry.example/{app}-migrate:1.4"},
        {"name": "proxy", "image": "envoyproxy/envoy:v1.31", "restartPolicy": "Always"},
    ]
    init_statuses = [
        {
            "name": "migrate",
            "image": init[0]["image"],
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {
                "terminated": {
                    "reason": "Completed",
                    "exitCode": 0,
                    "startedAt": _ts(days=2),
                    "finishedAt": _ts(days=2),
                }
            },
        },
        {
            "name": "proxy",
            "image": init[1]["image"],
            "imageID": "",
            "ready": True,
            "restartCount": 0,
            "started": True,
            "state": {"running": {"startedAt": _ts(days=2)}},
        },
    ]
    ready = kind == "ok"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"{rng.getrandbits(128):032x}",
            "resourceVersion": str(rng.randint(1, 10**7)),
            "creationTimestamp": _ts(days=2, minutes=index % 600),
            "generateName": f"{rs}-",
            "labels": {"app": app, "pod-template-hash": rs.rsplit("-", 1)[1]},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": rs,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": containers,
            "initContainers": init,
            "nodeName": f"node-{index % 40:02d}",
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
        },
        "status": {
            "phase": "Pending" if kind == "pending" else "Running",
            "qosClass": "Burstable",
            "hostIP": "10.0.0.1",
            "podIP": f"10.{deployment}.{index // 250}.{index % 250}",
            "startTime": _ts(days=2),
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": str(ready)},
                {"type": "ContainersReady", "status": str(ready)},
                {"type": "PodScheduled", "status": "True"},
            ],
            "initContainerStatuses": init_statuses,
            "containerStatuses": [_container_status("app", rng, kind)],
        },
    }


def make_namespace(namespace: str, pods: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    items = [make_pod(namespace, i % DEPLOYMENTS, i, rng) for i in range(pods)]
    deployments, replicasets, events = [], [], []
    for d in range(DEPLOYMENTS):
        app, rs = f"svc-{d:03d}", f"svc-{d:03d}-{d * 7919 % 99991:05x}"
        replicas = len(range(d, pods, DEPLOYMENTS))
        labels = {"app": app}
        template = {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/{app}:1.4"}]},
        }
        deployments.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": app,
                    "namespace": namespace,
                    "creationTimestamp": _ts(days=30),
                    "resourceVersion": "1",
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                },
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
                "status": {"replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas},
            }
        )
        replicasets.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs,
                    "namespace": namespace,
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                    "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": app, "controller": True}
                    ],
                },
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels}},
                "status": {"replicas": replicas},
            }
        )
    for n, pod in enumerate(items[: pods * 3 // 2] * 2):
        if n >= pods * 3 // 2:
            break
        state = pod["status"]["containerStatuses"][0]["state"]
        reason, message, kind = (
            ("BackOff", "Back-off restarting failed container app", "Warning")
            if "waiting" in state
            else ("Pulled", "Container image already present on machine", "Normal")
        )
        events.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "type": kind,
                "reason": reason,
                "message": message,
                "count": rng.randint(1, 50),
                "metadata": {"name": f"{pod['metadata']['name']}.{n:x}", "namespace": namespace},
                "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": namespace},
                "firstTimestamp": _ts(hours=3),
                "lastTimestamp": _ts(minutes=rng.randint(1, 180)),
            }
        )
    return {"pods.json": items, "deployments.json": deployments, "replicasets.json": replicasets, "events.json": events}


def write_snapshot(root: Path, pods: int, namespaces: int) -> Path:
    root.mkdir(parents=True)
    files: dict[str, list[dict[str, Any]]] = {
        "pods.json": [],
        "deployments.json": [],
        "replicasets.json": [],
        "events.json": [],
    }
    names = ["big"] + [f"team-{n:02d}" for n in range(1, namespaces)]
    for seed, namespace in enumerate(names):
        for filename, items in make_namespace(namespace, pods, seed).items():
            files[filename] += items
    files["namespaces.json"] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": n, "creationTimestamp": _ts(days=90)},
            "status": {"phase": "Active"},
        }
        for n in names
    ]
    for filename, items in files.items():
        (root / filename).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    (root / "manifest.json").write_text(
        json.dumps({"format": "sre-lab-cluster-snapshot/v1", "captured_at": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")})
    )
    return root


def crashing_pod(snapshot: Path) -> str:
    """A crash-looping pod of namespace `big`, from the snapshot itself (so any version of the server can be
    asked about the same pod, whatever it prints for it)."""
    pods = json.loads((snapshot / "pods.json").read_text())["items"]
    return next(
        p["metadata"]["name"]
        for p in pods
        if p["metadata"]["namespace"] == "big"
        and "waiting" in p["status"]["containerStatuses"][0]["state"]
        and p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    )


def _env(snapshot: Path) -> dict[str, str]:
    return {
        "K8S_MCP_BACKEND": "snapshot",
        "K8S_MCP_SNAPSHOT_DIR": str(snapshot),
        "K8S_MCP_ALLOWED_NAMESPACES": "big",
        "K8S_MCP_LOG_LEVEL": "WARNING",
        "K8S_MCP_RATE_LIMIT_PER_MINUTE": "1000000",
        "K8S_MCP_RATE_LIMIT_BURST": "100000",
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }


async def tool_latencies(snapshot: Path, calls: int) -> dict[str, Any]:
    for key, value in _env(snapshot).items():
        os.environ[key] = value
    settings = K8sSettings()
    started = time.perf_counter()
    async with Client(create_server(settings)) as client:
        first = await client.call_tool("list_pods", {"namespace": "big"})
        first_s = time.perf_counter() - started
        assert not first.is_error, first.content
        crashing = crashing_pod(snapshot)
        plan = {
            "list_pods": {"namespace": "big"},
            "list_pods(status_filter)": {"namespace": "big", "status_filter": "CrashLoopBackOff"},
            "describe_pod": {"namespace": "big", "pod_name": crashing},
            "diagnose_deployment": {"namespace": "big", "name": "svc-007"},
            "get_events": {"namespace": "big", "event_type": "Warning"},
        }
        results: dict[str, Any] = {"first_list_pods_after_start_ms": round(first_s * 1000, 1)}
        for label, arguments in plan.items():
            tool = label.split("(")[0]
            for _ in range(5):
                await client.call_tool(tool, arguments)
            samples = []
            for _ in range(calls):
                t0 = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                samples.append(time.perf_counter() - t0)
                assert not result.is_error, result.content
            results[label] = {**_percentiles(samples), "text_chars": len(result.content[0].text)}
    return results


class RawStdio:
    """A minimal JSON-RPC client over a server's stdio: times the server and the pipe, not a client library (the
    SDK client also validates every structured result against the tool's output schema, which at 200 pods costs
    more than the server's own work)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "k8s_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        self.next_id = 0
        self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
        )
        self.notify("notifications/initialized")

    def notify(self, method: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}) + "\n")

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.next_id += 1
        self.process.stdin.write(
            json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}) + "\n"
        )
        while True:
            message = json.loads(self.process.stdout.readline())
            if message.get("id") == self.next_id:
                return message

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def server_latencies(snapshot: Path, calls: int) -> dict[str, Any]:
    raw = RawStdio({**os.environ, **_env(snapshot)})
    try:
        first = raw.request("tools/call", {"name": "list_pods", "arguments": {"namespace": "big"}})
        assert "result" in first, first
        crashing = crashing_pod(snapshot)
        plan = {
            "list_pods": {"namespace": "big"},
            "list_pods(status_filter)": {"namespace": "big", "status_filter": "CrashLoopBackOff"},
            "describe_pod": {"namespace": "big", "pod_name": crashing},
            "diagnose_deployment": {"namespace": "big", "name": "svc-007"},
            "get_events": {"namespace": "big", "event_type": "Warning"},
        }
        results = {}
        for label, arguments in plan.items():
            params = {"name": label.split("(")[0], "arguments": arguments}
            for _ in range(5):
                raw.request("tools/call", params)
            samples = []
            for _ in range(calls):
                t0 = time.perf_counter()
                answer = raw.request("tools/call", params)
                samples.append(time.perf_counter() - t0)
                assert not answer["result"].get("isError"), answer
            results[label] = _percentiles(samples)
        return results
    finally:
        raw.close()


async def _start_to_tools(params: StdioServerParameters, first_call: bool) -> tuple[float, float | None]:
    t0 = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        listed = time.perf_counter() - t0
        if not first_call:
            return listed, None
        await client.call_tool("list_pods", {"namespace": "big"})
        return listed, time.perf_counter() - t0


async def start_times(snapshot: Path, starts: int) -> dict[str, Any]:
    env = {**os.environ, **_env(snapshot)}
    k8s = StdioServerParameters(command=sys.executable, args=["-m", "k8s_mcp"], env=env)
    bare = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_common.bench", "serve", "bare"], env=dict(os.environ)
    )
    k8s_list, k8s_first, bare_list = [], [], []
    for _ in range(starts):  # alternate, so load hits both alike
        listed, first = await _start_to_tools(k8s, first_call=True)
        k8s_list.append(listed)
        k8s_first.append(first or 0.0)
        bare_list.append((await _start_to_tools(bare, first_call=False))[0])
    k8s_median, bare_median = statistics.median(k8s_list), statistics.median(bare_list)
    return {
        "k8s_mcp_tools_list_ms": round(k8s_median * 1000),
        "bare_sdk_tools_list_ms": round(bare_median * 1000),
        "ratio": round(k8s_median / bare_median, 2),
        "ratios_per_start": [round(k / b, 2) for k, b in zip(k8s_list, bare_list, strict=True)],
        "k8s_mcp_first_list_pods_after_spawn_ms": round(statistics.median(k8s_first) * 1000),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--namespaces", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--starts", type=int, default=5, help="0: skip the start-up measurement")
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/k8s-mcp.json"))
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "load_before": os.getloadavg(),
        "python": platform.python_version(),
        "pods": args.pods,
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as scratch:
        largest = None
        for namespaces in args.namespaces:
            snapshot = write_snapshot(Path(scratch) / f"ns{namespaces}", args.pods, namespaces)
            size = sum(f.stat().st_size for f in snapshot.iterdir())
            run = {
                "server (raw JSON-RPC over stdio)": server_latencies(snapshot, args.calls),
                "SDK client in-process (validates every result)": anyio.run(tool_latencies, snapshot, args.calls),
                "snapshot_mb": round(size / 1e6, 1),
            }
            report["runs"][f"{namespaces} namespace(s)"] = run
            print(f"{namespaces:>3} namespace(s) × {args.pods} pods, snapshot {size / 1e6:.1f} MB:")
            for part, figures in run.items():
                print(f"  {part}:")
                for label, value in figures.items() if isinstance(figures, dict) else [("", figures)]:
                    print(f"    {label:<28} {value}")
            largest = snapshot
        assert largest is not None
        if args.starts:
            report["start"] = anyio.run(start_times, largest, args.starts)
            print(f"spawn → tools/list (median of {args.starts}): {report['start']}")
    report["load_after"] = os.getloadavg()
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
