#!/usr/bin/env bash
# Formatting (clang-format), the folders' dependency order (scripts/check-deps.sh) and static
# checks (clang-tidy, warnings as errors) over the sources.
# Needs a configured build/ (compile_commands.json); scripts/test.sh makes one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh lint
sources=$(git ls-files '*.cpp' '*.h')
clang-format --dry-run -Werror $sources
scripts/check-deps.sh
scripts/readme-tree.sh --check
git ls-files 'framework/*.cpp' 'layers/*.cpp' 'optimizers/*.cpp' 'io/*.cpp' 'models/*.cpp' \
    'train/*.cpp' 'report/*.cpp' 'apps/*.cpp' | xargs -P"$(nproc)" -n1 clang-tidy -p build --quiet
echo "lint: clang-format, check-deps and clang-tidy clean"
