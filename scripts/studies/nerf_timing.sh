#!/bin/bash
# docs/studies/asmr-nerf.md: seconds per asmr-nerf iteration of each field under the same load, one after another on
# one thread (60 iterations each; the median of iterations 10-60 of each run's log) -> WORK/timing.jsonl.
#   bash scripts/studies/nerf_timing.sh WORK
set -e
WORK=${1:?a work folder}
mkdir -p "$WORK"
cd "$WORK"
export OMP_NUM_THREADS=1
[ -d scene ] || asmr-scene --out scene
OLD="--pipeline.model.hidden-dim 128 --pipeline.model.smoothness 0 --pipeline.model.output-gain 1"
for pair in "asmr-tuned|" "h128-old-defaults|$OLD" "nerf|--pipeline.model.field nerf" "nerfacto|--pipeline.model.field nerfacto"; do
  name=${pair%%|*}; extra=${pair#*|}
  rm -rf "timing_$name"
  # shellcheck disable=SC2086
  ns-train asmr-nerf --data scene --max-num-iterations 60 $extra --steps-per-save 1000 --steps-per-eval-batch 1000 \
    --steps-per-eval-image 1000 --steps-per-eval-all-images 1000 --vis tensorboard --output-dir "timing_$name" \
    --timestamp run > "timing_$name.log" 2>&1
  python - "$name" "timing_$name" <<'PY' >> timing.jsonl
import glob, json, statistics, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
events = EventAccumulator(glob.glob(f"{sys.argv[2]}/*/asmr-nerf/run")[0])
events.Reload()
times = [event.value for event in events.Scalars("Train Iter (time)") if event.step >= 10]
print(json.dumps({"field": sys.argv[1], "iterations": len(times), "iteration_seconds": statistics.median(times)}))
PY
  tail -1 timing.jsonl
done
