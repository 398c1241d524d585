"""READY, STATUS and RESTARTS exactly as kubectl prints them: kubectl's own printer test cases, real captures,
and the v1.29+ rules one by one (native sidecars, init restarts, Terminating, Evicted, NodeLost, ...)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cluster_objects import NOW, pod, running, status, terminated, waiting
from kubernetes.client import V1Pod

from k8s_mcp.captures import load_case
from k8s_mcp.pod_status import human_duration, print_pod, restarts_text
from k8s_mcp.statuses import KNOWN_STATUSES, category, status_matcher
from mcp_common.errors import ToolError

REAL = Path(__file__).parent / "fixtures" / "real"
PRINTER_CASES = json.loads((REAL / "kubectl-printer" / "printers_test_cases.json").read_text())


def row(raw: dict):
    return print_pod(V1Pod.from_dict(raw))


@pytest.mark.parametrize("case", PRINTER_CASES["cases"], ids=[c["source"] for c in PRINTER_CASES["cases"]])
def test_kubectl_printer_test_cases(case: dict) -> None:
    """Every case of kubectl's TestPrintPod and TestPrintPodWithRestartableInitContainer, cells compared."""
    now = datetime.fromisoformat(PRINTER_CASES["now"].replace("Z", "+00:00"))
    printed = print_pod(V1Pod.from_dict(case["pod"]))
    assert {"ready": printed.ready, "status": printed.status, "restarts": restarts_text(printed, now)} == case["expect"]


def sidecar(name: str = "proxy") -> dict:
    return {"name": name, "image": "envoy:1.31", "restartPolicy": "Always"}


def test_native_sidecar_counts_in_ready_and_is_not_an_init_phase() -> None:
    healthy = pod(
        "web-1",
        init_containers=[sidecar()],
        init_statuses=[
            status("proxy", running(), ready=True, started=True, restarts=2, last=terminated("Error", 1, minutes=30))
        ],
        statuses=[status("app", running(), ready=True, started=True)],
        conditions=[{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
    )
    printed = row(healthy)
    assert (printed.ready, printed.status, printed.restarts) == ("2/2", "Running", 2)
    assert restarts_text(printed, NOW) == "2 (30m ago)"


def test_init_container_restarts_count_while_initializing() -> None:
    stuck = pod(
        "web-1",
        init_containers=[{"name": "migrate", "image": "m:1"}],
        init_statuses=[status("migrate", waiting("CrashLoopBackOff"), restarts=6, last=terminated("Error", 1))],
        statuses=[status("app", waiting("PodInitializing"))],
        phase="Pending",
    )
    assert (row(stuck).status, row(stuck).restarts, row(stuck).ready) == ("Init:CrashLoopBackOff", 6, "0/1")


def test_terminating_wins_over_an_init_failure_but_not_over_a_finished_pod() -> None:
    failing_init = pod(
        "web-1",
        init_containers=[{"name": "migrate", "image": "m:1"}],
        init_statuses=[status("migrate", terminated("Error", 1))],
        phase="Pending",
    )
    failing_init["metadata"]["deletionTimestamp"] = "2026-03-02T09:29:00Z"
    assert row(failing_init).status == "Terminating"
    done = pod("job-1", phase="Succeeded", statuses=[status("app", terminated("Completed", 0))])
    done["metadata"]["deletionTimestamp"] = "2026-03-02T09:29:00Z"
    assert row(done).status == "Completed"


def test_node_lost_while_deleting_is_unknown() -> None:
    lost = pod(
        "web-1",
        reason="NodeLost",
        message="Node node-3 which was running pod web-1 is unresponsive",
        statuses=[status("app", running(), ready=True)],
    )
    lost["metadata"]["deletionTimestamp"] = "2026-03-02T09:29:00Z"
    assert row(lost).status == "Unknown"


def test_pod_reasons_and_terminated_reasons_show_as_kubectl_shows_them() -> None:
    evicted = pod(
        "web-1",
        phase="Failed",
        reason="Evicted",
        message="The node was low on resource: memory.",
        statuses=[status("app", terminated("ContainerStatusUnknown", 137, "The container could not be located"))],
    )
    # kubectl prints the pod's reason first, then each container state overrides it: the container wins.
    assert row(evicted).status == "ContainerStatusUnknown"
    evicted["status"]["containerStatuses"] = []
    assert row(evicted).status == "Evicted"
    signalled = pod("web-1", statuses=[{**status("app", {"terminated": {"exitCode": 0, "signal": 9}})}])
    assert row(signalled).status == "Signal:9"
    no_reason = pod("web-1", statuses=[status("app", {"terminated": {"exitCode": 3}})])
    assert row(no_reason).status == "ExitCode:3"


def test_first_container_wins_and_completed_with_a_running_one_is_not_ready() -> None:
    two = pod(
        "web-1",
        containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
        statuses=[status("a", waiting("ImagePullBackOff")), status("b", waiting("CrashLoopBackOff"))],
    )
    assert row(two).status == "ImagePullBackOff"
    half = pod(
        "web-1",
        containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
        statuses=[status("a", terminated("Completed", 0)), status("b", running(), ready=True)],
    )
    assert row(half).status == "NotReady"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (45, "45s"),
        (119, "119s"),
        (330, "5m30s"),
        (23 * 60, "23m"),
        (3 * 3600 + 300, "3h5m"),
        (14 * 3600, "14h"),
        (3 * 86400, "3d"),
        (3 * 86400 + 3600, "3d1h"),
        (45 * 86400, "45d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_is_apimachinery_s(seconds: int, expected: str) -> None:
    assert human_duration(datetime.fromtimestamp(NOW.timestamp() - seconds, UTC), NOW) == expected


def test_every_status_the_printer_produces_is_accepted_by_status_filter() -> None:
    printed = {print_pod(V1Pod.from_dict(c["pod"])).status for c in PRINTER_CASES["cases"]}
    printed |= {
        "Init:CrashLoopBackOff",
        "Init:0/2",
        "Init:ExitCode:1",
        "Init:Signal:9",
        "Evicted",
        "NodeLost",
        "ContainerStatusUnknown",
        "Completed",
        "Unknown",
        "Terminating",
        "NotReady",
        "SchedulingGated",
        "OutOfmemory",
        "UnexpectedAdmissionError",
        *KNOWN_STATUSES,
    }
    for value in printed - {"podPhase", "podReason", "ContainerWaitingReason"}:
        status_matcher(value, present=set())  # accepted without any pod showing it
    # Statuses a CRI invents are accepted while a pod shows them.
    assert status_matcher("ContainerWaitingReason", present={"ContainerWaitingReason"})


def test_status_filter_categories_and_patterns() -> None:
    crash = row(pod("a", statuses=[status("app", waiting("CrashLoopBackOff"), restarts=3)]))
    init = row(
        pod("b", init_containers=[{"name": "i", "image": "x"}], init_statuses=[status("i", running())], phase="Pending")
    )
    ok = row(pod("c", statuses=[status("app", running(), ready=True)]))
    assert (category(crash), category(init), category(ok)) == ("failing", "pending", "running")
    assert status_matcher("Init:*", set())(init) and not status_matcher("Init:*", set())(crash)
    assert status_matcher("crashloopbackoff", set())(crash)
    assert status_matcher("not_ready", set())(crash) and not status_matcher("not_ready", set())(ok)
    with pytest.raises(
        ToolError, match=r"'Exploded' is not a status list_pods prints; use a category \(failing, pending"
    ):
        status_matcher("Exploded", {"Running"})


def test_captures_with_kubectl_output_agree() -> None:
    """Real captures whose case records what kubectl printed (same state): list_pods' row must match."""
    checked = 0
    folders = [
        f
        for collection in ("workloads", "heldout", "survey2", "survey3")
        for f in sorted((REAL / collection).iterdir())
    ]
    for folder in folders:
        case, objects = load_case(folder)
        wanted = {
            **((case.get("expected") or {}).get("kubectl") or {}),
            **((case.get("expected") or {}).get("kubectl_derived") or {}),
        }
        pods = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Pod"}
        now = datetime.fromisoformat(str(case["captured_at"]).replace("Z", "+00:00"))
        for name, expect in wanted.items():
            printed = row(json.loads(json.dumps(pods[name], default=str)))
            assert (printed.ready, printed.status) == (expect["ready"], expect["status"]), (folder.name, name)
            assert restarts_text(printed, now).split()[0] == str(expect["restarts"]).split()[0]
            checked += 1
    assert checked >= 21
