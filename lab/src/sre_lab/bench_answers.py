"""How large each tool's answer is for the model: characters per typical call of every tool of every server.

    python -m sre_lab.bench_answers [--data-dir DIR] [--rows 60000] [--out .lab/bench/answers.json]

Runs one typical call of every tool on the incident (the three servers in-process through the SDK client,
over the embedded stores; a scratch copy is seeded unless `--data-dir` points at a seeded lab) and prints,
per call:

- `before`: the text block as every tool sent it until the compact answers (the SDK's default: the result
  model as indented JSON);
- `text`: the text block sent now (the model's `compact_text()`, or `mcp_common.compact.render`);
- `structured`: the structured content (compact JSON), sent alongside either way;
- the characters a call moves before and now (text + structured).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server as create_k8s
from kb_mcp.config import KbSettings
from kb_mcp.server import create_server as create_kb
from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server as create_logs
from sre_lab import seeding
from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import build_scenario

DEFAULT_ROWS = 60_000


@dataclass(frozen=True)
class Measured:
    server: str
    tool: str
    arguments: dict[str, Any]
    before: int  # the SDK's indented JSON text
    text: int  # the compact text sent now
    structured: int  # the structured content, compact JSON
    is_error: bool

    @property
    def moved_before(self) -> int:
        return self.before + self.structured

    @property
    def moved_now(self) -> int:
        return self.text + self.structured


Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Plan = Callable[[Call], Awaitable[None]]


async def measure_server(server: str, target: MCPServer[Any], plan: Plan) -> list[Measured]:
    """Run `plan` against `target`; every call it makes is measured."""
    measured: list[Measured] = []
    async with Client(target) as client:

        async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(tool, arguments)
            text = "".join(block.text for block in result.content if block.type == "text")
            data = result.structured_content or {}
            measured.append(
                Measured(
                    server=server,
                    tool=tool,
                    arguments=arguments,
                    before=len(json.dumps(data, indent=2, ensure_ascii=False)) if data else len(text),
                    text=len(text),
                    structured=len(json.dumps(data, separators=(",", ":"), ensure_ascii=False)) if data else 0,
                    is_error=bool(result.is_error),
                )
            )
            return data

        await plan(call)
        unmeasured = {tool.name for tool in (await client.list_tools()).tools} - {m.tool for m in measured}
    if unmeasured:  # a new tool: give it a typical call in the server's plan
        print(f"{server}: no typical call for {', '.join(sorted(unmeasured))}")
    return measured


async def k8s_plan(call: Call) -> None:
    await call("list_namespaces", {})
    pods = await call("list_pods", {"namespace": "payments"})
    worst = max(pods.get("items", []), key=lambda pod: pod.get("restarts", 0))["name"]
    await call("describe_pod", {"namespace": "payments", "pod_name": worst})
    await call("get_pod_logs", {"namespace": "payments", "pod_name": worst, "previous": True})
    await call("list_deployments", {"namespace": "payments"})
    await call("list_statefulsets", {"namespace": "payments"})
    await call("list_daemonsets", {"namespace": "payments"})
    await call("list_jobs", {"namespace": "payments"})
    await call("list_cronjobs", {"namespace": "payments"})
    await call("get_events", {"namespace": "payments", "event_type": "Warning"})
    await call("diagnose_workload", {"namespace": "payments", "name": "payment-gateway"})
    await call("diagnose_deployment", {"namespace": "payments", "name": "payment-gateway"})


async def logs_plan(call: Call) -> None:
    await call("list_services", {})
    await call("error_timeline", {"time_range": "6h"})
    await call("count_errors", {"group_by": "message"})
    await call("log_patterns", {"level": "ERROR"})
    found = await call("search_logs", {"service": "payment-gateway", "level": "ERROR"})
    await call("get_slow_queries", {})
    trace = next((line["trace_id"] for line in found.get("lines", []) if line.get("trace_id")), "tx-none")
    await call("trace_transaction", {"trace_id": trace})


async def kb_plan(call: Call) -> None:
    await call("search_runbooks", {"query": "pods OOMKilled after a deploy, heap out of memory"})
    await call(
        "find_runbooks_for_error",
        {"error_text": "java.lang.OutOfMemoryError: Java heap space; container payment-gateway exit code 137"},
    )
    await call("ask_knowledge_base", {"question": "How do I mitigate a payment-gateway OOMKilled crash loop?"})


def run(data_dir: Path | None, rows: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as scratch:
        if data_dir is None:
            stores = EmbeddedStores(Path(scratch) / "data")
            scenario = build_scenario(now=now)
            seeding.seed_cluster(scenario, stores.cluster)
            seeding.seed_logs(scenario, seeding.logs_settings(stores.clickhouse), rows=rows, progress=False)
            seeding.seed_runbooks(seeding.kb_settings(stores.chroma, corpus_cache_dir=stores.kb_corpus_cache))
        else:
            stores = EmbeddedStores(data_dir)
            # The lab's clock is when its cluster snapshot was captured (the incident is just before it).
            manifest = json.loads((stores.cluster / "manifest.json").read_text(encoding="utf-8"))
            now = datetime.fromisoformat(manifest["captured_at"].replace("Z", "+00:00"))
        servers: list[tuple[str, MCPServer[Any], Plan]] = [
            (
                "k8s-mcp",
                create_k8s(K8sSettings(backend="snapshot", snapshot_dir=stores.cluster), clock=lambda: now),
                k8s_plan,
            ),
            ("logs-mcp", create_logs(LogsSettings(data_dir=stores.clickhouse, fixed_now=now)), logs_plan),
            (
                "kb-mcp",
                create_kb(KbSettings(chroma_path=stores.chroma, corpus_cache_dir=stores.kb_corpus_cache)),
                kb_plan,
            ),
        ]
        measured: list[Measured] = []
        for name, target, plan in servers:
            measured.extend(anyio.run(measure_server, name, target, plan))
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before]},
        "calls": [asdict(m) | {"moved_before": m.moved_before, "moved_now": m.moved_now} for m in measured],
        "totals": {
            "before": sum(m.before for m in measured),
            "text": sum(m.text for m in measured),
            "structured": sum(m.structured for m in measured),
            "moved_before": sum(m.moved_before for m in measured),
            "moved_now": sum(m.moved_now for m in measured),
        },
    }


def print_table(result: dict[str, Any]) -> None:
    print("| server | tool | text before | text now | structured | per call before → now |")
    print("|---|---|---:|---:|---:|---:|")
    for call in result["calls"]:
        flag = " (error)" if call["is_error"] else ""
        print(
            f"| {call['server']} | {call['tool']}{flag} | {call['before']:,} | {call['text']:,} | "
            f"{call['structured']:,} | {call['moved_before']:,} → {call['moved_now']:,} |"
        )
    totals = result["totals"]
    print(
        f"| all | {len(result['calls'])} calls | {totals['before']:,} | {totals['text']:,} | {totals['structured']:,} "
        f"| {totals['moved_before']:,} → {totals['moved_now']:,} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sre_lab.bench_answers", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="a seeded lab data dir (default: seed a copy)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="log lines for the scratch copy")
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/answers.json"))
    args = parser.parse_args(argv)
    result = run(args.data_dir, args.rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
