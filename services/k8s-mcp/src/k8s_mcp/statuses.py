"""Which STATUS values `list_pods` can print, their categories, and the `status_filter` that selects them.

kubectl's STATUS is open-ended (a kubelet or a CRI may set any reason), so the filter accepts: a category, any
status below (case-insensitive), a pattern (`Init:*`, `Init:<n>/<m>`, `ExitCode:<n>`, `Signal:<n>`, `OutOf*`),
or any status that pods of the namespace show right now. Anything else is refused with what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from k8s_mcp.pod_status import PodRow
from mcp_common.errors import ToolError

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
# pod.status.reason values set by the kubelet, the node lifecycle and the eviction manager
POD_REASONS = (
    "Evicted",
    "NodeLost",
    "NodeAffinity",
    "Shutdown",
    "Terminated",
    "UnexpectedAdmissionError",
    "Preempting",
    "DeadlineExceeded",
    "SchedulingGated",
)
IMAGE_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "ImageInspectError",
    "RegistryUnavailable",
    "SignatureValidationFailed",
)
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError", "PreCreateHookError")
CRASH_REASONS = ("CrashLoopBackOff", "RunContainerError", "PostStartHookError", "PreStartHookError")
WAITING_REASONS = ("ContainerCreating", "PodInitializing", *IMAGE_REASONS, *CONFIG_REASONS, *CRASH_REASONS)
TERMINATED_REASONS = (
    "Completed",
    "Error",
    "OOMKilled",
    "ContainerCannotRun",
    "StartError",
    "ContainerStatusUnknown",
)
PRINTER_STATUSES = ("Terminating", "NotReady")
KNOWN_STATUSES = tuple(dict.fromkeys(PHASES + POD_REASONS + WAITING_REASONS + TERMINATED_REASONS + PRINTER_STATUSES))

CATEGORIES = ("failing", "pending", "running", "completed", "terminating", "not_ready")
PATTERNS = ("Init:*", "Init:<n>/<m>", "ExitCode:<n>", "Signal:<n>", "OutOf<resource>")

_INIT_PROGRESS = re.compile(r"^Init:\d+/\d+$")
_NUMBERED = re.compile(r"^(?:Init:)?(?:ExitCode|Signal):-?\d+$", re.IGNORECASE)
_PENDING = {"pending", "containercreating", "podinitializing", "schedulinggated"}
_COMPLETED = {"completed", "succeeded"}


def category(row: PodRow) -> str:
    """failing, pending, running, completed or terminating: the one category a printed status belongs to."""
    status = row.status
    lowered = status.lower()
    if status == "Running":
        return "running"
    if lowered in _COMPLETED:
        return "completed"
    if status == "Terminating":
        return "terminating"
    if lowered in _PENDING or _INIT_PROGRESS.match(status):
        return "pending"
    return "failing"


def _known(value: str) -> bool:
    lowered = value.lower()
    base = lowered.removeprefix("init:")
    return (
        any(base == status.lower() for status in KNOWN_STATUSES)
        or bool(_INIT_PROGRESS.match(value))
        or bool(_NUMBERED.match(value))
        or base.startswith("outof")
    )


def status_matcher(value: str, present: Collection[str]) -> Callable[[PodRow], bool]:
    """A predicate for `status_filter=value`, or a `ToolError` listing what is accepted."""
    wanted = value.strip()
    lowered = wanted.lower()
    if lowered in CATEGORIES:
        if lowered == "not_ready":
            return lambda row: not row.is_ready and category(row) != "completed"
        return lambda row: category(row) == lowered
    if lowered == "init:*":
        return lambda row: row.status.startswith("Init:")
    if _known(wanted) or any(lowered == status.lower() for status in present):
        return lambda row: row.status.lower() == lowered
    raise ToolError(
        f"status_filter '{wanted[:60]}' is not a status list_pods prints; use a category "
        f"({', '.join(CATEGORIES)}), a pattern ({', '.join(PATTERNS)}), or a status such as "
        f"{', '.join(KNOWN_STATUSES)}"
        + (f"; statuses in this namespace now: {', '.join(sorted(present))}" if present else "")
    )
