#!/usr/bin/env bash
# Does augmentation slow training down? vgg-mini on Fashion-MNIST at batch 64 with Adam, the
# same run with and without the input pipeline's crop, flip and normalisation, alternated ROUNDS
# times (default 3) so that a noisy machine affects both alike; prints images/s and the ratio.
#   bench/input_pipeline.sh [build/cnnmem] [ROUNDS]
set -euo pipefail
cnnmem=${1:-build/cnnmem}
rounds=${2:-3}
run() {
  "$cnnmem" train --model vgg-mini --data fashion-mnist --batch 64 --max-steps 200 \
    --optimizer adam --lr 0.001 --no-eval --threads 2 --json "$@" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["images_per_sec"])'
}
plain=() aug=()
for _ in $(seq "$rounds"); do
  plain+=("$(run)")
  aug+=("$(run --random-crop 2 --hflip --normalize auto)")
done
python3 - "${plain[*]}" "${aug[*]}" <<'PY'
import statistics, sys
plain = [float(x) for x in sys.argv[1].split()]
aug = [float(x) for x in sys.argv[2].split()]
p, a = statistics.median(plain), statistics.median(aug)
print(f"without augmentation: {p:.0f} images/s (runs: {', '.join(f'{x:.0f}' for x in plain)})")
print(f"with crop+flip+normalize: {a:.0f} images/s (runs: {', '.join(f'{x:.0f}' for x in aug)})")
print(f"ratio: {a / p:.3f}")
PY
