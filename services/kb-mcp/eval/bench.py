"""Benchmark kb-mcp as its users meet it: real `kb-mcp` processes over stdio, real embedded Chroma.

    .venv/bin/python services/kb-mcp/eval/bench.py [--runbooks DIR] [--questions FILE] [--starts 5]
                                                   [--out .lab/bench/kb-mcp.json]

1. ingest: `kb-mcp ingest` as a fresh process into an empty store with an empty embedding cache (what a first
   seed job pays), again with nothing changed, and into another empty store with the embedding cache warm (what
   `sre-lab up --embedded` pays on a machine that ran the set-up once);
2. start: spawn `kb-mcp` and time initialize + tools/list, resources/list, and the first search_runbooks answer,
   from the spawn: with the local copy of the corpus (the usual case) and without it; and tools/list of a bare
   SDK server with one tool (the floor: importing the MCP SDK);
3. search: in one session, one warm search_runbooks call per eval question (all distinct, so the query-vector
   cache never hits), p50/p95 client-side; against the in-process floor the issue names — embedding the query
   with ONNX Runtime plus one Chroma query — measured on the same questions in this process.
Prints the figures, the load average and the CPU, and writes them as JSON.
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
import yaml
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent

from kb_mcp.config import KbSettings
from kb_mcp.embed import Embedder
from kb_mcp.knowledge import search
from kb_mcp.retrieval import CorpusIndex
from kb_mcp.store import RunbookStore
from mcp_common.settings import load_settings

BIN = Path(sys.executable).parent
KB_MCP = str(BIN / "kb-mcp")
HERE = Path(__file__).resolve().parent
WARM_UP = ["warm up the model", "second warm-up query about disks", "third warm-up query about certificates"]
FIRST_QUERY = "pods keep restarting out of memory"

# The floor on this host: a bare MCPServer with one tool (what importing the MCP SDK alone costs).
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")
@server.tool()
def hello() -> str:
    return "hi"
server.run()
"""


def _env(
    scratch: Path, runbooks: Path | None, *, copy: str = "corpus-cache", embeddings: str = "embeddings"
) -> dict[str, str]:
    env = {
        **os.environ,
        "KB_MCP_CHROMA_PATH": str(scratch / "chroma"),
        "KB_MCP_CHROMA_URL": "",
        "KB_MCP_CORPUS_CACHE_DIR": str(scratch / copy),
        "KB_MCP_EMBEDDING_CACHE_DIR": str(scratch / embeddings),
        "KB_MCP_LOG_LEVEL": "WARNING",
        # The per-client rate limit (120/min by default) would throttle a benchmark loop: lift it here.
        "KB_MCP_RATE_LIMIT_PER_MINUTE": "1000000",
        "KB_MCP_RATE_LIMIT_BURST": "100000",
    }
    if runbooks is not None:
        env["KB_MCP_RUNBOOKS_DIR"] = str(runbooks)
    return env


def _ingest_command(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([KB_MCP, "ingest"], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def bench_ingest(scratch: Path, runbooks: Path | None) -> dict[str, float]:
    cold = _ingest_command(_env(scratch, runbooks))
    unchanged = _ingest_command(_env(scratch, runbooks))
    other = scratch / "second-store"
    other.mkdir()
    (other / "embeddings").symlink_to(scratch / "embeddings")  # the machine's cache, warm from the first ingest
    warm_cache = _ingest_command(_env(other, runbooks))
    return {
        "cold_s": round(cold, 2),
        "unchanged_s": round(unchanged, 2),
        "new_store_warm_cache_s": round(warm_cache, 2),
    }


async def _from_spawn(params: StdioServerParameters, *, resources: bool, search: bool) -> dict[str, float]:
    started = time.perf_counter()
    times: dict[str, float] = {}
    async with Client(params) as client:
        await client.list_tools()
        times["tools_list_ms"] = (time.perf_counter() - started) * 1000
        if search:
            result = await client.call_tool("search_runbooks", {"query": FIRST_QUERY})
            if result.is_error:
                raise RuntimeError(_text(result))
            times["first_search_ms"] = (time.perf_counter() - started) * 1000
        if resources:
            await client.list_resources()
            times["resources_list_ms"] = (time.perf_counter() - started) * 1000
    return times


async def bench_start(scratch: Path, starts: int) -> dict[str, float]:
    warm = [
        await _from_spawn(StdioServerParameters(command=KB_MCP, env=_env(scratch, None)), resources=True, search=True)
        for _ in range(starts)
    ]
    cold: list[dict[str, float]] = []  # no local copy: the first search waits for chromadb's import and the read
    for i in range(starts):
        empty = f"no-copy-{i}"
        shutil.rmtree(scratch / empty, ignore_errors=True)
        params = StdioServerParameters(command=KB_MCP, env=_env(scratch, None, copy=empty))
        cold.append(await _from_spawn(params, resources=False, search=True))
    bare = StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER])
    floor = [(await _from_spawn(bare, resources=False, search=False))["tools_list_ms"] for _ in range(starts)]

    def median(rows: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(row[key] for row in rows), 1)

    return {
        "tools_list_ms": median(warm, "tools_list_ms"),
        "first_search_ms": median(warm, "first_search_ms"),
        "first_search_ms_max": round(max(row["first_search_ms"] for row in warm), 1),
        "resources_list_ms": median(warm, "resources_list_ms"),
        "first_search_without_copy_ms": median(cold, "first_search_ms"),
        "bare_sdk_tools_list_ms": round(statistics.median(floor), 1),
    }


async def bench_search(scratch: Path, queries: Sequence[str]) -> dict[str, float]:
    params = StdioServerParameters(command=KB_MCP, env=_env(scratch, None))
    async with Client(params) as client:
        for query in WARM_UP:
            await client.call_tool("search_runbooks", {"query": query})
        latencies = await _timed(client, queries)
        repeats = await _timed(client, queries)
    return {
        "searches": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "repeated_query_p50_ms": round(statistics.median(repeats), 2),
    }


def bench_floor(scratch: Path, queries: Sequence[str]) -> dict[str, float]:
    """In process: the issue's floor (ONNX query embedding + one Chroma query) and this server's own search."""
    settings = load_settings(
        KbSettings, chroma_path=scratch / "chroma", chroma_url=None, corpus_cache_dir=scratch / "x"
    )
    embedder = Embedder.open(settings)
    store = RunbookStore.open(settings)
    try:
        stored = store.read_corpus()
        collection = store.client.get_collection(settings.collection, embedding_function=None)
        index = CorpusIndex(stored.runbooks, stored.manifest, stored.vectors)
        for query in WARM_UP:
            collection.query(query_embeddings=[embedder.encode([query])[0].tolist()], n_results=40)
        floor, ours, embedding = [], [], []
        for query in queries:
            started = time.perf_counter()
            vector = embedder.encode([query])[0]
            embedded = time.perf_counter()
            collection.query(query_embeddings=[vector.tolist()], n_results=40, include=["distances"])
            floor.append((time.perf_counter() - started) * 1000)
            embedding.append((embedded - started) * 1000)
            started = time.perf_counter()
            search(index, query, 3, embedder=embedder)
            ours.append((time.perf_counter() - started) * 1000)
    finally:
        store.close()
    return {
        "floor_p50_ms": round(statistics.median(floor), 2),
        "query_embedding_p50_ms": round(statistics.median(embedding), 2),
        "in_process_search_p50_ms": round(statistics.median(ours), 2),
    }


async def _timed(client: Client, queries: Sequence[str]) -> list[float]:
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
    parser = argparse.ArgumentParser(prog="bench.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runbooks", type=Path, default=None, help="default: KB_MCP_RUNBOOKS_DIR")
    parser.add_argument("--questions", type=Path, default=HERE / "lab.yaml", help="an eval file: its questions")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/kb-mcp.json"))
    args = parser.parse_args(argv)
    data = yaml.safe_load(args.questions.read_text(encoding="utf-8"))
    queries = list(dict.fromkeys(str(q["question"]) for q in data["questions"]))
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as directory:
        scratch = Path(directory)
        print(
            "ingest: cold (empty store and embedding cache), unchanged, new store with the cache warm ...", flush=True
        )
        ingest = bench_ingest(scratch, args.runbooks)
        print(f"  {ingest}", flush=True)
        print(f"start over stdio ({args.starts} spawns each) ...", flush=True)
        start = anyio.run(bench_start, scratch, args.starts)
        print(f"  {start}", flush=True)
        print(f"search_runbooks over stdio, one warm call per distinct question ({len(queries)}) ...", flush=True)
        searched = anyio.run(bench_search, scratch, queries)
        floor = bench_floor(scratch, queries)
        searched["p50_over_floor"] = round(searched["p50_ms"] / floor["floor_p50_ms"], 2)
        print(f"  {searched}\n  in process: {floor}", flush=True)

    report: dict[str, Any] = {
        "host": {
            "python": platform.python_version(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "ingest": ingest,
        "start": start,
        "search": {**searched, **floor},
        "targets": {"first_search_ms": 1300, "p50_over_floor": 1.3, "ingest_new_store_warm_cache_s": 10},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"load average before/after: {report['host']['load_average_before']} / {report['host']['load_average_after']}"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
