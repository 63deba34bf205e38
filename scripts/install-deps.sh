#!/usr/bin/env bash
# Installs what cnnmem needs to build, test and train, from Debian 12's packages (run as root).
# Skips apt entirely when everything is already there.
set -euo pipefail
packages=(cmake g++ make libdnnl-dev libtbb-dev nlohmann-json3-dev libcli11-dev libgtest-dev
          libgmock-dev libbenchmark-dev zlib1g-dev dataset-fashion-mnist
          chromium fonts-dejavu-core  # headless Chromium and a font: the HTML report's tests
          libonnx-dev libprotobuf-dev libonnx-testdata)  # ONNX import and its conformance tests
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
