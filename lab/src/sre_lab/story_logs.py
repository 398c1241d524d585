"""The story rows of the log store, built in Python: every line the scenario defines, the periodic lines that
change with the incident, and the slow queries (as rows of their own table and as the WARN line their pod logged)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from sre_lab.scenario import Level, LogRecord, PodState, Scenario
from sre_lab.traffic import breaker_pod, serving_window

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
        self.breaker = breaker_pod(scenario)
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
    """Insert the story rows, with their signatures.

    The signature is the store's own `log_signature(message)` (the column's DEFAULT), asked once per distinct
    message: the story's 16 k lines hold about 1.6 k messages, and the signature's regex rules are most of an
    insert's cost when the column is left to its DEFAULT.
    """
    distinct = sorted({record.message for record in records})
    result = client.query(
        "SELECT arrayMap(m -> log_signature(m), {messages:Array(String)})", parameters={"messages": distinct}
    )
    signature_of = dict(zip(distinct, result.result_rows[0][0], strict=True))
    rows = (
        (_timestamp(r.at), r.service, r.level, r.host, r.host, namespace_of.get(r.host, ""), r.logger, r.trace_id,
         r.message, r.duration_ms, r.status_code, signature_of[r.message])
        for r in records
    )  # fmt: skip
    insert_rows(client, "application_logs", (*LOG_COLUMNS, "signature"), rows)


def insert_rows(client: Client, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` (values in the order of `columns`) as JSON lines through `raw_insert`.

    Not `client.insert`: clickhouse-connect imports pandas on every insert (to ask whether the data is a
    DataFrame), 0.2 s of CPU alone and several times that under `sre-lab up`'s other imports, on the log
    seeding's critical path. JSON escapes every value; ClickHouse parses them into the columns' types.
    """
    lines = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    client.raw_insert(table, columns, lines.encode("utf-8"), fmt="JSONCompactEachRow")


def _timestamp(at: datetime) -> str:
    """A DateTime64(3, 'UTC') value as ClickHouse reads it from text: UTC, milliseconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


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
    insert_rows(
        client,
        "slow_queries",
        ("timestamp", "service", "pod", "query", "duration_ms", "rows_examined"),
        ((_timestamp(row.at), row.service, row.pod, row.query, row.duration_ms, row.rows_examined) for row in rows),
    )
