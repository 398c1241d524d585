"""What the symptom points at: the workloads and services it names, the topics it touches, what to search.

"checkout is slow", "auth errors" and "redis" should not give the same investigation: the words pick the
deployment to diagnose, the log service to scope the timeline to, the keywords to search the logs for and
the query for the runbooks, and the report says what each word matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sre_lab.investigate.report import Focus


@dataclass(frozen=True)
class Topic:
    words: tuple[str, ...]  # symptom words (prefixes) that touch the topic
    keywords: tuple[str, ...]  # what to search the logs for
    services: tuple[str, ...] = ()  # name fragments of the services the topic is about
    slow_queries: bool = False  # look at slow queries across every service


TOPICS: dict[str, Topic] = {
    "latency": Topic(("slow", "latenc", "timeout", "timed out", "timing out", "hang", "lag", "sluggish"),
                     ("timed out",), slow_queries=True),
    "memory": Topic(("oom", "memory", "heap", "crash", "restart", "killed"), ("OutOfMemoryError",)),
    "cache": Topic(("redis", "cache", "evict"), ("Redis",), ("redis",)),
    "auth": Topic(("auth", "login", "token", "jwt", "401", "403", "unauthori", "session", "sign in"),
                  ("token",), ("auth",)),
    "payments": Topic(("payment", "checkout", "card", "transaction", "declin", "charge", "purchase"),
                      ("Transaction",), ("payment",)),
}  # fmt: skip


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _named(symptom: str, name: str) -> bool:
    """The symptom names `name`: all its words in a row ('payment gateway'), or a distinctive word of it."""
    hyphenated = "-" + "-".join(_tokens(symptom)) + "-"
    if f"-{name.lower()}-" in hyphenated:
        return True
    words = set(_tokens(symptom))
    return any(len(part) >= 4 and part in words and part not in _GENERIC for part in _tokens(name))


_GENERIC = {"service", "server", "gateway", "primary", "replica", "detection", "network", "deployment"}


Workload = tuple[str, str, dict[str, Any]]  # (namespace, kind, the list tool's item)
Target = tuple[str, str, str]  # (namespace, kind, name)


def readiness(kind: str, item: dict[str, Any]) -> float:
    """Ready replicas over desired (1.0 when none are desired)."""
    if kind == "Deployment":
        return float(item["available"]) / max(int(item["desired"]), 1)
    ready, _, desired = str(item.get("ready", "0/0")).partition("/")
    return int(ready or 0) / max(int(desired or 0), 1)


def focus_for(symptom: str, workloads: list[Workload], services: list[dict[str, Any]]) -> tuple[Focus, Target | None]:
    """The focus of the investigation, and the (namespace, kind, name) of the workload to diagnose."""
    lowered = symptom.lower()
    focus = Focus()
    topics = [name for name, topic in TOPICS.items() if any(word in lowered for word in topic.words)]
    for name in topics:
        topic = TOPICS[name]
        said = next(word for word in topic.words if word in lowered)
        focus.topics.append(name)
        focus.keywords += [k for k in topic.keywords if k not in focus.keywords]
        focus.slow_queries |= topic.slow_queries
        focus.matched.append(f"'{said}' → {name}: the logs searched for {', '.join(repr(k) for k in topic.keywords)}")

    named = [w for w in workloads if _named(symptom, w[2]["name"])]
    log_services = [s["service"] for s in services]
    focus.services = [s for s in log_services if _named(symptom, s)]
    target: Target | None = None
    if named:
        namespace, kind, item = max(named, key=lambda w: (len(w[2]["name"]), -readiness(w[1], w[2])))
        target = (namespace, kind, item["name"])
        focus.matched.append(f"'{_said(symptom, item['name'])}' → {kind} {namespace}/{item['name']}")
    else:
        fragments = [fragment for name in topics for fragment in TOPICS[name].services]
        by_topic = [w for w in workloads if any(f in w[2]["name"] for f in fragments)]
        focus.services += [s for s in log_services if any(f in s for f in fragments) and s not in focus.services]
        if by_topic:
            namespace, kind, item = _least_ready(by_topic)
            target = (namespace, kind, item["name"])
            focus.matched.append(f"the topic's workloads → {kind} {namespace}/{item['name']} (the least ready)")
    if target is not None and target[2] in log_services and target[2] not in focus.services:
        focus.services.insert(0, target[2])  # the workload the symptom is about comes first
    if target is None:
        degraded = [w for w in workloads if readiness(w[1], w[2]) < 1]
        if degraded:
            namespace, kind, item = _least_ready(degraded)
            target = (namespace, kind, item["name"])
            focus.matched.append(
                f"no workload named: diagnosing the least ready one, {kind} {namespace}/{item['name']}"
            )
            if not focus.services and item["name"] in log_services:
                focus.services.append(item["name"])
    for service in focus.services:
        if not any(f"service {service}" in line for line in focus.matched):
            focus.matched.append(f"logs scoped to service {service}")
    focus.runbook_query = symptom.strip()
    return focus, target


def _said(symptom: str, name: str) -> str:
    """The words of the symptom that named `name` ('payment gateway' for payment-gateway)."""
    words = _tokens(name)
    found = re.search(r"[^a-z0-9]+".join(map(re.escape, words)), symptom.lower())
    if found:
        return symptom[found.start() : found.end()]
    return next((w for w in _tokens(symptom) if w in words), name)


def _least_ready(candidates: list[Workload]) -> Workload:
    return min(candidates, key=lambda w: (readiness(w[1], w[2]), w[2]["name"]))
