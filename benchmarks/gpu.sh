#!/usr/bin/env bash
# Full-size SD 1.4 (512x512) and SDXL base (1024x1024) edit speed on the lent GPU (the workplace's `device`
# tool), fp16, random weights; writes $OUT/edit_speed.json, $OUT/edit_speed_sdxl.json and logs. Meant to end
# well inside 8 minutes (targets: SD 1.4 edit < 3 s, SDXL edit < 10 s on an H100). `bash benchmarks/gpu.sh flux`
# runs FLUX.1-dev's architecture instead (bf16, 8 steps, floor and fast; needs a 40 GB+ GPU; not yet run).
# `bash benchmarks/gpu.sh engine` times the exact-color engine and the designer's commands on a 12 MP photo
# (benchmarks/full_resolution.py: numpy on that machine's cores, no GPU needed; scipy's wheel carried like
# diffusers' where the image lacks it).
#
# The GPU image has torch and transformers but no diffusers; carry its wheel. Once, here:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl diffusers==0.42.1
# Then run `bash benchmarks/gpu.sh` through the device tool with carry [".whl"].
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/src"
else
  export PYTHONPATH="$PWD/src"
fi
OUT="${OUT:-out}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
if [[ "${1:-}" == "engine" ]]; then
  timeout 300 python3 benchmarks/full_resolution.py --json | tee "$OUT/full_resolution.json"
  exit 0
fi
if [[ "${1:-}" == "flux" ]]; then  # `bash benchmarks/gpu.sh flux`: FLUX.1-dev's architecture alone, bf16, 1024 px
  timeout 500 python3 benchmarks/edit_speed.py --full-size flux --device cuda --dtype bfloat16 --steps 8 \
    --stages floor,fast --json-out "$OUT/edit_speed_flux.json" 2>&1 | tee "$OUT/edit_speed_flux.log"
  exit 0
fi
timeout 200 python3 benchmarks/edit_speed.py --full-size --device cuda --dtype float16 \
  --stages floor,paper,fast,fast_cached --json-out "$OUT/edit_speed.json" 2>&1 | tee "$OUT/edit_speed.log"
timeout 260 python3 benchmarks/edit_speed.py --full-size sdxl --device cuda --dtype float16 \
  --stages floor,fast,fast_cached,colors_3 --json-out "$OUT/edit_speed_sdxl.json" 2>&1 | tee "$OUT/edit_speed_sdxl.log"
