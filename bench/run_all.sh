#!/usr/bin/env bash
# Runs every measurement behind bench/RESULTS.md and keeps the raw output in one directory.
#   bench/run_all.sh [out_dir]            (default /tmp/cnnmem-bench; build-bench must be built)
# Google Benchmark suites run 3 repetitions, randomly interleaved, and report medians; the
# PyTorch comparison alternates runs. Not here: building (see bench/RESULTS.md for the command).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build-bench"
out="${1:-/tmp/cnnmem-bench}"
mkdir -p "$out"
gb=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
    --benchmark_report_aggregates_only=true --benchmark_display_aggregates_only=true)

weather() { "$bin/omp_bench" --benchmark_filter=empty_region --benchmark_min_time=0.2 2>/dev/null |
            grep '^omp' | awk '{print $1, $2, $3}'; uptime; }

{ echo "== before"; weather; } | tee "$out/weather.txt"
"$bin/omp_bench" "${gb[@]}" | tee "$out/omp_bench.txt"
"$bin/update_bench" "${gb[@]}" | tee "$out/update_bench.txt"
CNNMEM_BENCH_PROFILE=1 "$bin/ceiling_bench" "${gb[@]}" 2> "$out/ceiling_profile.txt" |
  tee "$out/ceiling_bench.txt"
"$bin/step_bench" "${gb[@]}" | tee "$out/step_bench.txt"
"$bin/layers_bench" "${gb[@]}" | tee "$out/layers_bench.txt"
{ echo "== after benchmarks"; weather; } | tee -a "$out/weather.txt"
for t in 2 1; do
  python3 "$root/bench/onednn_verbose_summary.py" --cnnmem "$bin/cnnmem" -- train --model vgg-mini \
    --data synthetic --max-steps 3 --batch 64 --optimizer adam --threads $t --no-eval --json |
    tee "$out/verbose_vgg-mini_t$t.txt"
done
/usr/bin/python3 "$root/bench/compare_torch.py" --cnnmem "$bin/cnnmem" --json "$out/compare.json" |
  tee "$out/compare_torch.txt"
{ echo "== after all"; weather; } | tee -a "$out/weather.txt"
