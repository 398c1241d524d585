"""Build every image of the compose lab (with make test-stack's override) from its own Dockerfile, with Podman.

The list of images, their Dockerfiles, contexts and build arguments come from `docker compose config`, so this
builds exactly what compose.yaml names. Podman (buildah) is called directly rather than through compose so that
a local torch wheel can be bind-mounted into the build (TORCH_WHEELS): PyTorch's index is not reachable here.
Layers are cached in Podman's store: a second run on the same machine rebuilds only what changed.
Prints each image's build time and size, and writes them to $STACK_STATE/image-sizes.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sre_lab.docker import compose_command, ensure_env_file
from sre_lab.paths import compose_file, env_file

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("STACK_STATE", ROOT / ".lab" / "stack"))
TORCH_MOUNT = "/torch-wheels"


def main() -> int:
    secrets = env_file()
    ensure_env_file(secrets)  # the secrets compose.yaml requires, generated once as `sre-lab up --docker` does
    argv = compose_command(compose_file(), secrets, "config", "--format", "json")
    config = json.loads(subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    torch_wheels = os.environ.get("TORCH_WHEELS")
    sizes: dict[str, dict[str, object]] = {}
    for name, service in config["services"].items():
        build = service.get("build")
        if not build:
            continue
        image = service["image"]
        argv = ["podman", "build", "--format", "docker", "--layers", "-f", build["dockerfile"], "-t", image]
        for key, value in (build.get("args") or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        if torch_wheels and "TORCH_FIND_LINKS" in (build.get("args") or {}):
            argv += ["-v", f"{torch_wheels}:{TORCH_MOUNT}:ro"]
        argv.append(build["context"])
        started = time.monotonic()
        print(f"[build] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
        log = STATE / f"build-{name}.log"
        with log.open("w") as out:
            done = subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            print(log.read_text()[-6000:], file=sys.stderr)
            print(f"[build] {name} FAILED after {seconds:.0f} s (log: {log})", file=sys.stderr)
            return 1
        size = int(
            subprocess.run(
                ["podman", "image", "inspect", "--format", "{{.Size}}", image],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
        sizes[image] = {"service": name, "bytes": size, "build_seconds": round(seconds, 1)}
        print(f"[build] {name}: {image} {size / 1e6:.0f} MB in {seconds:.0f} s", file=sys.stderr, flush=True)
    (STATE / "image-sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
