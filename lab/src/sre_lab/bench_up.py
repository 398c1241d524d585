"""The ready-lab benchmark: `python -m sre_lab.bench_up [--runs 3] [--rows N] [--out .lab/bench/up.json]`.

Runs `sre-lab up --embedded` as a user does (the console script, a fresh data directory each time) after one
warm-up run that fills this machine's caches (the embedding cache, the OS's file cache), and prints for each
run the wall time, the CPU time of the command and its servers, and the load average around it: on a shared
machine the wall time says more about the neighbours than about the lab, the CPU time does not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def one_run(rows: int | None, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sre-lab-bench-up-") as scratch:
        command = [str(Path(sys.executable).parent / "sre-lab"), "up", "--embedded"]
        command += ["--rows", str(rows)] if rows else []
        before_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            env={**env, "SRE_LAB_DATA_DIR": str(Path(scratch) / "data")},
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        after_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"sre-lab up failed ({result.returncode}):\n{result.stderr or result.stdout}")
    cpu = (after_cpu.ru_utime - before_cpu.ru_utime) + (after_cpu.ru_stime - before_cpu.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sre_lab.bench_up", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs after the warm-up (default: 3)")
    parser.add_argument("--rows", type=int, default=None, help="log lines to seed (default: the lab's default)")
    parser.add_argument("--out", type=Path, default=Path(".lab/bench/up.json"), help="where to write the figures")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    print(f"warm-up run (cores: {os.cpu_count()}) …", flush=True)
    one_run(args.rows, env)
    runs = []
    for index in range(1, args.runs + 1):
        run = one_run(args.rows, env)
        runs.append(run)
        print(
            f"run {index}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU "
            f"(load {run['load_before']:.1f} → {run['load_after']:.1f})",
            flush=True,
        )
    walls = [run["wall_s"] for run in runs]
    summary = {
        "rows": args.rows,
        "cores": os.cpu_count(),
        "runs": runs,
        "wall_median_s": statistics.median(walls),
        "wall_range_s": [min(walls), max(walls)],
        "cpu_median_s": statistics.median(run["cpu_s"] for run in runs),
    }
    print(
        f"sre-lab up --embedded: median {summary['wall_median_s']:.1f} s wall "
        f"({min(walls):.1f}–{max(walls):.1f}), {summary['cpu_median_s']:.1f} s CPU"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
