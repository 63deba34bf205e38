#!/usr/bin/env bash
# Checks that data flows one way between the library's folders: each folder may include only
# the folders listed for it below (the same order as the CMake targets in CMakeLists.txt).
# Prints every #include that breaks the order and exits 1; tests/, bench/ and fuzz/ may use all.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [framework]="framework"
  [layers]="framework layers"
  [optimizers]="framework optimizers"
  [io]="framework io"
  [models]="framework layers io models onnx"
  [train]="framework io train"
  [report]="framework train report"
  [apps]="framework layers optimizers io models train report apps"
)
bad=0
for folder in "${!allowed[@]}"; do
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    target=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$rest")
    if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
      echo "check-deps: $file:$line includes $target/ (a $folder file may include: ${allowed[$folder]})" >&2
      bad=1
    fi
  done < <(git ls-files -co --exclude-standard "$folder/*.cpp" "$folder/*.h" | xargs -r grep -Hn '^#include "[^/"]*/' || true)
done
[ "$bad" = 0 ] && echo "check-deps: every folder includes only the folders below it"
exit "$bad"
