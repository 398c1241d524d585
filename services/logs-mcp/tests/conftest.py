"""A small log store with known content, in the real embedded engine (chDB), one directory per test module.

chDB runs one engine per process: a module opens its directory, and closes every client before the next
module opens another. Helpers are fixtures, not imports (test directories share module names).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from logs_mcp.config import LogsSettings
from logs_mcp.store import LogStore, apply_schema, connect

REPO = Path(__file__).resolve().parents[3]
STANDIN = REPO / ".ci" / "stack" / "clickhouse-standin" / "server.py"
PASSWORDS = {"lab_writer": "writer-secret", "logs_reader": "reader-secret"}
NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
BULK_ROWS = 3000  # INFO request lines spread over the last 24 h
INJECTION_LINE = 'Rejected request with invalid merchant id "m-1\'; DROP TABLE transactions; --" from 203.0.113.7 (400)'
UNICODE_LINE = "Zahlung für Müller über 12,50 € abgelehnt — 支付失败"
SLOW_QUERY_LINE = (
    "Slow query (5200 ms, 180000 rows examined): UPDATE fraud_scores SET recalculated=true WHERE checked_at < now()"
)

# (ago, service, host, level, logger, trace_id, message, duration_ms, status_code)
Known = tuple[timedelta, str, str, str, str, str, str, int | None, int | None]
M, S, MS = timedelta(minutes=1), timedelta(seconds=1), timedelta(milliseconds=1)
PAY, AUTH, FRAUD = "payment-gateway", "auth-service", "fraud-detection"
OOM = "java.lang.OutOfMemoryError: Java heap space"
KNOWN: tuple[Known, ...] = (
    (10 * M, PAY, "payment-gw-def34", "ERROR", "BatchReconciliation", "", OOM, None, None),
    (5 * M, PAY, "payment-gw-def34", "ERROR", "BatchReconciliation", "", OOM, None, None),
    (1 * M, PAY, "payment-gw-ghi56", "ERROR", "BatchReconciliation", "", OOM, None, None),
    # tx-abc123: 0 ms processing, 6 ms token, 890 ms slow inference, 2 s cache miss, 3 s upstream timeout
    (3 * M, PAY, "payment-gw-def34", "INFO", "PaymentService", "tx-abc123",
     "Processing transaction tx-abc123 (249.99 USD)", None, None),
    (3 * M - 6 * MS, AUTH, "auth-svc-xyz99", "INFO", "TokenService", "tx-abc123",
     "Token validated for merchant m-10442 in 6ms", 6, 200),
    (3 * M - 890 * MS, FRAUD, "fraud-ml-01", "WARN", "Inference", "tx-abc123",
     "Model inference latency 890ms (threshold 500ms)", 890, 200),
    (3 * M - 2 * S, FRAUD, "fraud-ml-01", "ERROR", "VelocityCache", "tx-abc123",
     "Unable to fetch velocity data from Redis — cache miss", None, None),
    (3 * M - 3 * S, PAY, "payment-gw-def34", "ERROR", "PaymentService", "tx-abc123",
     "Transaction tx-abc123 failed: upstream timeout (30s)", 30072, 504),
    # an error of both windows: two in the hour before, one in the last hour
    (70 * M, AUTH, "auth-svc-xyz99", "ERROR", "Http", "", "Connection reset by peer 10.0.0.7:443", None, None),
    (65 * M, AUTH, "auth-svc-uvw77", "ERROR", "Http", "", "Connection reset by peer 10.0.0.8:443", None, None),
    (30 * M, AUTH, "auth-svc-xyz99", "ERROR", "Http", "", "Connection reset by peer 10.0.0.9:443", None, None),
    # text a keyword must match literally
    (40 * M, PAY, "payment-gw-abc12", "INFO", "Pricing", "", "Discount 100% applied to order_id 42", None, None),
    (41 * M, PAY, "payment-gw-abc12", "INFO", "Pricing", "", "Discount 10 applied to order 43", None, None),
    (42 * M, AUTH, "auth-svc-xyz99", "INFO", "Login", "", "User O'Brien logged in", None, None),
    (43 * M, PAY, "payment-gw-abc12", "WARN", "RequestValidator", "", INJECTION_LINE, None, 400),
    (44 * M, FRAUD, "fraud-ml-02", "WARN", "SlowQuery", "", SLOW_QUERY_LINE, 5200, None),
    (45 * M, PAY, "payment-gw-abc12", "WARN", "Payment", "", UNICODE_LINE, None, None),
    (46 * M, PAY, "payment-gw-abc12", "INFO", "Export", "", "Wrote report to C:\\temp\\new_report.csv", None, None),
    (47 * M, FRAUD, "fraud-ml-02", "DEBUG", "Inference", "", "Feature vector built (42 features)", None, None),
    # a real-world service name: capitals, dots and underscores
    (3 * 60 * M, "Checkout.Service_v2", "checkout-7d9f", "INFO", "Cart", "", "Cart 42 checked out", None, None),
)  # fmt: skip
TIMEOUTS = 20  # "Transaction tx-t<i> failed: upstream timeout (30s)" on payment-gw-abc12, every 10 s from T-10 min

# (ago, service, pod, query, duration_ms, rows_examined)
SLOW: tuple[tuple[timedelta, str, str, str, int, int], ...] = (
    (5 * M, PAY, "payment-gw-def34", "SELECT * FROM transactions WHERE created_at > '2026-11-25'", 12500, 2_100_000),
    (13 * M, PAY, "payment-gw-abc12",
     "SELECT t.*, c.name FROM transactions t JOIN customers c ON t.customer_id = c.id", 8700, 450_000),
    (28 * M, FRAUD, "fraud-ml-02",
     "UPDATE fraud_scores SET recalculated=true WHERE checked_at < now() - INTERVAL 24 HOUR", 5200, 180_000),
    (50 * M, AUTH, "auth-svc-xyz99", "DELETE FROM sessions WHERE last_seen < now() - interval '1 hour'", 900, 20_000),
)  # fmt: skip

COLUMNS = ("timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message",
           "duration_ms", "status_code")  # fmt: skip


def write_known_dataset(client: Client) -> None:
    """Apply the schema and write the known rows: bulk traffic, the KNOWN lines, TIMEOUTS, the SLOW queries."""
    apply_schema(client, "logs")
    client.command("TRUNCATE TABLE application_logs")
    client.command("TRUNCATE TABLE slow_queries")
    client.command(
        """
        INSERT INTO application_logs (timestamp, service, level, host, pod, namespace, logger, trace_id, message,
                                      duration_ms, status_code)
        SELECT
            fromUnixTimestamp64Milli(
                {now_ms:Int64} - 86400000 + intDiv((number + 1) * 86400000, {n:UInt64}) - 1, 'UTC'),
            ['payment-gateway', 'auth-service', 'fraud-detection'][number % 3 + 1],
            'INFO',
            [['payment-gw-abc12', 'payment-gw-jkl78'], ['auth-svc-xyz99', 'auth-svc-uvw77'],
             ['fraud-ml-01', 'fraud-ml-02']][number % 3 + 1][intDiv(number, 3) % 2 + 1],
            '', if(number % 3 = 1, 'auth', 'payments'), 'PaymentService',
            concat('tx-b', toString(number)),
            concat('Transaction tx-b', toString(number), ' completed successfully in ',
                   toString(100 + number % 90), 'ms'),
            100 + number % 90, 200
        FROM numbers({n:UInt64})
        """,
        parameters={"now_ms": int(NOW.timestamp() * 1000), "n": BULK_ROWS},
    )
    rows = [
        (NOW - ago, service, level, host, host, "auth" if service == "auth-service" else "payments", logger, trace,
         message, duration, status)
        for ago, service, host, level, logger, trace, message, duration, status in KNOWN
    ]  # fmt: skip
    rows += [
        (NOW - timedelta(minutes=10) + i * timedelta(seconds=10), PAY, "ERROR", "payment-gw-abc12",
         "payment-gw-abc12", "payments", "PaymentService", f"tx-t{i}",
         f"Transaction tx-t{i} failed: upstream timeout (30s)", 30000 + i, 504)
        for i in range(TIMEOUTS)
    ]  # fmt: skip
    client.insert("application_logs", rows, column_names=COLUMNS)
    client.insert(
        "slow_queries",
        [(NOW - ago, service, pod, query, ms, examined) for ago, service, pod, query, ms, examined in SLOW],
        column_names=("timestamp", "service", "pod", "query", "duration_ms", "rows_examined"),
    )


@dataclass(frozen=True)
class KnownStore:
    settings: LogsSettings
    store: LogStore
    clock: Callable[[], datetime]


@pytest.fixture(scope="session")
def known_dataset() -> Callable[[Path], LogsSettings]:
    """Write the known dataset into a fresh directory (and close it); return settings pointing there."""

    def build(data_dir: Path) -> LogsSettings:
        settings = LogsSettings(data_dir=data_dir)
        client = connect(settings, writer=True)
        try:
            write_known_dataset(client)
        finally:
            client.close()
        return settings

    return build


@pytest.fixture(scope="session")
def write_known() -> Callable[[Client], None]:
    """`write_known_dataset`, for a test that writes the known dataset through a client of its own (a server's)."""
    return write_known_dataset


@pytest.fixture(scope="session")
def known_clock() -> Callable[[], datetime]:
    """The known dataset's "now"."""
    return lambda: NOW


@pytest.fixture(scope="module")
def known(
    tmp_path_factory: pytest.TempPathFactory, known_dataset: Callable[[Path], LogsSettings]
) -> Iterator[KnownStore]:
    """The known dataset, open read-only for this module; closed after its last test."""
    settings = known_dataset(tmp_path_factory.mktemp("logs") / "clickhouse")
    store = LogStore.open(settings)
    try:
        yield KnownStore(settings, store, lambda: NOW)
    finally:
        store.close()


@dataclass(frozen=True)
class Standin:
    url: str

    def settings(self, user: str, **overrides: Any) -> LogsSettings:
        """Settings for one of the lab's users (lab_writer, logs_reader) on this server."""
        password = PASSWORDS[user]
        return LogsSettings(clickhouse_url=self.url, clickhouse_user=user, clickhouse_password=password, **overrides)


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    """A ClickHouse HTTP server: `make test-stack`'s stand-in (.ci/stack/clickhouse-standin, ClickHouse's HTTP
    interface over chDB) in a subprocess that owns its own directory, with the compose lab's users file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "CLICKHOUSE_WRITER_PASSWORD": PASSWORDS["lab_writer"],
        "CLICKHOUSE_READER_PASSWORD": PASSWORDS["logs_reader"],
        "STANDIN_DATA_DIR": str(tmp_path_factory.mktemp("standin") / "clickhouse"),
        "STANDIN_USERS_FILE": str(REPO / "services" / "clickhouse" / "users.d" / "lab-users.xml"),
        "STANDIN_PORT": str(port),
    }
    process = subprocess.Popen([sys.executable, str(STANDIN)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once chDB is open and the socket listens
        assert f"http on :{port}" in line, f"the stand-in did not start: {line}{process.stderr.read()}"
        yield Standin(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
