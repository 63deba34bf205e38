#!/usr/bin/env bash
# Prints the source tree as the README's "How it works" shows it: each folder, what it is for,
# and the names of its sources (a .h/.cpp pair once). With --check, exits 1 when the README's
# block (between the "tree:begin" and "tree:end" markers) differs from the real tree.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=(framework layers optimizers io models train report apps)
declare -A purpose=(
  [framework]="the core: graph, interfaces, step compiler, planner, arena, executor"
  [layers]="the layers and the losses, on oneDNN primitives"
  [optimizers]="PyTorch 1.13's optimizers"
  [io]="files in and out: data sets, safetensors, training states, planner CSV"
  [models]="the built-in models and ONNX import"
  [train]="epochs, the input pipeline, evaluation"
  [report]="what a step cost, in text, JSON, HTML, traces and timelines"
  [apps]="the cnnmem command line"
)
tree() {
  for f in "${folders[@]}"; do
    names=$(git ls-files -co --exclude-standard "$f/*.h" "$f/*.cpp" | sed -E 's#.*/##; s/\.(h|cpp)$//' |
            sort -u | tr '\n' ' ' | sed 's/ $//')
    printf '%s/  %s\n' "$f" "${purpose[$f]}"
    fold -s -w 94 <<<"$names" | sed 's/ *$//; s/^/    /'
  done
}
if [ "${1:-}" = --check ]; then
  readme=$(sed -n '/<!-- tree:begin -->/,/<!-- tree:end -->/p' README.md | sed '1,2d;$d' | sed '$d')
  if [ "$readme" != "$(tree)" ]; then
    echo "readme-tree: README.md's source tree is out of date; paste the output of scripts/readme-tree.sh" >&2
    diff <(echo "$readme") <(tree) >&2 || true
    exit 1
  fi
  echo "readme-tree: README.md's source tree matches the real one"
else
  tree
fi
