#!/usr/bin/env bash
# Prints command N (1 or 2) of the README's opening block, exactly as written, so that CI runs
# what a new user runs: the line after the comment "# N." in the first ```sh block.
#   scripts/readme-commands.sh 1   # install, build, train LeNet-5, print the memory report
#   scripts/readme-commands.sh 2   # install, build, run the tests
set -euo pipefail
n=${1:?usage: readme-commands.sh 1|2}
readme="$(dirname "$0")/../README.md"
cmd=$(awk -v n="$n" '
  /^```sh$/ && !seen { inside = 1; seen = 1; next }
  inside && /^```$/ { exit }
  inside && want { print; exit }
  inside && $0 ~ "^# " n "\\. " { want = 1 }
' "$readme")
[ -n "$cmd" ] || { echo "readme-commands: README.md has no command $n (a line after '# $n. ...' in its first sh block)" >&2; exit 1; }
printf '%s\n' "$cmd"
