"""What the investigation has learned: every tool result passes through `Findings.absorb`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sre_lab.investigate.report import (
    FailingPod,
    Focus,
    KubernetesFindings,
    LogFindings,
    RunbookCitation,
    RunbookFindings,
    TimelinePoint,
)

_TRACE_ID = re.compile(r"\btx-[a-z0-9]+\b")
# A line of a stack trace, not an error of its own: Java/Kotlin frames, "... 12 more", "Caused by:", Python's
# "File ..., line N" and Go's "goroutine N [running]:" / "\tpath/file.go:123".
_FRAME = re.compile(
    r"^\s*(?:at\s+[\w$.<>/\[\]-]+\(|\.\.\.\s*(?:\d+|<\w+>)\s+more\b|Caused by:|File \"[^\"]+\", line\b"
    r"|goroutine\s+(?:\d+|<\w+>)\s+\[|Traceback \(most recent call last\))"
)


_LEVELS = {"ERROR": 0, "WARN": 1, "INFO": 2, "DEBUG": 3}
_EXCEPTION = re.compile(r"\b[\w.$]*(?:Error|Exception|Panic|panic)\b")


def _first_error_order(line: dict[str, Any]) -> tuple[str, bool, str]:
    """Oldest first; of lines logged in the same millisecond, the exception before its consequences."""
    return line["timestamp"], not _EXCEPTION.search(line["message"]), line["message"]


def is_frame(message: str) -> bool:
    """A stack-trace line (it belongs to the error logged before it)."""
    return bool(_FRAME.match(message))


@dataclass
class Findings:
    """What the investigation has learned so far; every tool result passes through `absorb`."""

    k8s: KubernetesFindings = field(default_factory=KubernetesFindings)
    logs: LogFindings = field(default_factory=LogFindings)
    kb: RunbookFindings = field(default_factory=RunbookFindings)
    workloads: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (namespace, kind, item)
    diagnosed_pods: set[str] = field(default_factory=set)
    trace_ids: list[str] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    focus: Focus = field(default_factory=Focus)

    def absorb(self, tool: str, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{tool}", None)
        if handler is not None:
            handler(arguments, data)

    def _on_list_services(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.services = data["services"]

    def _on_list_deployments(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.workloads += [(data["namespace"], "Deployment", item) for item in data["items"]]

    def _on_list_statefulsets(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.workloads += [(data["namespace"], "StatefulSet", item) for item in data["items"]]

    def _on_diagnose_workload(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.k8s.namespace, self.k8s.kind, self.k8s.deployment = data["namespace"], data["kind"], data["name"]
        self.k8s.health, self.k8s.verdict = data["health"], data["verdict"]
        self.diagnosed_pods = {p["name"] for p in data["pods"]}

    _on_diagnose_deployment = _on_diagnose_workload

    def _on_list_pods(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        failing = [
            FailingPod(**{k: pod[k] for k in FailingPod.model_fields if k in pod})
            for pod in data["items"]
            if pod["status"] != "Running" and (not self.diagnosed_pods or pod["name"] in self.diagnosed_pods)
        ]
        known = {p.name for p in self.k8s.failing_pods}
        self.k8s.failing_pods += [p for p in failing if p.name not in known]
        self.k8s.failing_pods.sort(key=lambda p: p.restarts, reverse=True)

    def _on_get_pod_logs(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        if data["previous"] or not self.k8s.crash_log:
            self.k8s.crash_log = data["lines"]

    def _on_get_events(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.k8s.warning_events = [
            f"{e['reason']} {e['object']} ×{e['count']}: {e['message']}"
            for e in data["items"]
            if e["type"] == "Warning"
        ][:10]

    def _on_error_timeline(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.incident_start = (data.get("first_rise") or data.get("first_burst") or {}).get("at")
        self.logs.peak = (data.get("peak") or {}).get("at")
        self.logs.baseline_error_rate = data["baseline"]["error_rate"]
        self.logs.timeline_service, self.logs.timeline_bucket = data.get("service"), data["bucket"]
        buckets = data["buckets"]
        self.logs.timeline = [TimelinePoint(at=b["start"], errors=b["error"], lines=b["total"]) for b in buckets]
        first = data.get("first_error")
        if first and not is_frame(first["message"]) and self.logs.first_error is None:
            self.logs.first_error = first

    def _on_count_errors(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        if data["group_by"] != "message":
            return
        errors: list[dict[str, Any]] = []
        frames: list[dict[str, Any]] = []
        for group in data["groups"]:
            entry = {"signature": group["key"], "errors": group["errors"], "services": group.get("services", [])}
            (frames if is_frame(group["key"]) else errors).append(entry)
        for frame in frames:
            # a frame is printed with its exception, as often: fold it into the error of the same service and count
            same_service = [e for e in errors if set(frame["services"]) & set(e["services"])]
            # the exception it belongs to: as often as the frame, an exception by its looks, else the nearest
            ranked = sorted(
                same_service,
                key=lambda e: (e["errors"] != frame["errors"], not _EXCEPTION.search(e["signature"])),
            )
            owner = ranked[0] if ranked else None
            if owner is not None:
                owner.setdefault("frames", []).append(frame["signature"].strip())
        self.logs.top_errors = errors[:8]

    def _on_search_logs(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        if arguments.get("keyword") and not any(h["keyword"] == arguments["keyword"] for h in self.logs.keyword_hits):
            lines = [line for line in data["lines"] if not is_frame(line["message"])]
            worst = min(lines, key=lambda line: _LEVELS.get(line["level"], 9), default=None)
            self.logs.keyword_hits.append(
                {
                    "keyword": arguments["keyword"],
                    "for": "the symptom" if arguments["keyword"] in self.focus.keywords else "the crash",
                    "lines": data["count"],
                    "truncated": data["truncated"],
                    "services": sorted({line["service"] for line in lines}),
                    **({"example": f"{worst['level']} {worst['host']}: {worst['message']}"} if worst else {}),
                }
            )
        errors = [line for line in data["lines"] if line["level"] == "ERROR" and not is_frame(line["message"])]
        if errors and arguments.get("order") == "oldest":
            first = min(errors, key=_first_error_order)
            if self.logs.first_error is None or _first_error_order(first) <= _first_error_order(self.logs.first_error):
                self.logs.first_error = first
        hosts = set(self.logs.error_hosts) | {line["host"] for line in errors}
        self.logs.error_hosts = sorted(hosts)
        failing = {pod.name for pod in self.k8s.failing_pods}
        self.logs.pods_matching_kubernetes = [host for host in self.logs.error_hosts if host in failing]
        for line in errors:
            for trace_id in [line.get("trace_id"), *_TRACE_ID.findall(line["message"])]:
                if trace_id and trace_id not in self.trace_ids:
                    self.trace_ids.append(trace_id)

    def _on_trace_transaction(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.affected_traces.append(
            {
                "trace_id": data["trace_id"],
                "services": data["services"],
                "duration_ms": data["duration_ms"],
                "has_error": data["has_error"],
                "first_error": (data.get("first_error") or {}).get("message"),
            }
        )

    def _on_get_slow_queries(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        self.logs.slow_queries = [
            {"duration_ms": q["duration_ms"], "rows_examined": q["rows_examined"], "query": q["query"][:160]}
            for q in data["queries"][:5]
        ]

    def _on_find_runbooks_for_error(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        seen = {c.runbook_id for c in self.kb.sections}
        for match in data["matches"][:2]:
            if match["runbook_id"] in seen:
                continue
            seen.add(match["runbook_id"])
            cite = {"runbook_id": match["runbook_id"], "title": match["title"], "matched": data["signature"]}
            self.kb.sections.append(
                RunbookCitation(
                    **cite, section=match["matched_section"], uri=match["matched_uri"], excerpt=match["excerpt"][:400]
                )
            )
            if match.get("mitigation"):
                self.kb.sections.append(
                    RunbookCitation(
                        **cite,
                        section="Mitigation",
                        uri=match.get("mitigation_uri") or match["uri"],
                        excerpt=match["mitigation"][:600],
                    )
                )

    def _on_search_runbooks(self, arguments: dict[str, Any], data: dict[str, Any]) -> None:
        seen = {(c.runbook_id, c.section) for c in self.kb.sections}
        for hit in data["hits"][:3]:
            if (hit["runbook_id"], hit["section"]) not in seen:
                self.kb.sections.append(
                    RunbookCitation(
                        runbook_id=hit["runbook_id"],
                        title=hit["title"],
                        section=hit["section"],
                        uri=hit["uri"],
                        matched=data["query"],
                        excerpt=hit["text"][:600],
                    )
                )
