#!/usr/bin/env bash
# Train the toy model on a lent GPU (the workplace's `device` tool) with the CPU recipe of
# docs/toy-world.md, draw for draw (the grounding stage after the U-Net's), and a second U-Net twice as long
# on the same VAE; writes $OUT/toy-<steps>.tar (diffusers folders, fp16) and $OUT/train.log. The U-Net,
# grounding and decoder stages stop
# LIMIT seconds after the start (default 430), so the folders are written well inside the device's
# 10-minute limit; a second call on the still-warm machine goes on from the checkpoints in runs/gpu-train.
#
# The GPU image has no diffusers; carry its wheel (see benchmarks/gpu.sh): run with carry [".whl"].
# A smoke test anywhere:
# DEVICE=cpu IMAGES=64 VAE_STEPS=2 UNET_STEPS=2 LONG_STEPS=3 GROUNDING_STEPS=2 DECODER_STEPS=2 bash tools/gpu-train-toy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null && [ ! -d /tmp/site/diffusers ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
fi
export PYTHONPATH="/tmp/site:$PWD/src" TQDM_MININTERVAL=15 OMP_WAIT_POLICY=PASSIVE
export PYTHON="${PYTHON:-python3}" DEVICE="${DEVICE:-cuda}"
OUT="${OUT:-out}"
export WORK="${WORK:-runs/gpu-train}"
export IMAGES="${IMAGES:-20000}" VAE_STEPS="${VAE_STEPS:-6000}" DECODER_STEPS="${DECODER_STEPS:-1500}"
export GROUNDING_STEPS="${GROUNDING_STEPS:-1200}"
UNET_STEPS="${UNET_STEPS:-4000}" LONG_STEPS="${LONG_STEPS:-8000}"
mkdir -p "$OUT" "$WORK/short" "$WORK/long"
log="$OUT/train.log"
nvidia-smi --query-gpu=name,memory.total --format=csv >> "$log" 2>&1 || true
train() {  # work folder, U-Net steps, stages
  "$PYTHON" -m coloredit.toy train --work "$WORK/$1" --out "$WORK/toy-$2" --images "$IMAGES" --workers 15 \
    --vae-steps "$VAE_STEPS" --unet-steps "$2" --decoder-steps "$DECODER_STEPS" --threads 1 \
    --grounding-steps "$GROUNDING_STEPS" \
    --device "$DEVICE" --stages "$3"
}
SECONDS=0
train short "$UNET_STEPS" vae >> "$log" 2>&1
echo "vae stage and latents: $SECONDS s" >> "$log"
# the long U-Net shares the renders, the VAE, its latents and the decoder stage
for f in "$WORK"/short/data-*.npz "$WORK"/short/vae.pt "$WORK"/short/latents-*.pt; do
  ln -sf "../short/$(basename "$f")" "$WORK/long/"
done
ln -sf ../short/decoder.pt "$WORK/long/decoder.pt"
left=$(( ${LIMIT:-430} - SECONDS ))
timeout "$left" bash -c "$(declare -f train); train short $UNET_STEPS unet,grounding" > "$WORK/short.log" 2>&1 &
timeout "$left" bash -c "$(declare -f train); train long $LONG_STEPS unet,grounding" > "$WORK/long.log" 2>&1 &
timeout "$left" bash -c "$(declare -f train); train short $UNET_STEPS decoder" > "$WORK/decoder.log" 2>&1 &
wait || true
echo "unet + grounding, long unet + grounding and decoder stages: $SECONDS s" >> "$log"
tail -c 600 "$WORK"/*.log >> "$log"
for steps in "$UNET_STEPS" "$LONG_STEPS"; do
  work=short; [ "$steps" = "$LONG_STEPS" ] && work=long
  if train "$work" "$steps" "" >> "$log" 2>&1 && [ -d "$WORK/toy-$steps" ]; then
    tar -cf "$OUT/toy-$steps.tar" -C "$WORK" "toy-$steps"
  fi
done
echo "done: $SECONDS s" >> "$log"
