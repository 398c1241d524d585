"""Tool latencies through a real MCP stdio session: `python -m logs_mcp.bench [--data-dir DIR] [--out FILE]`.

Starts `python -m logs_mcp` against an existing, seeded embedded store (this module never seeds: the lab does,
see `python -m sre_lab.bench_logs`), measures start → tools/list, then p50/p95 of every tool over several
argument sets, round-robin (so no answer is simply a repeat of the previous call), after a warm-up. The
server's clock is pinned to the newest log line, so "the last hour" is the dataset's last hour.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from logs_mcp.config import DEFAULT_DATA_DIR, LogsSettings
from logs_mcp.store import LogStore

TARGETS_MS = {  # p50 targets at 10 M rows, warm (the issue's)
    "search_logs (keyword)": 25,
    "count_errors": 25,
    "trace_transaction": 15,
    "error_timeline": 40,
    "log_patterns": 150,
}


def dataset_facts(data_dir: Path) -> dict[str, Any]:
    """Rows, the newest timestamp and a few trace ids of the store (opened briefly, then closed)."""
    store = LogStore.open(LogsSettings(data_dir=data_dir))
    try:
        client = store.client
        rows, newest = client.query("SELECT count(), max(timestamp) FROM application_logs").result_rows[0]
        traces = [
            trace
            for (trace,) in client.query(
                "SELECT trace_id FROM application_logs WHERE length(trace_id) = 15 AND cityHash64(trace_id) % 1000 = 7 "
                "LIMIT 8"
            ).result_rows
        ]
    finally:
        store.close()
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    return {"rows": int(rows), "newest": newest, "traces": traces}


def calls(traces: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The argument sets per measured tool (the incident's traces plus ordinary traffic traces)."""
    return {
        "search_logs (keyword)": [
            {"keyword": "OutOfMemoryError"},
            {"keyword": "circuit breaker", "level": "ERROR"},
            {"keyword": "tx-abc123"},
            {"keyword": "DROP TABLE", "time_range": "24h"},
            {"keyword": "no line contains this"},
        ],
        "search_logs (filters)": [{}, {"service": "payment-gateway", "level": "ERROR"}, {"level": "WARN"}],
        "count_errors": [{"group_by": "service"}, {"group_by": "host"}, {"group_by": "message"}],
        "trace_transaction": [{"trace_id": t} for t in ["tx-abc123", "tx-def456", "tx-good01", "tx-good02", *traces]],
        "error_timeline": [{}, {"service": "payment-gateway"}, {"time_range": "6h"}],
        "error_timeline (24h)": [{"time_range": "24h"}],
        "log_patterns": [{}, {"level": "ERROR"}, {"service": "fraud-detection"}],
        "log_patterns (24h)": [{"time_range": "24h"}],
        "list_services": [{}],
        "get_slow_queries": [{}, {"service": "fraud-detection", "min_duration_ms": 0}],
    }


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(data_dir: Path, *, iterations: int = 30, warmup: int = 3, starts: int = 3) -> dict[str, Any]:
    """Start-up and per-tool latencies (ms) of `python -m logs_mcp` over stdio against `data_dir`."""
    facts = dataset_facts(data_dir)
    env = {
        **os.environ,
        "LOGS_MCP_DATA_DIR": str(data_dir),
        "LOGS_MCP_FIXED_NOW": facts["newest"].isoformat(),
        "LOGS_MCP_LOG_LEVEL": "WARNING",
        # the per-client rate limit (120/min by default) would throttle a benchmark, not measure it
        "LOGS_MCP_RATE_LIMIT_PER_MINUTE": "1000000",
        "LOGS_MCP_RATE_LIMIT_BURST": "100000",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "logs_mcp"], env=env)
    start_ms = []
    for _ in range(starts):
        began = time.perf_counter()
        async with Client(params) as client:
            await client.list_tools()
            start_ms.append((time.perf_counter() - began) * 1000)
    results: dict[str, Any] = {}
    plan = calls(facts["traces"])
    async with Client(params) as client:
        for name, variants in plan.items():
            tool = name.split(" ")[0]
            for arguments in variants * warmup:
                await client.call_tool(tool, arguments)
            samples = []
            for i in range(iterations):
                arguments = variants[i % len(variants)]
                began = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                samples.append((time.perf_counter() - began) * 1000)
                if result.is_error:
                    raise RuntimeError(f"{tool}({arguments}) failed: {result.content}")
            results[name] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(_percentile(samples, 0.95), 1),
                "calls": len(samples),
                "target_p50_ms": TARGETS_MS.get(name),
            }
        began = time.perf_counter()
        await client.read_resource("logs://schema")
        results["read logs://schema"] = {"p50_ms": round((time.perf_counter() - began) * 1000, 1), "calls": 1}
    return {
        "rows": facts["rows"],
        "clock": facts["newest"].isoformat(),
        "start_to_tools_list_ms": {
            "median": round(statistics.median(start_ms), 1),
            "runs": [round(s) for s in start_ms],
        },
        "tools": results,
    }


def print_table(report: dict[str, Any]) -> None:
    """A plain table on stdout (this is a command-line tool, not the server)."""
    print(f"{report['rows']:,} rows; start -> tools/list {report['start_to_tools_list_ms']['median']} ms")
    print(f"{'tool':28} {'p50 ms':>8} {'p95 ms':>8} {'target':>8}")
    for name, row in report["tools"].items():
        target = row.get("target_p50_ms")
        verdict = "" if target is None else ("ok" if row["p50_ms"] <= target else "MISSED")
        print(f"{name:28} {row['p50_ms']:8.1f} {row.get('p95_ms', row['p50_ms']):8.1f} {target or '':>8} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logs_mcp.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("LOGS_MCP_DATA_DIR", DEFAULT_DATA_DIR)))
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/logs-tools.json"))
    parser.add_argument("--iterations", type=int, default=30)
    args = parser.parse_args(argv)
    if not (args.data_dir / "store").exists() and not (args.data_dir / "metadata").exists():
        sys.stderr.write(
            f"error: no seeded store at {args.data_dir}; seed one first: `sre-lab seed logs`, or run the whole "
            "benchmark (seeds 10 M rows): `python -m sre_lab.bench_logs`\n"
        )
        return 2
    report = anyio.run(lambda: measure(args.data_dir, iterations=args.iterations))
    report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(report)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
