#!/usr/bin/env bash
# Formatting (clang-format) and static checks (clang-tidy, warnings as errors) over the sources.
# Needs a configured build/ (compile_commands.json); scripts/test.sh makes one.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null && command -v clang-tidy >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq clang-format clang-tidy >/dev/null
}
sources=$(git ls-files '*.cpp' '*.h')
clang-format --dry-run -Werror $sources
git ls-files 'framework/*.cpp' 'layers/*.cpp' 'optimizers/*.cpp' 'io/*.cpp' 'models/*.cpp' \
    'apps/*.cpp' | xargs -P"$(nproc)" -n1 clang-tidy -p build --quiet
echo "lint: clang-format and clang-tidy clean"
