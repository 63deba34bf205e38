#!/usr/bin/env bash
# Installs what cnnmem needs from Debian 12's packages (run as root), recommended or not: apt runs
# with --no-install-recommends, so every package the build uses is named here.
#   scripts/install-deps.sh               # build and train (what `cmake -S . -B build` needs)
#   scripts/install-deps.sh build tests   # also what scripts/test.sh needs
#   scripts/install-deps.sh fuzz          # clang and the readers' libraries (scripts/fuzz.sh)
#   scripts/install-deps.sh lint          # clang-format and clang-tidy (scripts/lint.sh)
# Skips apt entirely when everything is already there.
set -euo pipefail

build=(cmake g++ make pkg-config
       libdnnl-dev ocl-icd-opencl-dev  # oneDNN 2.6; Debian's dnnl-config.cmake requires OpenCL
       libtbb-dev nlohmann-json3-dev libcli11-dev zlib1g-dev
       libgtest-dev libgmock-dev libbenchmark-dev  # the tests and benchmarks build by default
       libonnx-dev libprotobuf-dev                 # ONNX import
       libpng-dev libturbojpeg0-dev                # image folders (io/image_decode.cpp)
       dataset-fashion-mnist)
tests=(chromium fonts-dejavu-core  # headless Chromium and a font: the HTML report's tests
       libonnx-testdata)           # ONNX's backend test cases (conformance tests)
fuzz=(clang libclang-rt-14-dev cmake make pkg-config zlib1g-dev nlohmann-json3-dev libonnx-dev
      libprotobuf-dev libpng-dev libturbojpeg0-dev)
lint=(clang-format clang-tidy)

[ $# -gt 0 ] || set -- build
wanted=()
for set_name in "$@"; do
  case "$set_name" in
    build) wanted+=("${build[@]}") ;;
    tests) wanted+=("${tests[@]}") ;;
    fuzz) wanted+=("${fuzz[@]}") ;;
    lint) wanted+=("${lint[@]}") ;;
    *) echo "install-deps: unknown set '$set_name' (use build, tests, fuzz or lint)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install-deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
