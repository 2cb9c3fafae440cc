#!/usr/bin/env bash
# Fails when a tracked file is over 1 MiB, or is executable without being a
# script (a #! first line): build output such as a Go test binary must never
# be committed, since every clone downloads it for good.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((1024 * 1024))
bad=0
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] || continue # deleted in the work tree
  size=$(stat -c %s "$f")
  if (( size > limit )); then
    echo "tracked file $f is $size bytes, over the 1 MiB limit" >&2
    bad=1
  fi
done < <(git ls-files -z)
while IFS= read -r line; do
  f="${line#*$'\t'}"
  [[ -f "$f" ]] || continue
  if [[ "$(head -c 2 "$f")" != "#!" ]]; then
    echo "tracked file $f is executable but not a script (no #! line)" >&2
    bad=1
  fi
done < <(git ls-files -s | awk '$1 == "100755" { sub(/^[^\t]*\t/, ""); print "x\t" $0 }')
exit "$bad"
