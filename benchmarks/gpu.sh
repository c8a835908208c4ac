#!/usr/bin/env bash
# Full-size SD 1.4 edit speed on the lent GPU (the workplace's `device` tool), fp16, 512x512, random
# weights; writes $OUT/edit_speed.json and a log. Meant to end well inside 8 minutes.
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
timeout 460 python3 benchmarks/edit_speed.py --full-size --device cuda --dtype float16 \
  --json-out "$OUT/edit_speed.json" 2>&1 | tee "$OUT/edit_speed.log"
