#!/usr/bin/env bash
# Builds the ssdk image (`ssdk:local`, or $1) from the repository's Dockerfile: production
# dependencies only, installed here on the host (`npm ci --omit=dev` in a staged copy, so the
# build needs no registry access from inside a container), copied into node:20-bookworm-slim.
#
#   npm run docker:image [-- NAME]        # DOCKER_HOST picks the engine
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tag="${1:-ssdk:local}"
stage="$root/dist/docker"
docker="${DOCKER:-docker}"

rm -rf "$stage"
mkdir -p "$stage"
cd "$root"
# What runs: the CLI's entry, every workspace's manifest and sources (no tests, benches, fixtures).
cp package.json package-lock.json tsconfig.json tsconfig.base.json "$stage/"
cp -r bin "$stage/"
for project in apps/* libs/* tools; do
  mkdir -p "$stage/$project"
  cp "$project/package.json" "$stage/$project/"
  [ -d "$project/src" ] && cp -r "$project/src" "$stage/$project/"
done
find "$stage" \( -name '*.test.ts' -o -name '*.test-support.ts' -o -name '__fixtures__' \) -prune -exec rm -rf {} +
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
"$docker" build -q -f "$root/Dockerfile" -t "$tag" "$stage" >/dev/null
echo "$tag: $("$docker" image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
