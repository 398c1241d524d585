"""The incident scenario: the facts every seeder relies on, determinism, and internal consistency."""

from __future__ import annotations

import copy
import ipaddress
import re
from datetime import UTC, datetime, timedelta

import pytest

from k8s_mcp.config import DEFAULT_ALLOWED_NAMESPACES
from sre_lab.scenario import (
    RunningState,
    Scenario,
    ScenarioDataError,
    SecretKeyRef,
    TerminatedState,
    WaitingState,
    backoff_before_restart,
    build_scenario,
    loader,
    parse_duration,
)

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR) \[[\w.]+\] .+$")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(now=NOW)


def _line_time(line: str) -> datetime:
    return datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# -- determinism and the clock -------------------------------------------------------------------


def test_same_now_and_seed_build_equal_scenarios(scenario: Scenario) -> None:
    again = build_scenario(now=NOW)
    assert again == scenario
    assert again.container_logs("payment-gw-abc12") == scenario.container_logs("payment-gw-abc12")


def test_seed_moves_ids_and_jitter_but_not_the_facts(scenario: Scenario) -> None:
    other = build_scenario(now=NOW, seed=8)
    assert other != scenario
    assert other.pod("payment-gw-def34").uid != scenario.pod("payment-gw-def34").uid
    assert [(p.name, p.node, p.status, p.restarts) for p in other.pods] == [
        (p.name, p.node, p.status, p.restarts) for p in scenario.pods
    ]
    assert other.timeline.scale_up == scenario.timeline.scale_up


def test_now_defaults_to_current_utc_truncated_to_the_second() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    built = build_scenario()
    after = datetime.now(UTC)
    assert before <= built.now <= after
    assert built.now.microsecond == 0
    assert built.now.utcoffset() == timedelta(0)


def test_now_is_truncated_and_must_be_aware() -> None:
    assert build_scenario(now=NOW.replace(microsecond=654321)).now == NOW
    with pytest.raises(ValueError, match="timezone-aware"):
        build_scenario(now=datetime(2026, 11, 26, 14, 23, 30))  # naive on purpose


# -- namespaces, nodes, workloads ----------------------------------------------------------------


def test_namespaces_allowed_and_restricted(scenario: Scenario) -> None:
    allowed = {ns.name for ns in scenario.namespaces if ns.allowed}
    assert allowed == {"payments", "auth", "monitoring", "default"} == set(DEFAULT_ALLOWED_NAMESPACES)
    assert {ns.name for ns in scenario.namespaces if not ns.allowed} == {"kube-system", "vault"}
    # the restricted namespaces hold something worth protecting
    assert scenario.pods_in("kube-system")
    vault = scenario.pod("vault-0")
    assert vault.namespace == "vault"
    env = dict(scenario.workload_of(vault).containers[0].env)
    assert env["VAULT_UNSEAL_KEY"] == SecretKeyRef("vault-unseal-keys", "key-1")


def test_nodes_and_every_pod_placed_on_a_known_node_inside_its_pod_cidr(scenario: Scenario) -> None:
    assert {n.name for n in scenario.nodes} == {"worker-01", "worker-02", "worker-03", "control-plane-01"}
    for pod in scenario.pods:
        node = scenario.node(pod.node)
        assert ipaddress.ip_address(pod.ip) in ipaddress.ip_network(node.pod_cidr), pod.name
    assert len({p.name for p in scenario.pods}) == len(scenario.pods)
    assert len({p.ip for p in scenario.pods}) == len(scenario.pods)


def test_payment_gateway_deployment_spec(scenario: Scenario) -> None:
    w = scenario.workload("payment-gateway")
    assert (w.namespace, w.kind, w.replicas, w.image) == ("payments", "Deployment", 5, "visa/payment-gw:v2.3.1")
    assert w.created == NOW - timedelta(days=45)
    c = w.containers[0]
    assert c.name == "payment-svc"
    assert (c.cpu_request, c.mem_request, c.cpu_limit, c.mem_limit) == ("200m", "256Mi", "500m", "512Mi")
    assert c.liveness is not None and c.readiness is not None
    assert c.liveness.describe() == "http-get http://:8080/health delay=10s timeout=3s period=10s #success=1 #failure=3"
    env = dict(c.env)
    assert env["DB_HOST"] == "pg-primary"
    assert env["REDIS_HOST"] == "redis-primary"
    assert "-Xmx" in str(env["JAVA_OPTS"])
    assert env["DB_PASSWORD"] == SecretKeyRef("payment-db", "password")
    # a literal credential in plain env, for the server's masking
    assert isinstance(env["CARD_NETWORK_API_KEY"], str) and env["CARD_NETWORK_API_KEY"]
    assert c.qos_class == "Burstable"


def test_other_workloads_present(scenario: Scenario) -> None:
    kinds = {(w.namespace, w.name): w.kind for w in scenario.workloads}
    assert kinds[("payments", "fraud-detection")] == "Deployment"
    assert kinds[("payments", "card-network-gateway")] == "Deployment"
    assert kinds[("payments", "redis-primary")] == kinds[("payments", "redis-replica")] == "StatefulSet"
    assert kinds[("auth", "auth-service")] == "Deployment"
    assert {"prometheus", "grafana"} <= {w.name for w in scenario.workloads if w.namespace == "monitoring"}
    assert scenario.pod("fraud-ml-01").workload == "fraud-detection"
    assert scenario.pod("auth-svc-xyz99").workload == "auth-service"
    assert [p.workload for p in scenario.pods_in("auth")].count("auth-service") == 2
    kinds = {w.name: w.kind for w in scenario.workloads if w.kind in ("Job", "CronJob")}
    assert sorted(kinds.values()) == ["CronJob", "CronJob", "Job", "Job", "Job"]  # two CronJobs' last runs, one by hand
    assert kinds["settlement-export"] == kinds["session-cleanup"] == "CronJob" and kinds["ledger-backfill"] == "Job"
    for name in ("redis-primary-0", "redis-replica-0"):
        redis = scenario.pod(name)
        assert redis.status == "Running" and redis.ready
        assert timedelta(days=14) - timedelta(minutes=1) <= NOW - redis.created <= timedelta(days=14)


# -- pods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "node", "status", "ready", "restarts"),
    [
        ("payment-gw-abc12", "worker-01", "Running", True, 0),
        ("payment-gw-def34", "worker-02", "CrashLoopBackOff", False, 47),
        ("payment-gw-ghi56", "worker-01", "CrashLoopBackOff", False, 32),
        ("payment-gw-jkl78", "worker-03", "Running", True, 0),
        ("payment-gw-mno90", "worker-02", "Running", True, 0),
        ("redis-primary-0", "worker-03", "Running", True, 0),
        ("redis-replica-0", "worker-01", "Running", True, 0),
    ],
)
def test_payments_pods(scenario: Scenario, name: str, node: str, status: str, ready: bool, restarts: int) -> None:
    pod = scenario.pod(name)
    assert (pod.namespace, pod.node, pod.status, pod.ready, pod.restarts) == ("payments", node, status, ready, restarts)
    assert pod.ready_text == ("1/1" if ready else "0/1")


def test_crashed_pods_wait_in_crashloop_after_oom_kill(scenario: Scenario) -> None:
    assert {p.name for p in scenario.crashing_pods} == {"payment-gw-def34", "payment-gw-ghi56"}
    def34 = scenario.pod("payment-gw-def34")
    assert def34.ip == "10.244.2.15"
    for pod in scenario.crashing_pods:
        assert isinstance(pod.state, WaitingState)
        assert pod.state.reason == "CrashLoopBackOff"
        assert "back-off 5m0s" in pod.state.message
        assert pod.last_state is not None
        assert (pod.last_state.reason, pod.last_state.exit_code) == ("OOMKilled", 137)
        assert pod.last_state.finished_at == pod.oom_kills[-1]
        assert pod.last_state.started_at == pod.container_starts[-1]
        assert timedelta(0) <= pod.created - scenario.timeline.rollout < timedelta(minutes=1)  # age 3 d


def test_crash_schedule_follows_the_kubelet_backoff(scenario: Scenario) -> None:
    tl = scenario.timeline
    for pod, last_kill in (
        (scenario.pod("payment-gw-def34"), tl.def34_last_oom),
        (scenario.pod("payment-gw-ghi56"), tl.ghi56_last_oom),
    ):
        # one kill per terminated container: the original one, then every restart
        assert len(pod.oom_kills) == pod.restarts + 1
        assert len(pod.container_starts) == pod.restarts
        assert pod.oom_kills[-1] == last_kill
        for restart, (kill_before, start, kill) in enumerate(
            zip(pod.oom_kills[:-1], pod.container_starts, pod.oom_kills[1:], strict=True), start=1
        ):
            wait = start - kill_before
            assert backoff_before_restart(restart) < wait <= backoff_before_restart(restart) + timedelta(seconds=3)
            assert kill - start == timedelta(seconds=12)
    assert NOW - timedelta(hours=4) < tl.def34_crashloop < NOW - timedelta(hours=3, minutes=30)
    assert NOW - timedelta(hours=2, minutes=45) < tl.ghi56_crashloop < NOW - timedelta(hours=2, minutes=15)
    assert NOW - tl.def34_last_oom <= timedelta(minutes=1)


def test_scaled_up_pods_are_as_young_as_the_scale_up(scenario: Scenario) -> None:
    for name in ("payment-gw-jkl78", "payment-gw-mno90"):
        pod = scenario.pod(name)
        assert timedelta(0) <= pod.created - scenario.timeline.scale_up < timedelta(seconds=5)
    for name in ("payment-gw-abc12", "payment-gw-def34", "payment-gw-ghi56"):
        assert NOW - scenario.pod(name).created >= timedelta(days=3) - timedelta(minutes=1)


# -- timeline and events -------------------------------------------------------------------------


def test_timeline_named_moments(scenario: Scenario) -> None:
    tl = scenario.timeline
    assert tl.scale_up == NOW - timedelta(minutes=23)
    assert tl.upstream_timeouts == NOW - timedelta(minutes=20)
    assert tl.breaker_open == NOW - timedelta(minutes=15)
    assert tl.rollout == NOW - timedelta(days=3)
    order = [tl.rollout, tl.def34_crashloop, tl.ghi56_crashloop, tl.scale_up, tl.upstream_timeouts]
    order += [tl.breaker_open, tl.ghi56_last_oom, tl.def34_last_oom, NOW]
    assert order == sorted(order)
    rows = tl.rows()
    assert [at for _, at, _ in rows] == sorted(at for _, at, _ in rows)
    assert {name for name, _, _ in rows} == set(vars(tl)) - {"notes"}
    assert all(what for _, _, what in rows), "every moment says what happens"


def _event(scenario: Scenario, involved: str, reason: str):  # -> TimelineEvent
    matches = [e for e in scenario.events if e.involved == involved and e.reason == reason]
    assert len(matches) == 1, (involved, reason, matches)
    return matches[0]


def test_payments_events(scenario: Scenario) -> None:
    oom = _event(scenario, "pod/payment-gw-def34", "OOMKilled")
    assert (oom.type, oom.message) == ("Warning", "Container payment-svc exceeded memory limit (512Mi)")
    assert NOW - timedelta(minutes=1) <= oom.at <= NOW
    assert oom.count == 48
    assert oom.first == scenario.timeline.def34_crashloop
    assert (oom.host, oom.source, oom.container) == ("worker-02", "kubelet", "payment-svc")

    backoff = _event(scenario, "pod/payment-gw-def34", "BackOff")
    assert backoff.message == "Back-off restarting failed container payment-svc in pod payment-gw-def34"
    assert backoff.count > 100

    assert _event(scenario, "pod/payment-gw-ghi56", "OOMKilled").count == 33
    pulled = _event(scenario, "pod/payment-gw-def34", "Pulled")
    assert pulled.message == "Successfully pulled image visa/payment-gw:v2.3.1"

    scaled = _event(scenario, "deployment/payment-gateway", "ScalingReplicaSet")
    assert scaled.at == NOW - timedelta(minutes=23)
    assert scaled.message.startswith("Scaled up replica set payment-gateway-7d9f8b6c5 to 5")
    assert "from 3" in scaled.message
    assert (scaled.kind, scaled.api_version) == ("Deployment", "apps/v1")


def test_events_are_series_within_the_clock(scenario: Scenario) -> None:
    for event in scenario.events:
        assert event.first <= event.at <= NOW, event
        assert event.count >= 1
        if event.type == "Warning" and event.kind == "Pod":  # a crash loop's series
            assert event.count > 1 and event.first < event.at, event
    pod_names = {p.name for p in scenario.pods}
    for event in scenario.events:
        if event.kind == "Pod" and event.namespace == "payments":
            assert event.name in pod_names
    normal = {e.namespace for e in scenario.events if e.type == "Normal"}
    assert {"payments", "auth", "monitoring"} <= normal


# -- container logs ------------------------------------------------------------------------------


def test_previous_logs_of_def34_hold_the_oom_and_its_stack(scenario: Scenario) -> None:
    lines = scenario.container_logs("payment-gw-def34", previous=True)
    assert len(lines) == len(scenario.crash_loop.sequence) == 13
    assert all(LOG_LINE.match(line) for line in lines), lines
    text = "\n".join(lines)
    expected_in_order = [
        "INFO  [Main] Starting payment-gateway v2.3.1",
        "[DB] Connected to pg-primary:5432",
        "[Redis] Connected to redis-primary:6379",
        "Loading 2.1M transactions into memory for reconciliation",
        "heap usage at 92%",
        "heap usage at 97%",
        "ERROR [BatchReconciliation] java.lang.OutOfMemoryError: Java heap space",
        "  at java.util.ArrayList.grow(ArrayList.java:265)",
        "  at com.visa.payment.BatchReconciliation.loadAllTransactions(BatchReconciliation.java:142)",
        "  at com.visa.payment.BatchReconciliation.run(BatchReconciliation.java:87)",
        "Uncaught exception in thread main — shutting down",
    ]
    positions = [text.index(fragment) for fragment in expected_in_order]
    assert positions == sorted(positions)
    pod = scenario.pod("payment-gw-def34")
    assert pod.last_state is not None
    assert pod.last_state.started_at < _line_time(lines[0]) <= _line_time(lines[-1]) < pod.last_state.finished_at
    # the seed's look: with now 14:23:30, the run logged 14:23:01 … 14:23:11
    assert lines[0].startswith("2026-11-26T14:23:01.000Z INFO  [Main] Starting payment-gateway v2.3.1")
    assert lines[-1].startswith("2026-11-26T14:23:11.000Z ERROR [Main] Uncaught exception")


def test_current_logs_of_crashed_pods_are_a_short_startup(scenario: Scenario) -> None:
    for pod in scenario.crashing_pods:
        lines = scenario.container_logs(pod.name)
        assert 3 <= len(lines) <= 5
        assert "Starting payment-gateway v2.3.1" in lines[0]
        assert not any("OutOfMemoryError" in line for line in lines)


def test_healthy_pods_have_no_previous_logs(scenario: Scenario) -> None:
    with pytest.raises(LookupError, match='previous terminated container "payment-svc" in pod "payment-gw-abc12"'):
        scenario.container_logs("payment-gw-abc12", previous=True)


def test_healthy_pod_logs_are_startup_health_checks_and_its_story(scenario: Scenario) -> None:
    pod = scenario.pod("payment-gw-abc12")
    assert isinstance(pod.state, RunningState)
    lines = scenario.container_logs(pod.name)
    assert all(LOG_LINE.match(line) for line in lines)
    times = [_line_time(line) for line in lines]
    assert times == sorted(times)
    assert pod.state.started_at <= times[0] and times[-1] <= NOW
    assert "Starting payment-gateway v2.3.1" in lines[0]
    assert sum("[HealthCheck] All checks passed" in line for line in lines) > 200  # every 15 min for 3 days
    text = "\n".join(lines)
    assert "Transaction tx-def456 failed: upstream timeout (30s)" in text
    assert "Circuit breaker OPEN for card-network-gateway (12/10 failures)" in text
    assert "OutOfMemoryError" not in text


def test_every_pod_has_logs_in_kubectl_format(scenario: Scenario) -> None:
    for pod in scenario.pods:
        for line in scenario.container_logs(pod.name):
            assert LOG_LINE.match(line), (pod.name, line)
            assert _line_time(line) <= NOW


def test_crash_records_one_oom_sequence_per_kill(scenario: Scenario) -> None:
    pod = scenario.pod("payment-gw-def34")
    records = scenario.crash_records(pod.name)
    ooms = [r for r in records if r.message == "java.lang.OutOfMemoryError: Java heap space"]
    assert len(ooms) == len(pod.oom_kills)
    for record, kill in zip(ooms, pod.oom_kills, strict=True):
        assert record.at == kill - timedelta(seconds=1)
        assert (record.service, record.host, record.level) == ("payment-gateway", pod.name, "ERROR")
    starts = [r for r in records if r.message == "Starting payment-gateway v2.3.1"]
    assert len(starts) == pod.restarts  # the first container started 3 days ago, before the job


# -- traces, notable lines, slow queries ----------------------------------------------------------


def test_trace_and_story_hosts_are_pods_of_the_right_service(scenario: Scenario) -> None:
    assert {t.trace_id for t in scenario.traces} == {"tx-abc123", "tx-def456", "tx-good01", "tx-good02"}
    for record in scenario.story_records():
        pod = scenario.pod(record.host)  # raises if the host is not a pod
        assert scenario.workload_of(pod).service == record.service
        assert record.at <= NOW
    # the course's log hosts are pods
    hosts = {r.host for r in scenario.story_records()}
    assert {"fraud-ml-01", "auth-svc-xyz99", "payment-gw-def34", "payment-gw-abc12"} <= hosts


def test_tx_abc123_is_the_oom_on_def34(scenario: Scenario) -> None:
    steps = scenario.trace("tx-abc123").records()
    by_message = {r.message: r for r in steps}
    inference = by_message["Model inference latency 890ms (threshold 500ms)"]
    assert (inference.service, inference.host, inference.level) == ("fraud-detection", "fraud-ml-01", "WARN")
    miss = by_message["Unable to fetch velocity data from Redis — cache miss"]
    assert (miss.host, miss.level) == ("fraud-ml-01", "ERROR")
    oom = by_message["java.lang.OutOfMemoryError: Java heap space"]
    assert (oom.host, oom.service) == ("payment-gw-def34", "payment-gateway")
    assert by_message["BatchReconciliation.loadAllTransactions failed"].level == "ERROR"
    # the trace's OOM is the one the container printed in its last run
    previous = scenario.container_logs("payment-gw-def34", previous=True)
    oom_line = next(line for line in previous if "OutOfMemoryError" in line)
    assert _line_time(oom_line) == oom.at


def test_tx_def456_times_out_just_before_the_breaker_opens(scenario: Scenario) -> None:
    steps = scenario.trace("tx-def456").records()
    failed = steps[-1]
    assert failed.message == "Transaction tx-def456 failed: upstream timeout (30s)"
    assert (failed.host, failed.level, failed.status_code) == ("payment-gw-abc12", "ERROR", 504)
    assert any(r.service == "card-network-gateway" for r in steps)
    assert scenario.timeline.breaker_open - failed.at == timedelta(milliseconds=1333)
    breaker = [r for r in scenario.notable_logs if "Circuit breaker OPEN" in r.message]
    assert [r.at for r in breaker] == [scenario.timeline.breaker_open]


@pytest.mark.parametrize(
    ("trace_id", "host", "ms"), [("tx-good01", "payment-gw-abc12", 145), ("tx-good02", "payment-gw-mno90", 167)]
)
def test_good_transactions_cross_every_service(scenario: Scenario, trace_id: str, host: str, ms: int) -> None:
    steps = scenario.trace(trace_id).records()
    assert {r.service for r in steps} == {"payment-gateway", "auth-service", "fraud-detection", "card-network-gateway"}
    assert all(r.level == "INFO" for r in steps)
    done = steps[-1]
    assert done.message == f"Transaction {trace_id} completed successfully in {ms}ms"
    assert (done.host, done.duration_ms) == (host, ms)
    assert done.at - steps[0].at == timedelta(milliseconds=ms)
    # before the card network slowed down, after the new replicas came up
    assert scenario.timeline.scale_up < steps[0].at < scenario.timeline.upstream_timeouts


def test_slow_queries(scenario: Scenario) -> None:
    queries = {q.duration_ms: q for q in scenario.slow_queries}
    assert set(queries) == {12_500, 8_700, 5_200}
    recon = queries[12_500]
    assert recon.query == "SELECT * FROM transactions WHERE created_at > '2026-11-25'"
    assert (recon.rows_examined, recon.service, recon.pod) == (2_100_000, "payment-gateway", "payment-gw-def34")
    assert "JOIN customers" in queries[8_700].query and queries[8_700].rows_examined == 450_000
    fraud = queries[5_200]
    assert fraud.query.startswith("UPDATE fraud_scores") and fraud.service == "fraud-detection"
    assert fraud.rows_examined == 180_000
    for q in scenario.slow_queries:
        assert NOW - timedelta(hours=1) < q.at < NOW
        assert scenario.workload_of(scenario.pod(q.pod)).service == q.service


# -- the data file and its loader ------------------------------------------------------------------


def test_durations_and_time_expressions() -> None:
    assert parse_duration("21m30s") == timedelta(minutes=21, seconds=30)
    assert parse_duration("9176ms") == timedelta(milliseconds=9176)
    assert parse_duration("3d") == timedelta(days=3)
    for bad in ("", "3", "3w", "3d-1h", "1h 2m"):
        with pytest.raises(ScenarioDataError, match="not a duration"):
            parse_duration(bad)


def test_derived_moments_come_from_the_crash_schedule(scenario: Scenario) -> None:
    def34 = scenario.pod("payment-gw-def34")
    assert scenario.timeline.def34_crashloop == def34.oom_kills[0]
    assert scenario.timeline.def34_last_oom == def34.oom_kills[-1] == NOW - timedelta(seconds=18)
    abc = scenario.trace("tx-abc123")
    # the trace's base is written as def34's last start + 9176 ms in the data
    assert abc.base == def34.container_starts[-1] + timedelta(milliseconds=9176)


def test_an_unknown_moment_in_the_data_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = copy.deepcopy(loader.incident_data())
    data["pods"][0]["created"] = "rolout+5s"  # a typo
    monkeypatch.setattr(loader, "incident_data", lambda: data)
    with pytest.raises(ScenarioDataError, match="unknown moment 'rolout'"):
        build_scenario(now=NOW)


def test_job_pods_ran_to_their_end(scenario: Scenario) -> None:
    attempts = [p for p in scenario.pods if p.workload == "ledger-backfill"]
    assert [(p.phase, p.status, p.ready, p.restarts) for p in attempts] == [("Failed", "Error", False, 0)] * 2
    first, retry = (p.state for p in attempts)
    assert isinstance(first, TerminatedState) and isinstance(retry, TerminatedState)
    assert retry.started_at - first.finished_at >= timedelta(seconds=10), "the Job controller backs off before a retry"
    job = scenario.workload("ledger-backfill")
    assert job.batch is not None and job.batch.outcome == "Failed" and job.batch.finished > retry.finished_at
    logs = scenario.container_logs(attempts[0].name)
    assert logs[-1].endswith("Backfill aborted after 0 of 1284310 rows") and len(logs) == 4
    export = next(p for p in scenario.pods if p.workload.startswith("settlement-export-"))
    assert (export.phase, export.status) == ("Succeeded", "Completed")
