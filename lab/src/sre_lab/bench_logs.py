"""The logs benchmark: `python -m sre_lab.bench_logs [--rows 10000000] [--out .lab/bench/logs.json]`.

1. Seeds `--rows` incident rows with `sre_lab.loggen` into its own store (`.lab/bench/clickhouse`, never the
   lab's data) and records the generator's rows/s;
2. measures the reference the generator is held to: a plain `INSERT … SELECT FROM numbers()` of rows of the
   same shape, into the same columns without indexes or projection, and into the real table;
3. measures the table's own ceiling: the generator's rows, already in memory, inserted again into a fresh
   copy of application_logs and into the same columns without the skip indexes and projection (no generation
   at all: what storing the rows costs);
4. measures every tool through a real MCP stdio session (`logs_mcp.bench`, which lives with the server and
   never imports the lab; the lab may import the server).

Everything is written as JSON; a table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from clickhouse_connect.driver.client import Client

from logs_mcp import bench
from logs_mcp.config import LogsSettings
from sre_lab.loggen import open_log_store, seed_logs, wait_for_merges
from sre_lab.scenario import build_scenario
from sre_lab.traffic import INSERT_SETTINGS

DEFAULT_ROWS = 10_000_000
BENCH_DIR = Path(".lab/bench/clickhouse")

# The reference rows: the columns of application_logs, a request line each, formatted by one concat().
PLAIN_COLUMNS = """
    timestamp DateTime64(3, 'UTC') CODEC(Delta, LZ4), service LowCardinality(String), level LowCardinality(String),
    host LowCardinality(String), pod LowCardinality(String), namespace LowCardinality(String),
    logger LowCardinality(String), trace_id String, message String, signature LowCardinality(String),
    duration_ms Nullable(UInt32), status_code Nullable(UInt16)
"""
PLAIN_SELECT = """
SELECT
    fromUnixTimestamp64Milli({start_ms:Int64} + intDiv(number * 86400000, {rows:UInt64}), 'UTC'),
    ['payment-gateway', 'auth-service', 'fraud-detection', 'card-network-gateway'][number % 4 + 1],
    'INFO',
    ['payment-gw-abc12', 'auth-svc-xyz99', 'fraud-ml-01', 'card-net-gw-q7r2x'][number % 4 + 1],
    ['payment-gw-abc12', 'auth-svc-xyz99', 'fraud-ml-01', 'card-net-gw-q7r2x'][number % 4 + 1],
    'payments',
    'PaymentService',
    concat('tx-', substring(lower(hex(cityHash64(intDiv(number, 5)))), 1, 12)),
    concat('Transaction tx-', substring(lower(hex(cityHash64(intDiv(number, 5)))), 1, 12),
           ' completed successfully in ', toString(100 + number % 90), 'ms'),
    'Transaction <id> completed successfully in <duration>',
    100 + number % 90,
    200
FROM numbers({rows:UInt64})
"""


def plain_insert_rate(client: Client, rows: int, *, into_schema: bool) -> float:
    """Rows/s of the reference insert: into a bare copy of the columns, or into application_logs itself."""
    if into_schema:
        table = "application_logs"
        client.command("TRUNCATE TABLE application_logs")
    else:
        table = "bench_plain"
        client.command("DROP TABLE IF EXISTS bench_plain")
        client.command(
            f"CREATE TABLE bench_plain ({PLAIN_COLUMNS}) ENGINE = MergeTree PARTITION BY toDate(timestamp) "
            "ORDER BY timestamp"
        )
    started = time.perf_counter()
    client.command(
        f"INSERT INTO {table} (timestamp, service, level, host, pod, namespace, logger, trace_id, message, signature, "
        f"duration_ms, status_code) {PLAIN_SELECT}",
        parameters={"rows": rows, "start_ms": int(time.time() * 1000) - 86_400_000},
        settings=INSERT_SETTINGS,
    )
    elapsed = time.perf_counter() - started
    if not into_schema:
        client.command("DROP TABLE bench_plain")
    return rows / elapsed


def storing_rates(client: Client) -> dict[str, float]:
    """Rows/s of inserting application_logs' rows, held in memory, into a fresh copy of the table (indexes and
    projection included) and into the bare columns: the ceiling for any generator writing into this schema."""
    client.command("DROP TABLE IF EXISTS bench_rows")
    client.command("CREATE TABLE bench_rows AS application_logs ENGINE = Memory")
    client.command("INSERT INTO bench_rows SELECT * FROM application_logs", settings=INSERT_SETTINGS)
    rows = int(client.query("SELECT count() FROM bench_rows").result_rows[0][0])
    rates: dict[str, float] = {}
    for name, ddl in (
        ("schema", "CREATE TABLE bench_copy AS application_logs"),
        ("bare", f"CREATE TABLE bench_copy ({PLAIN_COLUMNS}) ENGINE = MergeTree PARTITION BY toDate(timestamp) "
                 "ORDER BY timestamp"),
    ):  # fmt: skip
        client.command("DROP TABLE IF EXISTS bench_copy")
        client.command(ddl)
        client.command("SYSTEM STOP MERGES bench_copy")  # the insert alone, not merges running beside it
        started = time.perf_counter()
        client.command("INSERT INTO bench_copy SELECT * FROM bench_rows", settings=INSERT_SETTINGS)
        rates[name] = rows / (time.perf_counter() - started)
        client.command("DROP TABLE bench_copy")
    client.command("DROP TABLE bench_rows")
    return rates


def run(rows: int, data_dir: Path, iterations: int, *, audit: bool = True) -> dict[str, Any]:
    settings = LogsSettings(data_dir=data_dir)
    scenario = build_scenario()
    load_before = os.getloadavg()
    client = open_log_store(settings)
    try:
        plain = plain_insert_rate(client, rows, into_schema=False)
        plain_schema = plain_insert_rate(client, rows, into_schema=True)
        report = seed_logs(client, scenario, rows=rows, progress=True)
        settled = wait_for_merges(client)
        parts = client.query("SELECT count() FROM system.parts WHERE active AND table = 'application_logs'")
        storing = storing_rates(client)
    finally:
        client.close()
    generator = {
        "rows": report.rows,
        "seconds": round(report.seconds, 2),
        "rows_per_s": round(report.rows_per_s),
        "plain_insert_rows_per_s": round(plain),
        "plain_insert_into_schema_rows_per_s": round(plain_schema),
        "ratio_to_plain": round(report.rows_per_s / plain, 2),
        "ratio_to_plain_into_schema": round(report.rows_per_s / plain_schema, 2),
        "storing_generated_rows_into_schema_rows_per_s": round(storing["schema"]),
        "storing_generated_rows_into_bare_columns_rows_per_s": round(storing["bare"]),
        "ratio_to_storing_into_schema": round(report.rows_per_s / storing["schema"], 2),
        "target_rows_per_s": 2_000_000,
        "merges_settled_after_s": round(settled, 1),
        "parts_after": int(parts.result_rows[0][0]),
    }
    tools = anyio.run(lambda: bench.measure(data_dir, iterations=iterations, audit=audit))
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before]},
        "generator": generator,
        **tools,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sre_lab.bench_logs", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR, help="a scratch store (replaced)")
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/logs.json"))
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--no-audit", action="store_true", help="tools without the audit log (users run with it)")
    args = parser.parse_args(argv)
    result = run(args.rows, args.data_dir, args.iterations, audit=not args.no_audit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    gen = result["generator"]
    print(
        f"generator: {gen['rows']:,} rows in {gen['seconds']} s = {gen['rows_per_s'] / 1e6:.2f} M rows/s; plain "
        f"INSERT … SELECT {gen['plain_insert_rows_per_s'] / 1e6:.2f} M rows/s (ratio {gen['ratio_to_plain']}), "
        f"into the real schema {gen['plain_insert_into_schema_rows_per_s'] / 1e6:.2f} M rows/s "
        f"(ratio {gen['ratio_to_plain_into_schema']}); storing the generated rows again, no generation: into the "
        f"schema {gen['storing_generated_rows_into_schema_rows_per_s'] / 1e6:.2f} M rows/s, into bare columns "
        f"{gen['storing_generated_rows_into_bare_columns_rows_per_s'] / 1e6:.2f} M rows/s"
    )
    bench.print_table(result)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
