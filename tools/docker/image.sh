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
tree_hash="$(cat "$tarball" Dockerfile tools/docker/image.sh tools/docker/prune.mjs | sha256sum | cut -c1-16)"
if [ "$("$docker" image inspect -f '{{index .Config.Labels "ssdk.tree"}}' "$tag" 2>/dev/null)" = "$tree_hash" ]; then
  echo "$tag: up to date (tarball, Dockerfile and image.sh $tree_hash)"
  exit 0
fi
rm -rf "$stage"
mkdir -p "$stage"
cp Dockerfile "$stage/"
npm install --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error --prefix "$stage" "$tarball"
# ssdk's WebAssembly engine, one component per world (windowed or not), the same for every
# dataflow: built here by the packed ssdk itself (so its hash is the one the image computes) and
# put in the image's component cache. A stack's `components` volume starts as a copy of it, so
# its deploy job builds nothing (it took 3–4.5 min in a container on a loaded 2-core box). This
# machine's own cache ($SSDK_COMPONENT_CACHE, else ~/.cache/ssdk/components) keeps the engines
# between image builds; only the build folders' engines (one per world) go into the image.
mkdir -p "$stage/components"
for example in word-count seed-pipeline; do # a windowed dataflow and one without windows
  "$stage/node_modules/.bin/ssdk" build "examples/$example/services.yaml" --state-dir "$stage/engines/$example" >/dev/null
  cp "$stage/engines/$example/build/"*.wasm "$stage/components/"
done
# The engines transpiled too (jco: component → JavaScript glue and core modules), into the cache
# folder's `transpiled/` where every container looks first (transpileCacheDir): transpiling took
# three quarters of an operator container's start (~2.1 of 2.8 CPU s), paid by each of 7 at once.
# A second build against the image's folder finds the engines there and transpiles each one as
# it checks the dataflow's functions load.
for example in word-count seed-pipeline; do
  SSDK_COMPONENT_CACHE="$stage/components" "$stage/node_modules/.bin/ssdk" build "examples/$example/services.yaml" --state-dir "$stage/engines/again-$example" >/dev/null
done
rm -rf "$stage/engines"
# Then what only compiling an engine needs goes (componentize-js and jco's tool chain under it,
# ~280 MB): no container compiles one, the engines above are in the image.
node tools/docker/prune.mjs "$stage" @bytecodealliance/componentize-js >/dev/null
"$docker" build -q --label "ssdk.tree=$tree_hash" -f "$stage/Dockerfile" -t "$tag" "$stage" >/dev/null
echo "$tag: $("$docker" image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }') (tarball, Dockerfile and image.sh $tree_hash)"
