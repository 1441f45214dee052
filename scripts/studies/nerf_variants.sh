#!/bin/bash
# docs/studies/asmr-nerf.md: asmr-nerf variants one after another on one thread, each evaluated on the test views at
# every saved checkpoint (every 250 iterations), one JSON line per checkpoint in WORK/results.jsonl.
#   bash scripts/studies/nerf_variants.sh WORK ITERATIONS SEED NAME "EXTRA NS-TRAIN ARGS" [NAME "ARGS" ...]
# e.g. bash scripts/studies/nerf_variants.sh /tmp/speckle 500 0 default "" continuous \
#        "--pipeline.model.continuous-finest True"
set -e
WORK=${1:?a work folder}; ITERATIONS=${2:?iterations}; SEED=${3:?seed}; shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
cd "$WORK"
export OMP_NUM_THREADS=1
[ -d scene ] || asmr-scene --out scene
while [ $# -gt 1 ]; do
  name=$1; extra=$2; shift 2
  run=out_${name}_s${SEED}_${ITERATIONS}
  [ -d "$run" ] && { echo "$run exists, skipped"; continue; }
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  ns-train asmr-nerf --data scene --max-num-iterations "$ITERATIONS" --machine.seed "$SEED" $extra \
    --steps-per-save 250 --save-only-latest-checkpoint False --steps-per-eval-image 100000 \
    --steps-per-eval-all-images 100000 --vis tensorboard --output-dir "$run" --timestamp run > "$run.log" 2>&1
  end=$(date +%s.%N)
  python "$HERE/nerf_eval.py" "$run/scene/asmr-nerf/run" "$name" "$(echo "$end - $start" | bc)" results.jsonl \
    --seed "$SEED" --extra "$extra"
done
