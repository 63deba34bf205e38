#!/usr/bin/env bash
# Formatting (clang-format), the folders' dependency order (scripts/check-deps.sh), file sizes
# (no .cpp/.h over 500 lines, tests included) and static checks (clang-tidy, warnings as errors,
# no function over 80 lines) over the sources.
# Needs a configured build/ (compile_commands.json); scripts/test.sh makes one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh lint
sources=$(git ls-files '*.cpp' '*.h')
clang-format --dry-run -Werror $sources
scripts/check-deps.sh
scripts/readme-tree.sh --check
# No source file over 500 lines (STYLE.md). The HTML page's CSS and JS are .css/.js files, and
# their embedded form is generated in build/, so neither is counted.
too_long=$(git ls-files '*.cpp' '*.h' | xargs wc -l | awk '$2 != "total" && $1 > 500 { print "  " $2 ": " $1 " lines" }')
if [ -n "$too_long" ]; then
  echo "lint: files over 500 lines (split them by concern):"
  echo "$too_long"
  exit 1
fi
git ls-files 'framework/*.cpp' 'layers/*.cpp' 'optimizers/*.cpp' 'io/*.cpp' 'models/*.cpp' \
    'train/*.cpp' 'report/*.cpp' 'apps/*.cpp' |
    xargs -P"$(nproc)" -n1 clang-tidy -p build --quiet
echo "lint: clang-format, check-deps, file sizes and clang-tidy clean"
