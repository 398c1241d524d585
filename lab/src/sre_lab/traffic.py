"""Request traffic generated inside ClickHouse: the request shapes (`STEPS`, `flows`), the rates, and the
plan of bound parameters that `sql/traffic.sql` turns into millions of log lines per `INSERT … SELECT`.

Only parameters cross the client boundary; ClickHouse formats the strings.
"""

from __future__ import annotations

import math
import os
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Literal

import numpy as np
from clickhouse_connect.driver.client import Client

from sre_lab.scenario import PodState, Scenario

INCIDENT_HOUR_OF_DAY = 14.4  # where the scenario's now falls on the traffic's daily curve (14:24, mid-afternoon)
SEGMENTS = 1440  # the day is cut into this many slices of equal request counts (one per minute on average)

Role = Literal["gateway", "auth", "fraud", "card"]
ROLES: tuple[Role, ...] = ("gateway", "auth", "fraud", "card")
ROLE_SERVICE: dict[Role, str] = {
    "gateway": "payment-gateway",
    "auth": "auth-service",
    "fraud": "fraud-detection",
    "card": "card-network-gateway",
}
# When a step happens, relative to the request's start (resolved in SQL from the request's latencies).
At = Literal["start", "auth", "fraud", "fraud_done", "retry", "card", "end"]
# Which latency the step reports as duration_ms.
Duration = Literal["auth", "fraud", "card", "total"]
DURATION_CODES: dict[Duration | None, int] = {None: 0, "auth": 1, "fraud": 2, "card": 3, "total": 4}


@dataclass(frozen=True)
class Step:
    """One log line of a request, in the wording of the scenario's traces.

    `template` placeholders: {tx} (the trace id), {amount}, {merchant}, {score}, {client}, and {ms}: the
    latency the line reports, which is also its `duration_ms` (see `duration`).
    """

    role: Role
    level: Literal["DEBUG", "INFO", "WARN", "ERROR"]
    logger: str
    at: At
    duration: Duration | None
    status: int | None
    template: str


STEPS: dict[str, Step] = {
    "processing": Step("gateway", "INFO", "PaymentService", "start", None, None,
                       "Processing transaction {tx} ({amount} USD)"),
    "token": Step("auth", "INFO", "TokenService", "auth", "auth", 200,
                  "Token validated for merchant {merchant} in {ms}ms"),
    "features": Step("fraud", "DEBUG", "Inference", "auth", None, None,
                     "Feature vector built for {tx} (42 features)"),
    "score": Step("fraud", "INFO", "Inference", "fraud", "fraud", 200,
                  "Fraud score {score} for {tx} (approve), inference {ms}ms"),
    "review": Step("fraud", "WARN", "Inference", "fraud", "fraud", 200,
                   "Fraud score {score} for {tx} (review), inference {ms}ms"),
    "slow_inference": Step("fraud", "WARN", "Inference", "fraud", "fraud", 200,
                           "Model inference latency {ms}ms (threshold 500ms)"),
    "cache_miss": Step("fraud", "ERROR", "VelocityCache", "fraud_done", None, None,
                       "Unable to fetch velocity data from Redis — cache miss"),
    "retry": Step("gateway", "WARN", "PaymentService", "retry", None, None,
                  "Retrying card network call for {tx} (attempt 2)"),
    "approved": Step("card", "INFO", "Upstream", "card", "card", 200,
                     "Card network approved {tx} in {ms}ms"),
    "declined": Step("card", "INFO", "Upstream", "card", "card", 402,
                     "Card network declined {tx}: insufficient funds (code 51)"),
    "timeout": Step("card", "ERROR", "Upstream", "card", "card", 504,
                    "Card network authorization for {tx} timed out after 30000ms"),
    "completed": Step("gateway", "INFO", "PaymentService", "end", "total", 200,
                      "Transaction {tx} completed successfully in {ms}ms"),
    "held": Step("gateway", "WARN", "PaymentService", "end", "total", 202,
                 "Transaction {tx} held for manual review (fraud score {score})"),
    "issuer_declined": Step("gateway", "INFO", "PaymentService", "end", "total", 402,
                            "Transaction {tx} declined by issuer (code 51) in {ms}ms"),
    "failed_timeout": Step("gateway", "ERROR", "PaymentService", "end", "total", 504,
                           "Transaction {tx} failed: upstream timeout (30s)"),
    "rejected_open": Step("gateway", "ERROR", "CircuitBreaker", "end", "total", 503,
                          "Transaction {tx} rejected: circuit breaker OPEN for card-network-gateway"),
    "token_issued": Step("auth", "INFO", "TokenService", "auth", "auth", 200,
                         "Issued access token for {client} (ttl 3600s)"),
    "token_expired": Step("auth", "WARN", "TokenService", "auth", "auth", 401,
                          "Rejected expired token for {client}"),
}  # fmt: skip
STEP_IDS = {name: index + 1 for index, name in enumerate(STEPS)}  # 1-based, as ClickHouse arrays are

# The placeholder sequences a template may have; the traffic SQL formats each with one concat() (it lists
# them in this order). A template with another sequence is a ValueError when the plan is built.
PATTERNS: tuple[tuple[str, ...], ...] = (
    (),
    ("tx",),
    ("ms",),
    ("client",),
    ("tx", "ms"),
    ("tx", "amount"),
    ("merchant", "ms"),
    ("tx", "score"),
    ("score", "tx", "ms"),
)
SAMPLE_VALUES = {"tx": "tx-0123456789ab", "amount": "42.50", "merchant": "m-31377", "score": "0.07",
                 "client": "client-batch-17", "ms": "41"}  # fmt: skip

FRAUD_KINDS = (("score",), ("review", "held"), ("slow_inference", "cache_miss", "score"))  # ok, review, miss
CARD_KINDS = (("approved", "completed"), ("declined", "issuer_declined"), ("timeout", "failed_timeout"),
              ("rejected_open",))  # ok, issuer declined, timeout, breaker open  # fmt: skip


def flows() -> list[list[int]]:
    """Every request shape as step ids, in the order the SQL numbers them.

    1, 2: auth-only (token issued, expired); then 3 + ((fraud * 4 + card) * 2 + debug) * 2 + retry for a
    payment: processing and token, the fraud check, the card call unless held for review, the DEBUG feature
    line, a retried card call (only before an approval).
    """
    shapes = [[STEP_IDS["token_issued"]], [STEP_IDS["token_expired"]]]
    for fraud, fraud_steps in enumerate(FRAUD_KINDS):
        for card, card_steps in enumerate(CARD_KINDS):
            for debug in (0, 1):
                for retry in (0, 1):
                    names = ["processing", "token", *fraud_steps]
                    names += [] if fraud == 1 else list(card_steps)
                    names += ["features"] * debug + ["retry"] * (retry and card == 0)
                    shapes.append([STEP_IDS[name] for name in names])
    return shapes


def template_parts(template: str) -> tuple[int, list[str]]:
    """The template's pattern (1-based index into PATTERNS) and its literal parts, padded to four."""
    texts, fields = [""], []
    for literal, field, _, _ in string.Formatter().parse(template):
        texts[-1] += literal
        if field is not None:
            fields.append(field)
            texts.append("")
    if tuple(fields) not in PATTERNS:
        raise ValueError(f"template {template!r}: placeholders {fields} are not one of the PATTERNS")
    return PATTERNS.index(tuple(fields)) + 1, texts + [""] * (4 - len(texts))


# When a step happens: auth × auth_ms + fraud × fraud_ms + card × card_ms + ms after the request starts.
AT_OFFSETS: dict[At, tuple[int, int, int, int]] = {
    "start": (0, 0, 0, 0),
    "auth": (1, 0, 0, 0),
    "fraud": (1, 1, 0, 4),
    "fraud_done": (1, 1, 0, 5),
    "retry": (1, 1, 0, 6),
    "card": (1, 1, 1, 8),
    "end": (1, 1, 1, 12),  # = total_ms
}


@dataclass(frozen=True)
class Rates:
    """Probabilities of the traffic, in millionths (what the SQL compares hashes against)."""

    auth_only: int = 200_000  # requests that only get a token (other clients of auth-service)
    token_expired: int = 10_000  # of those, rejected
    debug: int = 100_000  # fraud-detection DEBUG feature line
    review: int = 10_000  # fraud score high enough for manual review
    declined: int = 30_000  # the issuer declines
    retry: int = 4_000  # a first card-network call is retried (WARN)
    miss_baseline: int = 2_000  # velocity-cache misses before the incident
    miss_evicting: int = 150_000  # Redis evicting (redis_evictions → fraud_latency)
    miss_incident: int = 420_000  # hit rate 58 % (fraud_latency →)
    timeout: int = 220_000  # card-network calls that time out (upstream_timeouts →)


RATES = Rates()


def requests_for(traffic_rows: int) -> int:
    """Requests that expand to about `traffic_rows` lines (the mean lines per request of the baseline mix)."""
    rate = RATES
    payment = (
        2  # processing, token
        + rate.debug / 1e6
        + (1 - rate.review / 1e6) * 1  # score
        + rate.review / 1e6 * 2  # review, held
        + (1 - rate.review / 1e6) * (2 + rate.retry / 1e6)  # card call and the outcome
    )
    per_request = (1 - rate.auth_only / 1e6) * payment + rate.auth_only / 1e6
    segments = max(1, math.ceil(max(traffic_rows, 0) / per_request / SEGMENTS))
    return segments * SEGMENTS


@dataclass(frozen=True)
class TrafficPlan:
    """Everything the traffic SQL needs, as bound parameters."""

    requests: int
    parameters: dict[str, object]

    @classmethod
    def build(cls, scenario: Scenario, since: datetime, until: datetime, *, requests: int, seed: int) -> TrafficPlan:
        tl = scenario.timeline
        bounds = segment_bounds(since, until, SEGMENTS)
        role_pods: list[list[str]] = []
        # per (segment, role): where its serving pods' 1-based indexes start in `flat`, and how many
        offsets: list[int] = []
        counts: list[int] = []
        flat: list[int] = []
        windows: list[list[tuple[datetime, datetime] | None]] = []
        for role in ROLES:
            pods = [pod for pod in scenario.pods if scenario.workload_of(pod).service == ROLE_SERVICE[role]]
            role_pods.append([pod.name for pod in pods])
            windows.append([serving_window(scenario, pod, since, until) for pod in pods])
        for segment in range(SEGMENTS):
            start, end = _from_ms(bounds[segment]), _from_ms(bounds[segment + 1])
            for role_windows in windows:
                # pods serving through the whole slice (a pod starts or stops on the next one), else any overlap
                serving = [i for i, w in enumerate(role_windows, 1) if w and w[0] <= start and end <= w[1]]
                serving = serving or [i for i, w in enumerate(role_windows, 1) if w and w[0] < end and start < w[1]]
                offsets.append(len(flat))
                counts.append(len(serving))
                flat.extend(serving)
        steps = list(STEPS.values())
        parts = [template_parts(step.template) for step in steps]
        pod_names = [name for names in role_pods for name in names]
        pod_offset = [sum(len(names) for names in role_pods[:i]) for i in range(len(ROLES))]
        parameters: dict[str, object] = {
            "seed": seed,
            "per_segment": requests // SEGMENTS,
            "bounds": bounds,
            "serving_offset": offsets,
            "serving_count": counts,
            "serving_flat": flat,
            "pod_names": pod_names,
            "pod_offset": pod_offset,
            "role_service": [ROLE_SERVICE[role] for role in ROLES],
            "role_namespace": [_namespace(scenario, pods[0]) for pods in role_pods],
            "breaker_pod": 1 + role_pods[0].index(breaker_pod(scenario)),  # gateway pods come first
            "evictions_ms": _ms(tl.redis_evictions),
            "fraud_latency_ms": _ms(tl.fraud_latency),
            "timeouts_ms": _ms(tl.upstream_timeouts),
            "breaker_ms": _ms(tl.breaker_open),
            "until_ms": _ms(until),
            "flows": flows(),
            "step_role": [ROLES.index(step.role) + 1 for step in steps],
            "step_level": [step.level for step in steps],
            "step_logger": [step.logger for step in steps],
            **{
                f"at_{name}": [AT_OFFSETS[step.at][i] for step in steps]
                for i, name in enumerate(("auth", "fraud", "card", "ms"))
            },
            "step_duration": [DURATION_CODES[step.duration] for step in steps],
            "step_status": [step.status or 0 for step in steps],
            "step_pattern": [pattern for pattern, _ in parts],
            **{f"text{i + 1}": [texts[i] for _, texts in parts] for i in range(4)},
            **{f"p_{name}": value for name, value in vars(RATES).items()},
        }
        return cls(requests=requests, parameters=parameters)


def _namespace(scenario: Scenario, pod_name: str) -> str:
    return scenario.pod(pod_name).namespace


def breaker_pod(scenario: Scenario) -> str:
    """The pod whose breaker opens: the host of the scenario's "Circuit breaker OPEN" line."""
    for record in scenario.notable_logs:
        if record.logger == "CircuitBreaker":
            return record.host
    raise LookupError("the scenario has no circuit-breaker line")


def serving_window(
    scenario: Scenario, pod: PodState, since: datetime, until: datetime
) -> tuple[datetime, datetime] | None:
    """When `pod` serves requests within [since, until): from ready until its first OOM kill (if it crash-loops).

    A crash-looping pod runs 12 s per restart and never becomes ready again, so it serves nothing once the
    loop starts; its lines then come from the scenario's crash records.
    """
    spec = scenario.workload_of(pod).containers[0]
    ready = pod.created + timedelta(seconds=4 + (spec.readiness.initial_delay if spec.readiness else 0))
    start = max(since, ready)
    end = min(pod.oom_kills[0] if pod.oom_kills else until, until)
    return (start, end) if start < end else None


def segment_bounds(since: datetime, until: datetime, segments: int) -> list[int]:
    """`segments + 1` timestamps (ms) cutting [since, until] into slices of equal request counts.

    The request rate follows a day: highest mid-afternoon, about a third of that before dawn. The day is the
    scenario's, not the wall clock's: `until` (the scenario's now) is always INCIDENT_HOUR_OF_DAY, so a lab
    seeded at any hour holds the same traffic around the incident (and investigates the same).
    """
    span_minutes = int((until - since).total_seconds() // 60)
    minutes = np.arange(span_minutes + 1, dtype=np.float64)
    hours = (INCIDENT_HOUR_OF_DAY - span_minutes / 60 + minutes / 60) % 24
    rate = 1.0 + 0.5 * np.cos(2 * np.pi * (hours - 15) / 24)
    cumulative = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
    targets = np.linspace(0.0, cumulative[-1], segments + 1)
    offsets_ms = np.interp(targets, cumulative, minutes * 60_000)
    start = _ms(since)
    bounds = [start + round(float(offset)) for offset in offsets_ms]
    bounds[-1] = _ms(until)
    return bounds


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


TRAFFIC_SQL = (resources.files("sre_lab") / "sql" / "traffic.sql").read_text(encoding="utf-8")
# The SELECT runs on every core and so does the insert (a SETTINGS clause in the text would reach only the SELECT).
INSERT_SETTINGS = {"max_threads": min(os.cpu_count() or 2, 8), "max_insert_threads": min(os.cpu_count() or 2, 8)}


def insert_traffic(client: Client, plan: TrafficPlan, first: int, count: int, signatures: list[str]) -> int:
    """Insert requests [first, first + count) of `plan`; return the rows written."""
    parameters = {**plan.parameters, "first": first, "count": count, "step_signature": signatures}
    before = _count(client, "application_logs")
    client.command(TRAFFIC_SQL, parameters=parameters, settings=INSERT_SETTINGS)
    # chDB's insert summary carries no written_rows; the table's row count (part metadata) works on both
    return _count(client, "application_logs") - before


def _count(client: Client, table: str) -> int:
    return int(client.query("SELECT count() FROM {table:Identifier}", parameters={"table": table}).result_rows[0][0])


def step_signatures(client: Client) -> list[str]:
    """The signature of each step's lines, computed once by the store's own `log_signature`."""
    examples = [step.template.format(**SAMPLE_VALUES) for step in STEPS.values()]
    result = client.query(
        "SELECT arrayMap(m -> log_signature(m), {examples:Array(String)})", parameters={"examples": examples}
    )
    return list(result.result_rows[0][0])
