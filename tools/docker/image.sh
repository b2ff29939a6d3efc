#!/usr/bin/env bash
# Builds the ssdk image (`ssdk:local`, or $1) from the repository's Dockerfile: the packed
# package (`npm run package`: compiled JS, no TypeScript loader) installed with its production
# dependencies only, here on the host (npm's HTTPS fails inside containers here; a build needs no
# registry access from a container), then copied into node:20-bookworm-slim. An image built from
# the same tarball and Dockerfile is kept.
#
#   npm run docker:image [-- NAME]        # DOCKER_HOST picks the engine
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tag="${1:-ssdk:local}"
stage="$root/dist/docker"
docker="${DOCKER:-docker}"

cd "$root"
npm run --silent package >/dev/null
version="$(node -p 'require("./package.json").version')"
tarball="$root/dist/ssdk-$version.tgz"
tree_hash="$(cat "$tarball" Dockerfile | sha256sum | cut -c1-16)"
if [ "$("$docker" image inspect -f '{{index .Config.Labels "ssdk.tree"}}' "$tag" 2>/dev/null)" = "$tree_hash" ]; then
  echo "$tag: up to date (tarball and Dockerfile $tree_hash)"
  exit 0
fi
rm -rf "$stage"
mkdir -p "$stage"
cp Dockerfile "$stage/"
npm install --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error --prefix "$stage" "$tarball"
"$docker" build -q --label "ssdk.tree=$tree_hash" -f "$stage/Dockerfile" -t "$tag" "$stage" >/dev/null
echo "$tag: $("$docker" image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }') (tarball and Dockerfile $tree_hash)"
