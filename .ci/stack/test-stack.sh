#!/usr/bin/env bash
# make test-stack: the workshop path for real on this machine's engine (Podman behind the Docker API).
#   1. engine.sh: install and prepare Podman, its Docker-API service, compose v2, the base image (idempotent);
#   2. build_images.py: every image from its own Dockerfile (layers cached across runs);
#   3. `sre-lab up --docker --no-build` (compose up --wait), `sre-lab status --docker`;
#   4. pytest tests/ --stack compose: the scenarios through `docker exec -i`, the containers through the SDK;
#   5. `sre-lab down --docker --volumes`, then the engine service is stopped.
# compose.yaml runs with one override, .ci/stack/compose.test.yaml (ClickHouse; see that file and the README).
# KEEP_STACK=1 leaves the lab and the engine running afterwards (then: .venv/bin/sre-lab down --docker --volumes;
# .ci/stack/engine.sh down). STACK_STEPS=build stops after the builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
VENV="${VENV:-$ROOT/.venv}"
export STACK_STATE="${STACK_STATE:-$ROOT/.lab/stack}"
mkdir -p "$STACK_STATE"

TICKER=""
CURRENT=""
step() {
  CURRENT="$*"
  printf '\n=== test-stack: %s (%s)\n' "$*" "$(date +%T)" >&2
}
# On a failure: which step, every container of the lab with its state and health, and the end of each log.
diagnose() {
  echo "=== test-stack FAILED at: $CURRENT" >&2
  podman ps -a --filter label=com.docker.compose.project=sre-mcp-lab \
    --format '{{.Names}}  {{.Status}}  {{.Image}}' >&2 2>/dev/null || true
  for name in $(podman ps -a --filter label=com.docker.compose.project=sre-mcp-lab --format '{{.Names}}' 2>/dev/null); do
    echo "--- podman logs --tail 30 $name" >&2
    podman logs --tail 30 "$name" >&2 2>&1 || true
  done
}
cleanup() {
  local status=$?
  trap - EXIT
  if [ "$status" -ne 0 ] && command -v podman >/dev/null; then diagnose; fi
  if [ -n "$TICKER" ]; then kill "$TICKER" 2>/dev/null || true; fi
  if [ "${KEEP_STACK:-0}" != 1 ]; then
    if [ -n "${DOCKER_HOST:-}" ]; then "$VENV/bin/sre-lab" down --docker --volumes --yes >/dev/null 2>&1 || true; fi
    .ci/stack/engine.sh down
  fi
  exit "$status"
}
trap cleanup EXIT

# One lab per machine: container names and published ports are fixed, so a second run (another clone, a
# developer's) waits here for the first to finish rather than tearing down its containers.
LOCK="${STACK_LOCK:-/var/lock/sre-mcp-lab-stack.lock}"
exec 9>"$LOCK"
# (what outlives this script, the engine's service and the health ticker, is started without fd 9)
if ! flock -n 9; then
  step "waiting for another test-stack run on this machine (lock $LOCK)"
  flock -w 3600 9 || { echo "test-stack: another run held $LOCK for an hour" >&2; exit 1; }
fi

COMPOSE_BINARY="$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')"
export COMPOSE_BINARY
step "engine"
engine_env="$(.ci/stack/engine.sh up 9>&-)" || { echo "test-stack: the engine could not be prepared (above)" >&2; exit 1; }
eval "$engine_env"
step "leftovers of an earlier run"
.ci/stack/engine.sh reset
export BUILDAH_FORMAT=docker  # HEALTHCHECK is kept only in Docker-format images
# Were compose to build (the tests do not ask it to), it should use the engine's own API builder (Podman's is
# buildah): without buildx, compose's default (bake / a BuildKit container) would pull moby/buildkit.
export COMPOSE_BAKE=false DOCKER_BUILDKIT=0
export COMPOSE_FILE="compose.yaml:.ci/stack/compose.test.yaml"
# torch, for the ONNX export in two build stages: PyTorch's CPU index by default, which this machine cannot reach;
# here the CPU wheel on disk is bind-mounted into those builds and PyPI serves the rest.
if [ -z "${TORCH_WHEELS:-}" ] && compgen -G "/opt/wheels/torch-*.whl" >/dev/null; then
  export TORCH_WHEELS=/opt/wheels
fi
if [ -n "${TORCH_WHEELS:-}" ]; then
  export TORCH_INDEX_URL=https://pypi.org/simple TORCH_FIND_LINKS=/torch-wheels
fi

step "build every image"
"$VENV/bin/python" .ci/stack/build_images.py
[ "${STACK_STEPS:-all}" = build ] && exit 0

.ci/stack/health-ticker.sh 9>&- &
TICKER=$!
echo "$TICKER" >"$STACK_STATE/ticker.pid"  # engine.sh down stops it too, should this script be killed
# --no-build: the images were just built from the same Dockerfiles above (compose's own build could not mount
# the local torch wheel; on a laptop `sre-lab up --docker` builds them itself).
step "sre-lab up --docker --no-build"
"$VENV/bin/sre-lab" up --docker --no-build
step "sre-lab status --docker"
status_out="$("$VENV/bin/sre-lab" status --docker)"
printf '%s\n' "$status_out"
for name in sre-lab-clickhouse sre-lab-chromadb sre-lab-k8s-mcp sre-lab-logs-mcp sre-lab-kb-mcp; do
  # (Podman's API leaves "(healthy)" out of the status text: health is asserted by the tests, through the SDK)
  grep -q "^$name .* Up " <<<"$status_out" || { echo "status --docker: $name is not listed as up" >&2; exit 1; }
done
step "pytest tests/ --stack compose"
# not slow: those (conformance, up --embedded, the clock's re-seeding) run on embedded labs of their own: make test
"$VENV/bin/python" -m pytest tests/ --stack compose -m "stack and not slow" -p no:cacheprovider
step "sre-lab down --docker --volumes"
"$VENV/bin/sre-lab" down --docker --volumes --yes
left="$(docker ps -a --filter name=sre-lab- --format '{{.Names}}')"
if [ -n "$left" ]; then echo "containers left after down: $left" >&2; exit 1; fi
left="$(docker volume ls -q --filter label=com.docker.compose.project=sre-mcp-lab)"
if [ -n "$left" ]; then echo "volumes left after down --volumes: $left" >&2; exit 1; fi
step "done"
