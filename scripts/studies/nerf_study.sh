#!/bin/bash
# docs/studies/asmr-nerf.md: asmr-nerf's field against nerfstudio's NeRFField (+ positional encoding) in the same
# model, sampler, loss, rays and schedule, 1,000 iterations, a checkpoint every 250, one thread each, side by side.
#   bash scripts/studies/nerf_study.sh WORK_DIR          (then: python scripts/studies/nerf_eval.py ... per run)
set -e
WORK=${1:?a work folder}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
cd "$WORK"
export OMP_NUM_THREADS=1
asmr-scene --out scene --overwrite
for field in asmr nerf; do
  ( start=$(date +%s.%N)
    ns-train asmr-nerf --data scene --pipeline.model.field $field --max-num-iterations 1000 \
      --steps-per-save 250 --save-only-latest-checkpoint False --steps-per-eval-image 100000 \
      --steps-per-eval-all-images 100000 --vis tensorboard --output-dir out_$field --timestamp run > train_$field.log 2>&1
    end=$(date +%s.%N)
    python "$HERE/nerf_eval.py" out_$field/scene/asmr-nerf/run $field "$(echo "$end - $start" | bc)" results.jsonl ) &
done
wait
