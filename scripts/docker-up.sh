#!/usr/bin/env bash
# Make a Docker engine available for bee's container builds and images, idempotently:
# start dockerd when nothing answers (writing its pid to /run/bee-dockerd.pid, so the caller
# may stop it), and create the base image debian:bookworm-slim from Debian's packages
# (debootstrap + docker import) when it cannot be pulled, as on machines without Docker Hub.
set -euo pipefail

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "docker-up: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
  echo "docker-up: starting dockerd" >&2
  dockerd >/var/log/bee-dockerd.log 2>&1 &
  echo $! > /run/bee-dockerd.pid
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "docker-up: dockerd did not start; see /var/log/bee-dockerd.log" >&2; exit 1; }
fi

BASE=debian:bookworm-slim
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  if ! timeout 60 docker pull "$BASE" >/dev/null 2>&1; then
    echo "docker-up: $BASE cannot be pulled; making it with debootstrap (about a minute)" >&2
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    rootfs=$(mktemp -d /var/tmp/bee-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$BASE" >/dev/null
  fi
fi
