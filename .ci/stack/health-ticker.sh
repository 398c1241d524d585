#!/usr/bin/env bash
# Podman runs healthchecks from systemd timers; without systemd (this CI machine) nothing runs them and every
# container stays "starting". This runs each running container's healthcheck every 2 s until killed.
while true; do
  for name in $(podman ps --format '{{.Names}}' 2>/dev/null); do
    podman healthcheck run "$name" >/dev/null 2>&1 || true
  done
  sleep 2
done
