#!/usr/bin/env bash
# Builds the ssdk image (`ssdk:local`, or $1) from the repository's Dockerfile: production
# dependencies only, installed here on the host (`npm ci --omit=dev` in a staged copy, so the
# build needs no registry access from inside a container), copied into node:20-bookworm-slim.
# The dependencies and the sources are two layers; an image built from the same tree is kept.
#
#   npm run docker:image [-- NAME]        # DOCKER_HOST picks the engine
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tag="${1:-ssdk:local}"
stage="$root/dist/docker"
docker="${DOCKER:-docker}"

rm -rf "$stage"
mkdir -p "$stage/app" "$stage/deps"
cd "$root"
# What runs: the CLI's entry, every workspace's manifest and sources (no tests, benches, fixtures).
cp package.json package-lock.json tsconfig.json tsconfig.base.json "$stage/app/"
cp -r bin "$stage/app/"
for project in apps/* libs/* tools; do
  mkdir -p "$stage/app/$project"
  cp "$project/package.json" "$stage/app/$project/"
  if [ -d "$project/src" ]; then cp -r "$project/src" "$stage/app/$project/"; fi
done
find "$stage/app" \( -name '*.test.ts' -o -name '*.testkit.ts' -o -name '*.test-support.ts' \) -delete
cp Dockerfile "$stage/"
tree_hash="$(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
if [ "$("$docker" image inspect -f '{{index .Config.Labels "ssdk.tree"}}' "$tag" 2>/dev/null)" = "$tree_hash" ]; then
  echo "$tag: up to date (tree $tree_hash)"
  exit 0
fi
(cd "$stage/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error && mv node_modules ../deps/)
"$docker" build -q --label "ssdk.tree=$tree_hash" -f "$stage/Dockerfile" -t "$tag" "$stage" >/dev/null
echo "$tag: $("$docker" image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }') (tree $tree_hash)"
