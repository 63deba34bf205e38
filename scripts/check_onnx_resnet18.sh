#!/usr/bin/env bash
# Exports torchvision's resnet18 (seeded weights and BatchNorm statistics, batch 2 at 3x224x224)
# with PyTorch 1.13 to a temporary directory (45 MB: not committed), imports it with cnnmem's ONNX
# importer, runs inference through the Executor, and prints the parameter counts and the largest
# difference from PyTorch's output; fails above 1e-4 or when the counts differ.
#   scripts/check_onnx_resnet18.sh [BUILD_DIR]     # default build/ (needs cnnmem_tests built)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
dir="$(mktemp -d /tmp/cnnmem-resnet18.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 scripts/make_onnx_fixtures.py --resnet18 "$dir" 2>/dev/null
CNNMEM_ONNX_MODEL="$dir/resnet18" "$build/cnnmem_tests" --gtest_also_run_disabled_tests \
    --gtest_filter='OnnxImport.DISABLED_ExportedModelFromEnvironment' | grep -E 'parameters|OK|FAILED'
