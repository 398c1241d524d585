"""Benchmark through real MCP stdio sessions: start → tools/list, search_runbooks latency, ingest time.

    python -m kb_mcp.bench [--runbooks DIR] [--questions FILE] [--starts 5] [--out .lab/bench/kb-mcp.json]

1. ingest: `kb-mcp ingest` as a fresh process into an empty temporary store (interpreter start, model import and
   load, embedding, writing: what a seed job pays), then again with nothing changed;
2. start: spawn `kb-mcp` over stdio and time initialize + tools/list, and resources/list, from the spawn;
3. search: in one session, wait for the model, warm up on other queries, then call search_runbooks once per
   eval question (all distinct, so the server's query-vector cache never hits) and report client-side p50/p95.
Prints the figures and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent

from kb_mcp.config import KbSettings
from kb_mcp.eval import DEFAULT_QUESTIONS, load_questions
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.knowledge import embedder_for
from mcp_common.settings import load_settings

BIN = Path(sys.executable).parent
KB_MCP = str(BIN / "kb-mcp")
WARM_UP = [
    "warm up the model",
    "second warm-up query about disks",
    "third warm-up query about certificates",
    "fourth warm-up query about kafka",
    "fifth warm-up query about latency",
]


def _env(chroma: Path, runbooks: Path | None, corpus_cache: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "KB_MCP_CHROMA_PATH": str(chroma),
        "KB_MCP_CHROMA_URL": "",
        # the local copy of the corpus lives with the scratch store (ingest writes it, the servers read it)
        "KB_MCP_CORPUS_CACHE_DIR": str(corpus_cache or chroma.parent / "corpus-cache"),
        "KB_MCP_LOG_LEVEL": "WARNING",
        # The per-client rate limit (120/min by default) would throttle a benchmark loop: lift it here.
        "KB_MCP_RATE_LIMIT_PER_MINUTE": "1000000",
        "KB_MCP_RATE_LIMIT_BURST": "100000",
    }
    if runbooks is not None:
        env["KB_MCP_RUNBOOKS_DIR"] = str(runbooks)
    return env


def bench_ingest(chroma: Path, scratch: Path, runbooks: Path | None) -> dict[str, float]:
    """The command in a fresh process (what a seed job pays), then its parts in this process."""

    def run() -> float:
        started = time.perf_counter()
        subprocess.run([KB_MCP, "ingest"], env=_env(chroma, runbooks), check=True, capture_output=True)
        return time.perf_counter() - started

    cold, unchanged = run(), run()
    settings = load_settings(
        KbSettings, chroma_path=scratch, chroma_url=None, corpus_cache_dir=scratch / "corpus-cache"
    )
    started = time.perf_counter()
    embedder = embedder_for(settings, ingest=True).load()
    model_load = time.perf_counter() - started
    report = ingest_runbooks(settings, runbooks, embedder=embedder)
    return {
        "command_cold_s": round(cold, 2),
        "command_unchanged_s": round(unchanged, 2),
        "model_import_and_load_s": round(model_load, 2),
        "ingest_with_model_loaded_s": report.seconds,
        "embedding_s": report.embed_seconds,
        "texts_embedded": report.sections + report.runbooks_written,
    }


# The floor on this host: a bare MCPServer with one tool (what importing the MCP SDK alone costs).
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")
@server.tool()
def hello() -> str:
    return "hi"
server.run()
"""


async def _time_to_lists(params: StdioServerParameters, resources: bool) -> tuple[float, float]:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        tools_ms = (time.perf_counter() - started) * 1000
        if resources:
            await client.list_resources()
        return tools_ms, (time.perf_counter() - started) * 1000


async def bench_start(chroma: Path, starts: int) -> dict[str, float]:
    kb_params = StdioServerParameters(command=KB_MCP, env=_env(chroma, None))
    kb = [await _time_to_lists(kb_params, True) for _ in range(starts)]
    cold: list[float] = []  # no local copy of the corpus: resources wait for chromadb's import and the read
    for i in range(starts):
        empty = chroma.parent / f"no-copy-{i}"
        shutil.rmtree(empty, ignore_errors=True)  # the server writes a copy there once it has read Chroma
        params = StdioServerParameters(command=KB_MCP, env=_env(chroma, None, empty))
        cold.append((await _time_to_lists(params, True))[1])
    bare_params = StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER])
    bare = [(await _time_to_lists(bare_params, False))[0] for _ in range(starts)]
    return {
        "tools_list_ms_median": round(statistics.median(t for t, _ in kb), 1),
        "tools_list_ms_max": round(max(t for t, _ in kb), 1),
        "resources_list_ms_median": round(statistics.median(r for _, r in kb), 1),
        "resources_list_without_copy_ms_median": round(statistics.median(cold), 1),
        "bare_sdk_server_tools_list_ms_median": round(statistics.median(bare), 1),
    }


async def bench_search(chroma: Path, queries: Sequence[str]) -> dict[str, float]:
    params = StdioServerParameters(command=KB_MCP, args=[], env=_env(chroma, None))
    async with Client(params) as client:
        started = time.perf_counter()
        first = await client.call_tool("search_runbooks", {"query": WARM_UP[0]})
        if first.is_error:
            raise RuntimeError(_text(first))
        model_ready_s = time.perf_counter() - started
        for query in WARM_UP[1:]:
            await client.call_tool("search_runbooks", {"query": query})
        latencies = await _timed_searches(client, list(dict.fromkeys(queries)))  # distinct, in order
        repeats = await _timed_searches(client, list(dict.fromkeys(queries)))  # the same again: cached vectors
    return {
        "first_search_s": round(model_ready_s, 2),
        "searches": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
        "repeated_query_p50_ms": round(statistics.median(repeats), 1),
    }


async def _timed_searches(client: Client, queries: Sequence[str]) -> list[float]:
    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        result = await client.call_tool("search_runbooks", {"query": query})
        latencies.append((time.perf_counter() - started) * 1000)
        if result.is_error:
            raise RuntimeError(_text(result))
    return sorted(latencies)


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


def _cpu_model() -> str:
    """The CPU's model name (figures differ between the machines' CPU generations), or the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb_mcp.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runbooks", type=Path, default=None, help="default: KB_MCP_RUNBOOKS_DIR")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="search queries")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/kb-mcp.json"))
    args = parser.parse_args(argv)
    queries = [q.text for q in load_questions(args.questions)]

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as scratch:
        chroma = Path(scratch) / "chroma"
        print("ingest: `kb-mcp ingest` into an empty store, again unchanged, then in-process parts ...", flush=True)
        ingest = bench_ingest(chroma, Path(scratch) / "in-process", args.runbooks)
        print(
            f"  command cold {ingest['command_cold_s']} s, unchanged {ingest['command_unchanged_s']} s; "
            f"model import+load {ingest['model_import_and_load_s']} s, ingest with the model loaded "
            f"{ingest['ingest_with_model_loaded_s']} s (embedding {ingest['embedding_s']} s for "
            f"{ingest['texts_embedded']} texts)",
            flush=True,
        )
        print(f"start → tools/list over stdio ({args.starts} starts) ...", flush=True)
        start = anyio.run(bench_start, chroma, args.starts)
        print(
            f"  tools/list {start['tools_list_ms_median']} ms median (max {start['tools_list_ms_max']}), "
            f"resources/list {start['resources_list_ms_median']} ms "
            f"({start['resources_list_without_copy_ms_median']} ms without the local copy of the corpus); "
            f"a bare SDK server: tools/list {start['bare_sdk_server_tools_list_ms_median']} ms",
            flush=True,
        )
        print(f"search_runbooks over stdio (one warm call per distinct eval question: {len(set(queries))}) ...")
        search = anyio.run(bench_search, chroma, queries)
        print(
            f"  first search (waits for the model) {search['first_search_s']} s; "
            f"warm p50 {search['p50_ms']} ms, p95 {search['p95_ms']} ms, max {search['max_ms']} ms; "
            f"repeated queries p50 {search['repeated_query_p50_ms']} ms",
            flush=True,
        )

    report: dict[str, Any] = {
        "host": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "embed_backend": load_settings(KbSettings).embed_backend,
        "ingest": ingest,
        "start": start,
        "search": search,
        "targets": {
            "search_p50_ms": 20,
            "ingest_s": 15,
            "start_to_tools_list_ms": 1000,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
