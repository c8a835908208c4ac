#!/usr/bin/env bash
# COLORBENCH-PBR's three sets rendered from their seeds into runs/pbr/ (tune 60, test 300, OOD 100; 128 px,
# 256 spp), each split over PROCESSES processes (RANK/WORLD_SIZE), one core and one Mitsuba thread each, at low
# priority. Resumable: every finished sample is a record file, so a run stopped at any moment (a session that
# ends, a checkout that loses runs/) goes on where it stopped when started again; each set's manifest is
# written by the last of its processes to finish. ~15-25 s a sample on one shared core.
#
#   nohup bash tools/render-pbr-sets.sh > runs/pbr/render.log 2>&1 &      # PROCESSES=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
PROCESSES=${PROCESSES:-2}
for set_and_count in "tune 60" "test 300" "ood 100"; do
  read -r split count <<< "$set_and_count"
  for rank in $(seq 0 $((PROCESSES - 1))); do
    RANK=$rank WORLD_SIZE=$PROCESSES nice -n 10 coloredit bench build --world pbr --split "$split" --n "$count" \
      --out "runs/pbr/$split" &
  done
  wait
done
