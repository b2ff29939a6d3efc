#!/usr/bin/env bash
# Copies every distinct version of every Stateful DataFlow file (dataflow.yaml, data-pipeline.yaml,
# sdf-package.yaml) in the history of the given git clones into fixtures/fluvio-corpus, with its
# origin (owner/repo@commit:path) in ORIGINS.tsv. The newest version keeps its own path (so a
# dataflow's `dev.imports` path finds its package, even one deleted since); older ones sit beside it as NAME@COMMIT7.yaml,
# COMMIT being the newest commit that still had that version.
#   usage: tools/fluvio-corpus/extract.sh OWNER/REPO=/path/to/clone ...
set -euo pipefail
out="$(cd "$(dirname "$0")/../.." && pwd)/fixtures/fluvio-corpus"
mkdir -p "$out"
origins="$out/ORIGINS.tsv"
printf 'file\torigin\n' > "$origins"
for spec in "$@"; do
  repo="${spec%%=*}"; clone="${spec#*=}"
  # A shallow or partial clone lacks some old trees; what can be read is taken.
  { git -C "$clone" log --all --format= --name-only 2>/dev/null || true; } | grep -E '(^|/)(dataflow|sdf-package|data-pipeline)\.yaml$' | sort -u |
  while read -r path; do
    declare -A seen=()
    # Newest commit first: the first commit met for a blob is the newest that had it.
    while read -r commit; do
      blob=$(git -C "$clone" rev-parse -q --verify "$commit:$path" 2>/dev/null) || continue
      [[ -n "${seen[$blob]:-}" ]] && continue
      seen[$blob]=1
      git -C "$clone" cat-file -e "$blob" 2>/dev/null || continue
      if [[ ${#seen[@]} -eq 1 ]]; then
        rel="$repo/$path"
      else
        dir=$(dirname "$path"); base=$(basename "$path" .yaml)
        rel="$repo/$dir/$base@${commit:0:7}.yaml"
        rel="${rel/\/.\//\/}"
      fi
      mkdir -p "$out/$(dirname "$rel")"
      git -C "$clone" cat-file blob "$blob" > "$out/$rel"
      printf '%s\t%s@%s:%s\n' "$rel" "$repo" "$commit" "$path" >> "$origins"
    done < <(git -C "$clone" log --all --format=%H -- "$path" 2>/dev/null || true)
    unset seen
  done
done
echo "$(($(wc -l < "$origins") - 1)) files in $out"
