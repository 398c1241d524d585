"""The incident's logs: written from the scenario into the real embedded store, deterministic, replaced on
re-seeding, and telling the scenario's story through logs-mcp's own tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from mcp import Client as McpClient

from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from logs_mcp.store import LogStore
from sre_lab.loggen import SeedReport, open_log_store, seed_logs
from sre_lab.scenario import Scenario, build_scenario
from sre_lab.traffic import PATTERNS, STEPS, flows, template_parts

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
ROWS = 200_000


@dataclass
class Seeded:
    scenario: Scenario
    settings: LogsSettings
    client: Client
    report: SeedReport


def fingerprint(client: Client) -> tuple[Any, ...]:
    return (
        client.query("SELECT count(), sum(cityHash64(*)) FROM application_logs").result_rows[0],
        client.query("SELECT count(), sum(cityHash64(*)) FROM slow_queries").result_rows[0],
    )


def rows(client: Client, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
    return client.query(sql, parameters=parameters).result_rows


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    scenario = build_scenario(now=NOW)
    settings = LogsSettings(data_dir=tmp_path_factory.mktemp("lab") / "clickhouse")
    client = open_log_store(settings)
    try:
        report = seed_logs(client, scenario, rows=ROWS, progress=True)
        yield Seeded(scenario, settings, client, report)
    finally:
        client.close()


def test_report_matches_the_store_and_the_requested_volume(seeded: Seeded) -> None:
    report = seeded.report
    count, _ = fingerprint(seeded.client)[0]
    assert report.rows == count == report.story_rows + report.traffic_rows
    assert abs(report.rows - ROWS) / ROWS < 0.1
    assert report.slow_queries == rows(seeded.client, "SELECT count() FROM slow_queries")[0][0]
    assert report.until == NOW and (report.until - report.since).total_seconds() == 86400
    assert report.rows_per_s > 0


def test_reseeding_is_deterministic_and_replaces_instead_of_adding(seeded: Seeded) -> None:
    before = fingerprint(seeded.client)
    seed_logs(seeded.client, seeded.scenario, rows=ROWS, progress=False)
    assert fingerprint(seeded.client) == before, "same scenario, rows and seed: the same rows, once"
    seed_logs(seeded.client, seeded.scenario, rows=ROWS, seed=99, progress=False)
    other = fingerprint(seeded.client)
    assert other != before and abs(other[0][0] - before[0][0]) / before[0][0] < 0.02
    seed_logs(seeded.client, seeded.scenario, rows=ROWS, progress=False)
    assert fingerprint(seeded.client) == before


def test_the_scenario_traces_are_in_the_logs_as_told(seeded: Seeded) -> None:
    for trace in seeded.scenario.traces:
        logged = rows(
            seeded.client,
            "SELECT timestamp, service, host, level, message FROM application_logs WHERE trace_id = {t:String} "
            "ORDER BY timestamp, service",
            t=trace.trace_id,
        )
        told = sorted((r.at.replace(tzinfo=None), r.service, r.host, r.level, r.message) for r in trace.records())
        assert logged == told, trace.trace_id


def test_crash_loops_breaker_and_slow_queries_come_from_the_scenario(seeded: Seeded) -> None:
    scenario, client = seeded.scenario, seeded.client
    for pod in scenario.crashing_pods:
        ooms = rows(
            client,
            "SELECT count() FROM application_logs WHERE host = {p:String} "
            "AND message = 'java.lang.OutOfMemoryError: Java heap space'",
            p=pod.name,
        )[0][0]
        assert ooms == len([k for k in pod.oom_kills if k >= seeded.report.since]), pod.name
    breaker = rows(client, "SELECT timestamp, host FROM application_logs WHERE message LIKE 'Circuit breaker OPEN%'")
    assert breaker == [(scenario.timeline.breaker_open.replace(tzinfo=None), "payment-gw-abc12")]
    logged = set(rows(client, "SELECT query, duration_ms, pod FROM slow_queries"))
    assert {(q.query, q.duration_ms, q.pod) for q in scenario.slow_queries} <= logged
    slowest = rows(client, "SELECT query FROM slow_queries ORDER BY duration_ms DESC LIMIT 3")
    assert [q for (q,) in slowest] == [q.query for q in sorted(scenario.slow_queries, key=lambda q: -q.duration_ms)]


def test_traffic_follows_the_pods_and_the_incident(seeded: Seeded) -> None:
    scenario, client, tl = seeded.scenario, seeded.client, seeded.scenario.timeline
    pods = {pod.name for pod in scenario.pods}
    assert {host for (host,) in rows(client, "SELECT DISTINCT host FROM application_logs")} <= pods
    assert rows(client, "SELECT max(timestamp) <= {now:DateTime64(3, 'UTC')} FROM application_logs", now=NOW) == [(1,)]
    for name in ("payment-gw-def34", "payment-gw-ghi56"):  # no requests once the crash loop starts
        served = rows(
            client,
            "SELECT count() FROM application_logs WHERE host = {p:String} AND logger = 'PaymentService' "
            "AND trace_id NOT IN ('tx-abc123') AND timestamp >= {t:DateTime64(3, 'UTC')}",
            p=name,
            t=scenario.pod(name).oom_kills[0],
        )[0][0]
        assert served == 0, name
    early = rows(
        client,
        "SELECT count() FROM application_logs WHERE host IN ('payment-gw-jkl78', 'payment-gw-mno90') "
        "AND timestamp < {t:DateTime64(3, 'UTC')}",
        t=tl.scale_up,
    )[0][0]
    assert early == 0
    phases = dict(
        rows(
            client,
            "SELECT multiIf(timestamp < {e:DateTime64(3, 'UTC')}, 'before', timestamp >= {f:DateTime64(3, 'UTC')}, "
            "'incident', 'evicting') AS phase, countIf(message LIKE '%cache miss') / countIf(logger = 'Inference' "
            "AND message LIKE 'Fraud score%') FROM application_logs WHERE service = 'fraud-detection' GROUP BY phase",
            e=tl.redis_evictions,
            f=tl.fraud_latency,
        )
    )
    assert phases["before"] < 0.02 and phases["incident"] > 0.3
    first = dict(
        rows(
            client,
            "SELECT signature, min(timestamp) FROM application_logs WHERE level = 'ERROR' AND trace_id LIKE 'tx-%' "
            "AND length(trace_id) = 15 GROUP BY signature",
        )
    )
    assert first["Transaction <id> failed: upstream timeout (<duration>)"] >= tl.upstream_timeouts.replace(tzinfo=None)
    rejected = rows(
        client,
        "SELECT min(timestamp), groupUniqArray(host) FROM application_logs "
        "WHERE message LIKE '%rejected: circuit breaker%'",
    )[0]
    assert rejected[0] >= tl.breaker_open.replace(tzinfo=None) and rejected[1] == ["payment-gw-abc12"]


def test_signatures_are_the_stores_own_and_templates_fit_the_patterns(seeded: Seeded) -> None:
    assert rows(seeded.client, "SELECT count() FROM application_logs WHERE signature != log_signature(message)") == [
        (0,)
    ]
    assert all(template_parts(step.template)[0] <= len(PATTERNS) for step in STEPS.values())
    assert len(flows()) == 2 + 3 * 4 * 2 * 2


@pytest.mark.anyio
async def test_logs_mcp_finds_the_incident(seeded: Seeded) -> None:
    store = LogStore.open(seeded.settings)
    try:
        server = create_server(seeded.settings, store, clock=lambda: NOW)
        async with McpClient(server) as client:
            timeline = (await client.call_tool("error_timeline", {})).structured_content
            errors = (await client.call_tool("count_errors", {"group_by": "message"})).structured_content
            injection = (
                await client.call_tool("search_logs", {"keyword": "DROP TABLE", "time_range": "24h"})
            ).structured_content
            trace = (await client.call_tool("trace_transaction", {"trace_id": "tx-def456"})).structured_content
            slow = (await client.call_tool("get_slow_queries", {"limit": 3})).structured_content
    finally:
        store.close()
    tl = seeded.scenario.timeline
    rise = datetime.fromisoformat(timeline["first_rise"]["at"].replace("Z", "+00:00"))
    assert tl.redis_evictions.replace(second=0) <= rise <= tl.upstream_timeouts
    keys = [group["key"] for group in errors["groups"]]
    assert "Unable to fetch velocity data from Redis — cache miss" in keys[:3]
    assert "Transaction <id> rejected: circuit breaker OPEN for card-network-gateway" in keys
    assert injection["count"] >= 1 and all("DROP TABLE" in line["message"] for line in injection["lines"])
    assert trace["first_error"]["service"] == "card-network-gateway" and trace["duration_ms"] == 30_072
    assert [q["duration_ms"] for q in slow["queries"]] == [12_500, 8_700, 5_200]
