"""Reading API objects without importing their classes: names, owners, selectors and kinds.

Kept free of `kubernetes.client` imports on purpose: the server imports this at start, and the client's models
cost most of a second of start-up; they load in the background, with the snapshot, after `initialize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# model class name → API kind, for the kinds the tools read
_KINDS = {
    "V1Pod": "Pod",
    "V1Deployment": "Deployment",
    "V1ReplicaSet": "ReplicaSet",
    "V1StatefulSet": "StatefulSet",
    "V1DaemonSet": "DaemonSet",
    "V1Job": "Job",
    "V1CronJob": "CronJob",
    "CoreV1Event": "Event",
    "V1Namespace": "Namespace",
}


def name_of(obj: Any) -> str:
    """An API object's name (the client types it Optional; the API always sets it)."""
    return str(obj.metadata.name or "") if obj.metadata else ""


def controller_of(obj: Any) -> Any | None:
    """The owner reference marked `controller: true` (the first owner when none is marked)."""
    refs = (obj.metadata.owner_references or []) if obj.metadata else []
    for ref in refs:
        if ref.controller:
            return ref
    return refs[0] if refs else None


def matches(labels: Mapping[str, str] | None, selector: Mapping[str, str] | None) -> bool:
    """True when every selector label is present with the same value (matchLabels semantics)."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())


def match_labels(workload: Any) -> dict[str, str]:
    """A workload's `spec.selector.matchLabels` (a CronJob selects through its job template)."""
    spec = workload.spec
    template = getattr(spec, "job_template", None)
    if template is not None:
        spec = template.spec
    selector = getattr(spec, "selector", None) if spec is not None else None
    return dict(selector.match_labels or {}) if selector is not None else {}


def type_kind(obj: Any) -> str:
    """The API kind of a model object ('Deployment' for a V1Deployment)."""
    return _KINDS.get(type(obj).__name__) or str(getattr(obj, "kind", "") or type(obj).__name__)
