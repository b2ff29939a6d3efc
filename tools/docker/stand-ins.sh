#!/usr/bin/env bash
# Stand-ins for the base images the Dockerfile and `ssdk compose` name, built on this machine
# where no image registry can be reached: a Debian bookworm root made by debootstrap (Debian's
# packages), imported, then one small build per name. Each is tagged with the name a real user
# pulls, so the Dockerfile and the compose file stay what they run. Cached by tag: a second run
# costs a few `docker image inspect`s and hashes. Needs root, debootstrap and a Docker engine ($DOCKER_HOST).
#
#   tools/docker/stand-ins.sh            # all of them
#   SSDK_DOCKER_CACHE=/var/cache/ssdk-docker   # where the debootstrap root is kept
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SSDK_DOCKER_CACHE:-/var/cache/ssdk-docker}"
docker="${DOCKER:-docker}"
base=ssdk-stand-in/bookworm-minbase:1

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }

if ! have "$base"; then
  if [ ! -d "$cache/bookworm-minbase" ]; then
    mkdir -p "$cache"
    rm -rf "$cache/bookworm-minbase.tmp"
    echo "debootstrap: a minimal bookworm root (about a minute)" >&2
    debootstrap --variant=minbase bookworm "$cache/bookworm-minbase.tmp" http://deb.debian.org/debian >&2
    mv "$cache/bookworm-minbase.tmp" "$cache/bookworm-minbase"
  fi
  tar -C "$cache/bookworm-minbase" -c . | "$docker" import -c 'CMD ["bash"]' - "$base" >/dev/null
fi

# name of the real image → folder of its stand-in's Dockerfile (built FROM $base or an earlier one)
# Rebuilt when its folder's content changed (the label holds a hash of it), else kept.
build() {
  local tag="$1" dir="$2"
  shift 2
  local content
  content="$(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  [ "$("$docker" image inspect -f '{{index .Config.Labels "ssdk.stand-in"}}' "$tag" 2>/dev/null)" = "$content" ] && return 0
  echo "building stand-in $tag" >&2
  "$docker" build -q --build-arg "BASE=$base" --label "ssdk.stand-in=$content" "$@" -t "$tag" "$dir" >/dev/null
}

# The host's Node binary runs in a bookworm root (same libc); the node image's `node` user (uid 1000) too.
node_ctx="$(mktemp -d)"
trap 'rm -rf "$node_ctx"' EXIT
cp "$here/stand-ins/node/Dockerfile" "$node_ctx/"
cp "$(readlink -f "$(command -v node)")" "$node_ctx/node"
build node:20-bookworm-slim "$node_ctx"
build nats:2.10-alpine "$here/stand-ins/nats"
build postgres:15-alpine "$here/stand-ins/postgres"
build jaegertracing/all-in-one:1.62.0 "$here/stand-ins/jaeger"
