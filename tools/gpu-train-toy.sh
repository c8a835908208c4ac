#!/usr/bin/env bash
# Train the toy model's U-Net and grounding stages on a lent GPU (the workplace's `device` tool), longer and on
# larger batches than the CPU recipe allows, on that recipe's VAE and decoder (FROM: a folder holding its
# complete vae.pt and decoder.pt, carried); INIT (optional, carried): a U-Net stage's averages
# (unet-average.pt of an earlier run) for the U-Net stage to start from, with a schedule of its own. The stages
# are sized to the lease: STEPS=auto times the real training loop once the renders are done (timing beside 14
# rendering processes overestimated a step by half) and fits the U-Net and grounding steps (GROUNDING_SHARE of
# the U-Net's) into DEADLINE seconds from the start. Writes to $OUT: toy-grounded.tar and toy-plain.tar (diffusers
# folders, fp16; plain: the U-Net stage's weights, written first in case grounding runs out of time),
# unet-average.pt (the U-Net stage's averages, fp32, from which `--stages grounding` can go on elsewhere),
# step-times.json and train.log (the steps chosen, to reproduce the run with STEPS=<unet steps>).
#
# The GPU image has no diffusers; carry its wheel (see benchmarks/gpu.sh). A smoke test anywhere:
# DEVICE=cpu IMAGES=64 STEPS=4 FROM=runs/toy-train-v5 bash tools/gpu-train-toy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
if compgen -G ".whl/*.whl" > /dev/null && [ ! -d /tmp/site/diffusers ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
fi
export PYTHONPATH="/tmp/site:$PWD/src" TQDM_MININTERVAL=15 OMP_WAIT_POLICY=PASSIVE PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-python3}" DEVICE="${DEVICE:-cuda}" OUT="${OUT:-out}" WORK="${WORK:-runs/gpu-train}"
FROM="${FROM:?a folder with the CPU recipe vae.pt and decoder.pt}" INIT="${INIT:-}"
IMAGES="${IMAGES:-40000}" BATCH="${BATCH:-256}" STEPS="${STEPS:-auto}" MAX_STEPS="${MAX_STEPS:-16000}"
GROUNDING_SHARE="${GROUNDING_SHARE:-0.4}" DEADLINE="${DEADLINE:-520}" WORKERS="${WORKERS:-14}"
mkdir -p "$OUT" "$WORK"
for f in vae.pt decoder.pt; do [ -e "$WORK/$f" ] || cp "$FROM/$f" "$WORK/"; done
log="$OUT/train.log"
nvidia-smi --query-gpu=name,memory.total --format=csv >> "$log" 2>&1 || true
recipe=(--images "$IMAGES" --vae-steps 6000 --decoder-steps 1500 --unet-batch "$BATCH" --workers "$WORKERS"
  --threads 1 --checkpoint-every 500 --device "$DEVICE")
train() {  # stages, U-Net steps, grounding steps, out folder, more options
  "$PYTHON" -m coloredit.toy train --work "$WORK" --out "$WORK/$4" "${recipe[@]}" --stages "$1" \
    --unet-steps "$2" --grounding-steps "$3" "${@:5}" >> "$log" 2>&1
}

"$PYTHON" -c "from pathlib import Path; from coloredit.toy.train import TrainConfig, dataset
dataset(TrainConfig(images=$IMAGES, workers=$WORKERS), Path('$WORK'))" >> "$log" 2>&1
echo "renders: $SECONDS s" >> "$log"
if [ "$STEPS" = auto ]; then
  "$PYTHON" tools/time_unet_step.py --device "$DEVICE" --unet-batch "$BATCH" 2>> "$log" | tee "$OUT/step-times.json" >> "$log"
  echo "timing: $SECONDS s" >> "$log"
fi
# the grounding stage's masks on the CPU while the U-Net stage trains
"$PYTHON" -c "from pathlib import Path; from coloredit.toy.train import TrainConfig, object_masks
object_masks(TrainConfig(images=$IMAGES, workers=$WORKERS - 1), Path('$WORK'))" >> "$log" 2>&1 &
masks=$!
if [ "$STEPS" = auto ]; then  # ~25 s for each of the two runs' start, the latents and the tars
  STEPS=$("$PYTHON" -c "import json; t = json.load(open('$OUT/step-times.json'))
left = $DEADLINE - $SECONDS - 100
print(min($MAX_STEPS, int(left / (t['unet'] + $GROUNDING_SHARE * t['grounding']) / 100) * 100))")
fi
GROUNDING_STEPS=$("$PYTHON" -c "print(int($STEPS * $GROUNDING_SHARE))")
echo "U-Net steps $STEPS, grounding steps $GROUNDING_STEPS, batch $BATCH, images $IMAGES" >> "$log"
train unet "$STEPS" 0 toy-plain ${INIT:+--init "$INIT"}  # every stage complete: it writes the folder
tar -cf "$OUT/toy-plain.tar" -C "$WORK" toy-plain
"$PYTHON" -c "import torch; s = torch.load('$WORK/unet.pt', map_location='cpu', weights_only=False)
torch.save({k: s[k] for k in ('ema_unet', 'ema_text', 'step')}, '$OUT/unet-average.pt')"
echo "U-Net stage: $SECONDS s" >> "$log"
wait "$masks"
left=$(( DEADLINE - SECONDS - 20 ))
if timeout "$left" bash -c "$(declare -f train); $(declare -p recipe WORK PYTHON log); \
    train grounding $STEPS $GROUNDING_STEPS toy-grounded"; then
  tar -cf "$OUT/toy-grounded.tar" -C "$WORK" toy-grounded
fi
echo "done: $SECONDS s" >> "$log"
