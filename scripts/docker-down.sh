#!/usr/bin/env bash
# Stop the dockerd that scripts/docker-up.sh started, if it started one.
set -uo pipefail
[ -f /run/bee-dockerd.pid ] || exit 0
pid=$(cat /run/bee-dockerd.pid)
kill "$pid" 2>/dev/null && for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
rm -f /run/bee-dockerd.pid
