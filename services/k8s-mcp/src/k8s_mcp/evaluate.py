"""Evaluate k8s-mcp on real captures it does not ship: does `list_pods` print what kubectl prints, and does the
diagnosis name the cause of each failing workload?

    python -m k8s_mcp.evaluate [--captures DIR ...] [--printer-cases FILE] [--out .lab/bench/k8s-mcp-eval.json]

Every capture folder (see `captures`) becomes a snapshot and is read through a real in-memory MCP session, as a
client would: `list_pods` is compared with the kubectl output the case records (`expected.kubectl`: printed by
kubectl at the same moment; `expected.kubectl_derived`: worked out by hand from kubectl's rules, counted
apart), and `diagnose_workload` must name every expected cause kind with its key facts (`expected.mentions` in
the verdict or the evidence), give the expected health, and never call a workload with unready or restarting
pods healthy. kubectl's own printer test cases are scored too. Cases marked `holdout: true` (the `heldout/`
folder) were collected after the diagnosis was written and were never used to tune it; they are reported on their
own line, and again without the ones marked `near_duplicate_of` a tuning case (another recording of the same test
deployment). Each held-out collection (`heldout/`, `survey2/`, `survey3/`) is also reported on its own line, since
each had its own first run. A case without `workload:` is scored for its kubectl rows only; its namespace is read
whatever the deny list says (a capture of `kube-system` pods is scored like any other).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from kubernetes.client import V1Pod
from mcp import Client

from k8s_mcp.captures import write_snapshot
from k8s_mcp.config import K8sSettings
from k8s_mcp.pod_status import print_pod, restarts_text
from k8s_mcp.server import create_server

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "real"
DEFAULT_CAPTURES = [FIXTURES / "workloads", FIXTURES / "heldout", FIXTURES / "survey2", FIXTURES / "survey3"]
DEFAULT_PRINTER_CASES = FIXTURES / "kubectl-printer" / "printers_test_cases.json"


@dataclass
class CaseResult:
    case: str
    collection: str  # the folder the case sits in: workloads, heldout, survey2
    holdout: bool
    near_duplicate: bool
    diagnosed: bool  # False for a case scored on its kubectl rows only
    expected_causes: list[str]
    found_causes: list[str]
    named: bool  # every expected cause kind found, with the expected facts
    health_ok: bool
    consistent: bool  # never "healthy" with unready or restarting pods
    health: str
    verdict: str
    kubectl: dict[str, bool] = field(default_factory=dict)  # pod → STATUS/READY/RESTARTS equal
    kubectl_derived: dict[str, bool] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def _matches(row: dict[str, Any], expected: dict[str, Any]) -> bool:
    restarts = str(row["restarts"]) + (f" ({row['last_restart']} ago)" if row.get("last_restart") else "")
    got = {"status": row["status"], "ready": row["ready"], "restarts": restarts}
    want = {key: str(value) for key, value in expected.items()}
    return all(
        got[key] == want[key] if key != "restarts" else got[key].split()[0] == want[key].split()[0] for key in want
    )


async def evaluate_case(folder: Path, scratch: Path) -> CaseResult:
    case = write_snapshot(folder, scratch / folder.name)
    expected = case.get("expected") or {}
    workload = case.get("workload") or {}
    manifest_namespaces = json.loads((scratch / folder.name / "namespaces.json").read_text(encoding="utf-8"))["items"]
    namespace = workload.get("namespace") or manifest_namespaces[0]["metadata"]["name"]
    settings = K8sSettings(
        backend="snapshot",
        snapshot_dir=scratch / folder.name,
        # `*` denies kube-system; naming the case's namespace allows it, as a user would
        allowed_namespaces=f"*,{namespace}",
        rate_limit_per_minute=100000,
        rate_limit_burst=100000,
    )
    async with Client(create_server(settings)) as client:
        pods = (await client.call_tool("list_pods", {"namespace": namespace})).structured_content or {}
        result = None
        if workload:
            result = await client.call_tool(
                "diagnose_workload", {"namespace": namespace, "name": workload["name"], "kind": workload["kind"]}
            )
    data = (result.structured_content if result else None) or {}
    rows = {row["name"]: row for row in pods.get("items", [])}
    found = [cause["kind"] for cause in data.get("causes", [])]
    text = data.get("verdict", "") + "\n" + "\n".join(line for c in data.get("causes", []) for line in c["evidence"])
    missing = [kind for kind in expected.get("causes", []) if kind not in found]
    missing += [f"mention {m!r}" for m in expected.get("mentions", []) if m.lower() not in text.lower()]
    unready = any(
        not (r["status"] == "Running" and r["ready"].split("/")[0] == r["ready"].split("/")[1]) for r in rows.values()
    )
    return CaseResult(
        case=folder.name,
        collection=folder.parent.name,
        holdout=bool(case.get("holdout")),
        near_duplicate=bool(case.get("near_duplicate_of")),
        diagnosed=bool(workload),
        expected_causes=list(expected.get("causes", [])),
        found_causes=found,
        named=not missing and not (result and result.is_error),
        health_ok=data.get("health") == expected.get("health"),
        consistent=not (data.get("health") == "healthy" and (unready or found)),
        health=str(data.get("health")),
        verdict=str(data.get("verdict") or (result.content[0].text if result and result.content else "")),
        kubectl={
            pod: pod in rows and _matches(rows[pod], want) for pod, want in (expected.get("kubectl") or {}).items()
        },
        kubectl_derived={
            pod: pod in rows and _matches(rows[pod], want)
            for pod, want in (expected.get("kubectl_derived") or {}).items()
        },
        missing=missing,
    )


def printer_agreement(path: Path) -> tuple[int, int, list[str]]:
    """kubectl's own printer test cases: (agreeing, total, failures)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    failures = []
    for case in data["cases"]:
        row = print_pod(V1Pod.from_dict(case["pod"]))
        got = {"ready": row.ready, "status": row.status, "restarts": restarts_text(row, now)}
        if got != case["expect"]:
            failures.append(f"{case['source']}: got {got}, kubectl {case['expect']}")
    return len(data["cases"]) - len(failures), len(data["cases"]), failures


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f} %)" if total else "0/0"


def report(results: list[CaseResult], printer: tuple[int, int, list[str]]) -> dict[str, Any]:
    lines = []
    for r in results:
        if not r.diagnosed:
            rows_ok = all(r.kubectl.values()) and all(r.kubectl_derived.values())
            lines.append(f"{'ok ' if rows_ok else 'MISS'} {r.case} [holdout]: kubectl rows only")
            continue
        mark = "ok " if r.named and r.health_ok and r.consistent else "MISS"
        tag = (" [holdout, near-duplicate]" if r.near_duplicate else " [holdout]") if r.holdout else ""
        lines.append(
            f"{mark} {r.case}{tag}: expected {','.join(r.expected_causes)} → {','.join(r.found_causes) or '-'}; "
            f"health {r.health}{'' if r.health_ok else ' (wrong)'}"
            + (f"; missing {', '.join(r.missing)}" if r.missing else "")
        )
    summary: dict[str, Any] = {}
    collections = sorted({r.collection for r in results if r.holdout})
    for label, group in (
        ("all", results),
        ("tuning", [r for r in results if not r.holdout]),
        ("holdout", [r for r in results if r.holdout]),
        ("holdout_distinct", [r for r in results if r.holdout and not r.near_duplicate]),
        *((f"holdout_{name}", [r for r in results if r.holdout and r.collection == name]) for name in collections),
    ):
        diagnosed = [r for r in group if r.diagnosed]
        failing = [r for r in diagnosed if r.expected_causes]
        if not group:
            continue
        pods = [ok for r in group for ok in r.kubectl.values()]
        derived = [ok for r in group for ok in r.kubectl_derived.values()]
        summary[label] = {
            "workloads": len(diagnosed),
            "failing_workloads_cause_named": _share(sum(r.named for r in failing), len(failing)),
            "health_right": _share(sum(r.health_ok for r in diagnosed), len(diagnosed)),
            "consistent": _share(sum(r.consistent for r in diagnosed), len(diagnosed)),
            "pods_vs_kubectl_output": _share(sum(pods), len(pods)),
            "pods_vs_derived": _share(sum(derived), len(derived)),
        }
    summary["kubectl_printer_test_cases"] = {"agree": _share(printer[0], printer[1]), "failures": printer[2]}
    for line in lines:
        print(line)  # noqa: T201 - a command's report
    print(json.dumps(summary, indent=2))  # noqa: T201
    return {"summary": summary, "cases": [asdict(r) for r in results]}


async def run(folders: list[Path], printer_cases: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        results = [await evaluate_case(folder, Path(scratch)) for folder in folders]
    return report(results, printer_agreement(printer_cases))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m k8s_mcp.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=Path, nargs="+", default=DEFAULT_CAPTURES)
    parser.add_argument("--printer-cases", type=Path, default=DEFAULT_PRINTER_CASES)
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/k8s-mcp-eval.json"))
    args = parser.parse_args(argv)
    folders = [f for root in args.captures for f in sorted(root.iterdir()) if (f / "case.yaml").is_file()]
    result = anyio.run(run, folders, args.printer_cases)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"written {args.out}", file=sys.stderr)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
