"""The incident's application logs, written into the log store (`sre-lab seed logs`).

Two kinds of rows, both from `sre_lab.scenario` (every name, pod, trace id and moment comes from there):

- **story rows** (tens of thousands): every line the scenario defines (the four traces, the notable lines,
  every OOM crash of the crash-looping pods, start-ups and heartbeats of the running pods), each slow query
  as the WARN line its pod logged, and the periodic lines that change with the incident (Redis evictions,
  cache hit rates, circuit-breaker probes, GC pauses, connection pools, the odd rejected injection attempt),
  built in Python and inserted as columns;
- **traffic rows** (millions): 24 h of payment and auth requests generated inside ClickHouse by one
  `INSERT … SELECT … FROM numbers_mt()` per chunk. Each request gets a time (a day-shaped rate), pods among
  those serving at that time (a pod in CrashLoopBackOff serves nothing; the scaled-up pods serve from their
  start), an outcome from the incident's phase (cache misses once Redis evicts, card-network timeouts, the
  open breaker on payment-gw-abc12), and expands into its log lines through `STEPS`. Only parameters cross
  the client boundary; ClickHouse formats the strings.

Deterministic: the same scenario (`now`, `seed`), `rows` and `seed` give the same rows. Re-seeding truncates
both tables first, so it replaces the dataset instead of adding to it.
"""

from __future__ import annotations

import math
import os
import random
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from clickhouse_connect.driver.client import Client

from logs_mcp.config import LogsSettings
from logs_mcp.store import apply_schema, connect
from sre_lab.scenario import Level, LogRecord, PodState, Scenario

DEFAULT_ROWS = 3_000_000
WINDOW = timedelta(hours=24)
CHUNK_REQUESTS = 500_000  # requests per INSERT … SELECT (≈ 2 M rows): bounded memory, a progress tick each
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


@dataclass(frozen=True)
class SeedReport:
    """What `seed_logs` wrote."""

    rows: int  # application_logs rows
    traffic_rows: int
    story_rows: int
    requests: int
    slow_queries: int
    since: datetime
    until: datetime
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# -- opening ------------------------------------------------------------------------------------------


def open_log_store(settings: LogsSettings | None = None) -> Client:
    """A writer client for the configured store (env `LOGS_MCP_*`), with the schema applied."""
    settings = settings or LogsSettings()
    client = connect(settings, writer=True)
    try:
        apply_schema(client, settings.clickhouse_database)
    except BaseException:
        client.close()
        raise
    return client


def seed_log_store(
    scenario: Scenario,
    *,
    settings: LogsSettings | None = None,
    rows: int = DEFAULT_ROWS,
    seed: int | None = None,
    progress: bool = True,
) -> SeedReport:
    """Open the store, replace its logs with the incident's, close it. What `sre-lab seed logs` calls."""
    client = open_log_store(settings)
    try:
        return seed_logs(client, scenario, rows=rows, seed=seed, progress=progress)
    finally:
        client.close()


# -- seeding ------------------------------------------------------------------------------------------


def seed_logs(
    client: Client, scenario: Scenario, *, rows: int = DEFAULT_ROWS, seed: int | None = None, progress: bool = True
) -> SeedReport:
    """Replace the logs in `client`'s database with the incident's: about `rows` application log lines.

    `seed` varies the traffic (default: the scenario's seed). The client needs the schema applied
    (`open_log_store`) and write access.
    """
    if rows < 1000:
        raise ValueError("rows must be at least 1000")
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    until = scenario.now
    since = until - WINDOW
    slow = slow_query_rows(scenario, since, seed)
    story = story_records(scenario, since, seed, slow)
    plan = TrafficPlan.build(scenario, since, until, requests=_requests_for(rows - len(story)), seed=seed)

    client.command("TRUNCATE TABLE IF EXISTS application_logs")
    client.command("TRUNCATE TABLE IF EXISTS slow_queries")
    with _progress(progress, total_rows=rows) as advance:
        insert_records(client, story, {pod.name: pod.namespace for pod in scenario.pods})
        advance(len(story))
        traffic_rows = 0
        signatures = step_signatures(client)
        for first in range(0, plan.requests, CHUNK_REQUESTS):
            count = min(CHUNK_REQUESTS, plan.requests - first)
            written = insert_traffic(client, plan, first, count, signatures)
            traffic_rows += written
            advance(written)
        insert_slow_queries(client, slow)
    return SeedReport(
        rows=len(story) + traffic_rows,
        traffic_rows=traffic_rows,
        story_rows=len(story),
        requests=plan.requests,
        slow_queries=len(slow),
        since=since,
        until=until,
        seconds=time.perf_counter() - started,
    )


def _requests_for(traffic_rows: int) -> int:
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


class _NoProgress:
    def __enter__(self) -> Callable[[int], None]:
        return lambda rows: None

    def __exit__(self, *exc: object) -> None:
        return None


class _RichProgress:
    def __init__(self, total_rows: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]seeding logs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._task = self._progress.add_task("logs", total=total_rows, rate="")
        self._started = time.perf_counter()
        self._done = 0

    def __enter__(self) -> Callable[[int], None]:
        self._progress.start()
        return self._advance

    def _advance(self, rows: int) -> None:
        self._done += rows
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        total = max(self._done, int(self._progress.tasks[0].total or 0))
        self._progress.update(
            self._task, completed=self._done, total=total, rate=f"{self._done / elapsed / 1e6:.2f} M rows/s"
        )

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _progress(enabled: bool, total_rows: int) -> _NoProgress | _RichProgress:
    return _RichProgress(total_rows) if enabled else _NoProgress()


def wait_for_merges(client: Client, timeout_s: float = 120.0) -> float:
    """Wait until the background merges of the fresh parts are done (or `timeout_s`); return the seconds waited.

    A seeded store keeps merging its parts for a while; with chDB, in whichever process opens it next. The
    benchmark waits, so it measures queries rather than merges; the lab may wait too before serving.
    """
    started = time.perf_counter()
    quiet = 0
    while time.perf_counter() - started < timeout_s and quiet < 2:
        running = client.query("SELECT count() FROM system.merges WHERE table = 'application_logs'").result_rows[0][0]
        quiet = quiet + 1 if running == 0 else 0
        time.sleep(0.5)
    return time.perf_counter() - started


# -- traffic (ClickHouse-side) --------------------------------------------------------------------------


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
            "breaker_pod": 1 + role_pods[0].index(_breaker_pod(scenario)),  # gateway pods come first
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


def _breaker_pod(scenario: Scenario) -> str:
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

    The request rate follows the day: highest mid-afternoon UTC, about a third of that before dawn.
    """
    minutes = np.arange(int((until - since).total_seconds() // 60) + 1, dtype=np.float64)
    hours = (since.hour + since.minute / 60 + minutes / 60) % 24
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


# One INSERT … SELECT per chunk of requests. Innermost: one row per request (its time, pods, outcome,
# latencies and flow), numeric only so that ARRAY JOIN copies little; then one row per step of its flow;
# the strings are formatted last, each line from its template's parts.
TRAFFIC_SQL = """
INSERT INTO application_logs
    (timestamp, service, level, host, pod, namespace, logger, trace_id, message, signature, duration_ms, status_code)
SELECT
    fromUnixTimestamp64Milli(start_ms + {at_auth:Array(UInt8)}[step] * auth_ms
        + {at_fraud:Array(UInt8)}[step] * fraud_ms + {at_card:Array(UInt8)}[step] * card_ms
        + {at_ms:Array(UInt8)}[step], 'UTC') AS timestamp,
    {role_service:Array(String)}[role] AS service,
    {step_level:Array(String)}[step] AS level,
    {pod_names:Array(String)}[{pod_offset:Array(UInt8)}[role]
        + multiIf(role = 1, gateway, role = 2, auth, role = 3, fraud, card)] AS host,
    host AS pod,
    {role_namespace:Array(String)}[role] AS namespace,
    {step_logger:Array(String)}[step] AS logger,
    concat('tx-', substring(lower(hex(tx)), 1, 12)) AS trace_id,
    -- one concat() per placeholder pattern (PATTERNS): t1..t4 are the template's literal parts
    multiIf(
        pattern = 1, t1,
        pattern = 2, concat(t1, trace_id, t2),
        pattern = 3, concat(t1, toString(reported_ms), t2),
        pattern = 4, concat(t1, 'client-batch-', toString(1 + intDiv(h, 19) % 60), t2),
        pattern = 5, concat(t1, trace_id, t2, toString(reported_ms), t3),
        pattern = 6, concat(t1, trace_id, t2, toString(5 + intDiv(h, 7) % 1495), '.',
                            leftPad(toString(intDiv(h, 11) % 100), 2, '0'), t3),
        pattern = 7, concat(t1, 'm-', toString(10000 + intDiv(h, 13) % 90000), t2, toString(reported_ms), t3),
        pattern = 8, concat(t1, trace_id, t2, score, t3),
        concat(t1, score, t2, trace_id, t3, toString(reported_ms), t4)) AS message,
    {step_signature:Array(String)}[step] AS signature,
    if(duration = 0, NULL, reported_ms) AS duration_ms,
    nullIf({step_status:Array(UInt16)}[step], 0) AS status_code
FROM
(
    SELECT
        *,
        step,
        {step_role:Array(UInt8)}[step] AS role,
        {step_duration:Array(UInt8)}[step] AS duration,
        multiIf(duration = 1, auth_ms, duration = 2, fraud_ms, duration = 3, card_ms, total_ms) AS reported_ms,
        {step_pattern:Array(UInt8)}[step] AS pattern,
        {text1:Array(String)}[step] AS t1,
        {text2:Array(String)}[step] AS t2,
        {text3:Array(String)}[step] AS t3,
        {text4:Array(String)}[step] AS t4,
        concat('0.', leftPad(toString(if(fraud_kind = 1, 81 + intDiv(h, 17) % 17, 1 + intDiv(h, 17) % 35)), 2, '0'))
            AS score
    FROM
    (
        SELECT
            number AS n,
            cityHash64({seed:UInt64}, n) AS h,
            cityHash64({seed:UInt64}, n, 1) AS tx,
            intDiv(n, {per_segment:UInt64}) AS segment,
            {bounds:Array(Int64)}[segment + 1] AS slice_from,
            {bounds:Array(Int64)}[segment + 2] - slice_from AS slice_ms,
            slice_from + intDiv((n - segment * {per_segment:UInt64}) * slice_ms + h % slice_ms, {per_segment:UInt64})
                AS start_ms,
            -- one pod per role among those serving during the request's slice of the day
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 1]
                + 1 + intDiv(h, 3) % {serving_count:Array(UInt8)}[segment * 4 + 1]] AS gateway,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 2]
                + 1 + intDiv(h, 5) % {serving_count:Array(UInt8)}[segment * 4 + 2]] AS auth,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 3]
                + 1 + intDiv(h, 7) % {serving_count:Array(UInt8)}[segment * 4 + 3]] AS fraud,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 4]
                + 1 + intDiv(h, 11) % {serving_count:Array(UInt8)}[segment * 4 + 4]] AS card,
            -- uniform draws in millionths, one independent hash each
            cityHash64({seed:UInt64}, n, 2) % 1000000 AS u_kind,
            cityHash64({seed:UInt64}, n, 3) % 1000000 AS u_fraud,
            cityHash64({seed:UInt64}, n, 4) % 1000000 AS u_card,
            cityHash64({seed:UInt64}, n, 5) % 1000000 AS u_extra,
            multiIf(
                u_fraud < multiIf(start_ms >= {fraud_latency_ms:Int64}, {p_miss_incident:UInt32},
                                  start_ms >= {evictions_ms:Int64}, {p_miss_evicting:UInt32},
                                  {p_miss_baseline:UInt32}), 2,
                u_fraud % 1000 * 1000 < {p_review:UInt32}, 1,
                0) AS fraud_kind,
            multiIf(
                gateway = {breaker_pod:UInt8} AND start_ms >= {breaker_ms:Int64}, 3,
                start_ms >= {timeouts_ms:Int64} AND u_card < {p_timeout:UInt32}, 2,
                u_card % 1000 * 1000 < {p_declined:UInt32}, 1,
                0) AS card_kind,
            if(u_kind < {p_auth_only:UInt32},
               1 + (u_extra < {p_token_expired:UInt32}),
               3 + ((fraud_kind * 4 + card_kind) * 2 + (u_extra < {p_debug:UInt32})) * 2
                 + (u_extra % 1000 * 1000 < {p_retry:UInt32})) AS flow,
            4 + intDiv(h, 23) % 6 AS auth_ms,
            if(fraud_kind = 2, 520 + intDiv(h, 29) % 460, 30 + intDiv(h, 29) % 45) AS fraud_ms,
            multiIf(card_kind = 2, 30000, card_kind = 3, 0, 55 + intDiv(h, 31) % 95) AS card_ms,
            auth_ms + fraud_ms + card_ms + 12 AS total_ms
        FROM numbers_mt({first:UInt64}, {count:UInt64})
    )
    ARRAY JOIN {flows:Array(Array(UInt8))}[flow] AS step
)
-- a request near the end whose later lines would fall after now has not written them yet
WHERE timestamp <= fromUnixTimestamp64Milli({until_ms:Int64}, 'UTC')
"""
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


# -- story rows (Python-side) --------------------------------------------------------------------------

LOG_COLUMNS = (
    "timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message", "duration_ms",
    "status_code",
)  # fmt: skip


def story_records(
    scenario: Scenario, since: datetime, seed: int, slow_queries: Sequence[SlowQueryRow] = ()
) -> list[LogRecord]:
    """Every scenario line in [since, now] plus the day's periodic lines, oldest first, without duplicates.

    A crash record that the scenario also tells as a trace step (tx-abc123's OutOfMemoryError) is kept once,
    with its trace id. Each slow query is also a WARN line of the pod that issued it, as a JDBC driver logs.
    """
    until = scenario.now
    service_of = {pod.name: scenario.workload_of(pod).service for pod in scenario.pods}
    records: list[LogRecord] = list(scenario.story_records())
    for pod in scenario.pods:
        if pod.crash_looping:
            records.extend(scenario.crash_records(pod.name))
        else:
            records.extend(scenario.container_records(pod.name))
    records.extend(periodic_records(scenario, since, seed))
    records.extend(
        LogRecord(q.at, service_of[q.pod], q.pod, "WARN", "SlowQuery",
                  f"Slow query ({q.duration_ms} ms, {q.rows_examined} rows examined): {q.query}", "", q.duration_ms)
        for q in slow_queries
    )  # fmt: skip
    seen: set[tuple[datetime, str, str, str]] = set()
    unique: list[LogRecord] = []
    for record in sorted(records, key=lambda r: (r.at, r.trace_id == "")):  # traced copies first
        key = (record.at, record.host, record.level, record.message)
        if since <= record.at <= until and key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


HOSTILE_REQUESTS = (
    'Rejected request with invalid merchant id "m-1\'; DROP TABLE transactions; --" from 203.0.113.7 (400)',
    'Rejected request with invalid reference "1 OR 1=1" from 198.51.100.23 (400)',
    'Rejected request with invalid currency "USD%\' UNION SELECT card_number FROM cards --" from 203.0.113.9 (400)',
)


def periodic_records(scenario: Scenario, since: datetime, seed: int) -> list[LogRecord]:
    """Lines that repeat through the day and change with the incident (not part of any request)."""
    periodic = _Periodic(scenario, since, random.Random(seed))  # noqa: S311 — simulation noise, not security
    periodic.gc_pauses()
    periodic.redis_evictions()
    periodic.cache_hit_rates()
    periodic.breaker_probes()
    periodic.rejected_requests()
    periodic.connection_pools()
    return periodic.out


class _Periodic:
    def __init__(self, scenario: Scenario, since: datetime, rng: random.Random) -> None:
        self.scenario, self.since, self.rng = scenario, since, rng
        self.tl, self.now = scenario.timeline, scenario.now
        self.breaker = _breaker_pod(scenario)
        self.out: list[LogRecord] = []

    def pods(self, workload: str) -> list[PodState]:
        return [pod for pod in self.scenario.pods if pod.workload == workload]

    def add(self, at: datetime, pod: str, level: Level, logger: str, message: str, ms: int | None = None) -> None:
        service = self.scenario.workload_of(self.scenario.pod(pod)).service
        self.out.append(LogRecord(at, service, pod, level, logger, message, "", ms))

    def every(self, step: timedelta, start: datetime | None = None, end: datetime | None = None) -> Iterable[datetime]:
        at = (start or self.since) + timedelta(milliseconds=self.rng.randint(0, int(step.total_seconds() * 1000) - 1))
        while at < (end or self.now):
            yield at
            at += step

    def gc_pauses(self) -> None:
        """payment-gateway's young-generation GC while serving; longer on abc12 while it serves alone."""
        for pod in self.pods("payment-gateway"):
            window = serving_window(self.scenario, pod, self.since, self.now)
            for at in self.every(timedelta(seconds=30), *window) if window else ():
                alone = self.tl.ghi56_crashloop <= at < self.tl.scale_up and pod.name == self.breaker
                pause = self.rng.randint(120, 260) if alone else self.rng.randint(8, 45)
                heap = self.rng.randint(78, 88) if alone else self.rng.randint(35, 60)
                self.add(at, pod.name, "WARN" if pause > 200 else "INFO", "GC",
                         f"GC pause (G1 Evacuation Pause) {pause}ms, heap {heap}% after", pause)  # fmt: skip

    def redis_evictions(self) -> None:
        """redis-primary evicts keys every 10 s from redis_evictions on."""
        for pod in self.pods("redis-primary"):
            for at in self.every(timedelta(seconds=10), self.tl.redis_evictions + timedelta(seconds=10)):
                keys = self.rng.randint(800, 4200)
                self.add(at, pod.name, "WARN", "redis", f"Evicted {keys} keys in the last 10s (allkeys-lru)")

    def cache_hit_rates(self) -> None:
        """fraud-detection's velocity-cache hit rate per minute and pod: 95 %, falling with the evictions."""
        for pod in self.pods("fraud-detection"):
            for at in self.every(timedelta(minutes=1)):
                level: Level
                if at >= self.tl.fraud_latency:
                    rate, level = self.rng.randint(55, 61), "WARN"
                elif at >= self.tl.redis_evictions:
                    rate, level = self.rng.randint(78, 88), "WARN"
                else:
                    rate, level = self.rng.randint(94, 97), "INFO"
                self.add(at, pod.name, level, "VelocityCache", f"Velocity cache hit rate {rate}% over the last minute")

    def breaker_probes(self) -> None:
        """The open breaker probes the card network every 30 s and stays open."""
        for at in self.every(timedelta(seconds=30), self.tl.breaker_open + timedelta(seconds=30)):
            probe = "Circuit breaker HALF_OPEN for card-network-gateway: probe call timed out, back to OPEN"
            self.add(at, self.breaker, "WARN", "CircuitBreaker", probe)

    def rejected_requests(self) -> None:
        """payment-gateway's request validator rejects the odd hostile request (and logs it verbatim)."""
        for at in self.every(timedelta(hours=3)):
            self.add(at, self.breaker, "WARN", "RequestValidator", self.rng.choice(HOSTILE_REQUESTS))

    def connection_pools(self) -> None:
        """card-network-gateway's connection pool per minute; saturated once calls hang for 30 s."""
        for pod in self.pods("card-network-gateway"):
            for at in self.every(timedelta(minutes=1)):
                busy = at >= self.tl.upstream_timeouts
                active = self.rng.randint(44, 50) if busy else self.rng.randint(3, 14)
                waiting = self.rng.randint(20, 90) if busy else self.rng.randint(0, 3)
                self.add(at, pod.name, "WARN" if busy else "INFO", "Upstream",
                         f"Connection pool: {active}/50 active, {waiting} waiting")  # fmt: skip


def insert_records(client: Client, records: Sequence[LogRecord], namespace_of: Mapping[str, str]) -> None:
    """Insert story rows column-wise; ClickHouse fills `signature` (its DEFAULT is log_signature(message))."""
    columns: list[list[Any]] = [
        [record.at for record in records],
        [record.service for record in records],
        [record.level for record in records],
        [record.host for record in records],
        [record.host for record in records],
        [namespace_of.get(record.host, "") for record in records],
        [record.logger for record in records],
        [record.trace_id for record in records],
        [record.message for record in records],
        [record.duration_ms for record in records],
        [record.status_code for record in records],
    ]
    client.insert("application_logs", columns, column_names=LOG_COLUMNS, column_oriented=True)


# -- slow queries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowQueryRow:
    at: datetime
    service: str
    pod: str
    query: str
    duration_ms: int
    rows_examined: int


def slow_query_rows(scenario: Scenario, since: datetime, seed: int) -> list[SlowQueryRow]:
    """The scenario's slow queries plus the day's routine ones (and the fraud fallback once the cache misses)."""
    rng = random.Random(seed + 1)  # noqa: S311 — simulation noise, not security
    rows = [
        SlowQueryRow(q.at, q.service, q.pod, q.query, q.duration_ms, q.rows_examined) for q in scenario.slow_queries
    ]
    routine = (
        (
            "payment-gateway",
            "SELECT m.*, s.fee_schedule FROM merchants m JOIN settlement_terms s "
            "ON s.merchant_id = m.id WHERE m.id = 'm-{n}'",
        ),
        ("payment-gateway", "UPDATE transactions SET status = 'settled' WHERE batch_id = {n} AND status = 'captured'"),
        ("auth-service", "DELETE FROM sessions WHERE last_seen < now() - interval '1 hour'"),
        (
            "fraud-detection",
            "SELECT card_hash, count(*) FROM transactions WHERE created_at > now() - interval '24 hours' "
            "GROUP BY card_hash HAVING count(*) > {n}",
        ),
    )  # fmt: skip  (the text of logged queries, never run)
    windows = [(pod, scenario.workload_of(pod).service, serving_window(scenario, pod, since, scenario.now))
               for pod in scenario.pods]  # fmt: skip

    def serving(service: str, at: datetime) -> str:
        """A pod of `service` that serves at `at` (a crash-looping or not yet started pod issues no queries)."""
        return rng.choice([pod.name for pod, s, w in windows if s == service and w and w[0] <= at < w[1]])

    at = since + timedelta(minutes=rng.randint(5, 40))
    while at < scenario.now:
        service, query = rng.choice(routine)
        rows.append(SlowQueryRow(at, service, serving(service, at), query.format(n=rng.randint(10, 99_999)),
                                 rng.randint(1000, 2900), rng.randint(20_000, 400_000)))  # fmt: skip
        at += timedelta(minutes=rng.randint(20, 55))
    # once the velocity cache misses, fraud-detection falls back to Postgres for its features
    at = scenario.timeline.fraud_latency + timedelta(seconds=rng.randint(5, 40))
    while at < scenario.now:
        card_hash = f"{rng.getrandbits(64):016x}"
        query = f"SELECT txn_count_1h, amount_sum_24h FROM velocity_features WHERE card_hash = '{card_hash}'"  # noqa: S608 — logged text, never run
        pod = serving("fraud-detection", at)
        rows.append(
            SlowQueryRow(at, "fraud-detection", pod, query, rng.randint(1000, 1900), rng.randint(40_000, 90_000))
        )
        at += timedelta(seconds=rng.randint(40, 110))
    return sorted((row for row in rows if since <= row.at <= scenario.now), key=lambda row: row.at)


def insert_slow_queries(client: Client, rows: Sequence[SlowQueryRow]) -> None:
    columns: list[list[Any]] = [
        [row.at for row in rows],
        [row.service for row in rows],
        [row.pod for row in rows],
        [row.query for row in rows],
        [row.duration_ms for row in rows],
        [row.rows_examined for row in rows],
    ]
    client.insert(
        "slow_queries",
        columns,
        column_names=("timestamp", "service", "pod", "query", "duration_ms", "rows_examined"),
        column_oriented=True,
    )
