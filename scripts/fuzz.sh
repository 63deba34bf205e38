#!/usr/bin/env bash
# Builds the libFuzzer targets of the readers (fuzz/*_fuzz.cpp) with clang in build-fuzz/ and
# runs each for FUZZ_SECONDS (default 60) from its seed corpus fuzz/corpus/<name>/. Fails if any
# target finds a crash, a sanitizer report, a leak, a timeout or an out-of-memory input; the
# input is saved as build-fuzz/artifacts/<name>-crash-* (turn it into a test in tests/io/).
# Prints how many inputs each target executed.
#   scripts/fuzz.sh                 # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh idx_fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"

# clang and its libFuzzer/sanitizer runtimes (Debian 12: clang 14), installed when missing (root).
scripts/install-deps.sh fuzz

cmake -S . -B build-fuzz -DCNNMEM_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

mkdir -p build-fuzz/artifacts
failed=()
summary=()
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  seeds="fuzz/corpus/$name"
  work="build-fuzz/corpus/$name"  # new inputs go here, never into the committed seeds
  mkdir -p "$work"
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  log="build-fuzz/$target.log"
  echo "fuzz: $target for ${seconds} s (seeds: $seeds, log: $log)" >&2
  rc=0
  # -timeout: an input taking 10 s is a finding; -rss_limit_mb: so is one needing 2 GB.
  "build-fuzz/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="build-fuzz/artifacts/$name-" "${dict[@]}" \
      "$work" "$seeds" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    failed+=("$target")
    tail -n 40 "$log" >&2
    summary+=("$target: FAILED (exit $rc) after ${runs:-?} inputs; see $log and build-fuzz/artifacts/")
  else
    summary+=("$target: ${runs:-?} inputs in ${seconds} s, no finding")
  fi
done
printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
