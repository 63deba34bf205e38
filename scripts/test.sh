#!/usr/bin/env bash
# Installs the dependencies, builds cnnmem (Release, warnings as errors) and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build tests
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
# The README's screenshot (docs/vgg16-train-batch8.png): the HTML page of vgg16 training at batch
# 8 with SGD, predicted (no step runs, about a second), drawn by headless Chromium offline.
shot_dir=$(mktemp -d)
trap 'rm -rf "$shot_dir"' EXIT
build/cnnmem cost --model vgg16 --mode train --batch 8 --optimizer sgd --threads 2 \
  --html "$shot_dir/vgg16.html" >/dev/null
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$shot_dir/profile" --window-size=1400,1000 \
  --screenshot="$shot_dir/page.png" "file://$shot_dir/vgg16.html" >/dev/null 2>&1
mkdir -p docs
mv "$shot_dir/page.png" docs/vgg16-train-batch8.png
