#!/bin/bash
# docs/studies/asmr-nerf.md in one command: asmr-nerf's field (its defaults), nerfstudio's NeRFField and nerfacto's
# field in the same model for 1,000 iterations (seeds 42 and 0), then the 500-iteration screen of ASMR variants
# (seed 42), each run on one thread after the other; every checkpoint's test PSNR and SSIM -> WORK/results.jsonl.
# About 3.5 hours on one core of this 2-core CPU (run two copies with different WORK folders to use both).
#   bash scripts/studies/nerf_study.sh WORK
set -e
WORK=${1:?a work folder}
HERE=$(cd "$(dirname "$0")" && pwd)
OLD="--pipeline.model.hidden-dim 128 --pipeline.model.smoothness 0 --pipeline.model.output-gain 1"
for seed in 42 0; do
  bash "$HERE/nerf_variants.sh" "$WORK" 1000 $seed asmr-tuned "" nerf "--pipeline.model.field nerf"
done
bash "$HERE/nerf_variants.sh" "$WORK" 1000 42 nerfacto "--pipeline.model.field nerfacto" h128-old-defaults "$OLD"
bash "$HERE/nerf_variants.sh" "$WORK" 500 42 \
  h128-old-defaults "$OLD" \
  lr2e-3 "$OLD --optimizers.fields.optimizer.lr 2e-3" \
  bases64 "$OLD --pipeline.model.bases 2,2,4,4" \
  gain3 "$OLD --pipeline.model.output-gain 3" \
  gain10 "$OLD --pipeline.model.output-gain 10" \
  smooth0.1 "$OLD --pipeline.model.smoothness 0.1" \
  smooth1 "$OLD --pipeline.model.smoothness 1" \
  smooth3 "$OLD --pipeline.model.smoothness 3" \
  h192 "$OLD --pipeline.model.hidden-dim 192" \
  h192-smooth1 "$OLD --pipeline.model.hidden-dim 192 --pipeline.model.smoothness 1" \
  h192-smooth1-gain3 "--pipeline.model.hidden-dim 192 --pipeline.model.smoothness 1 --pipeline.model.output-gain 3" \
  h192-smooth1-gain3-features7 "--pipeline.model.feature-dim 7"
