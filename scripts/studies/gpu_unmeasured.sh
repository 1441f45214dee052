#!/usr/bin/env bash
# The study figures two CPU cores could not afford, on one GPU, most wanted first; each fit is appended to
# OUT/<study>.jsonl as it ends, so a run stopped by its time limit keeps what it finished:
#   1. scale: ASMR (4) and SIREN (4) at 512 px, 2K steps, Cameraman and four Kodak images (docs/studies/scale.md);
#   2. init: Kodak at 512x768, the paper's 10K steps, the image default (x3) against --init paper, seed 0
#      (docs/studies/init-per-signal.md);
#   3. init: video, megapixel and occupancy at 10x the REDUCED epochs, paper and mean x0.3/x1/x3/x10, seed 0.
# From the project root, here:   bash ../shared/tools/gpu/prepare.sh
#                                 mkdir -p .gpu/kodak && cp ../shared/data/kodak/kodim{03,05,15,23}.png .gpu/kodak/
# there (run with carry .gpu):    source .gpu/boot.sh && bash scripts/studies/gpu_unmeasured.sh .gpu/kodak $OUT
set -euo pipefail
kodak=$(realpath "$1")
out=$(realpath -m "$2")
mkdir -p "$out"
cd "$(dirname "$0")"
export STUDY_DEVICE=cuda STUDY_PROCESSES=1
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
python3 scale_study.py "$kodak" "$out/scale.jsonl" --sizes 512
python3 init_study.py image "$kodak" "$out/init-image.jsonl" --size 512 --steps 10000 --seeds 0 \
  --settings "mean, x3" paper
python3 runner_study.py init "$out/init-runner.jsonl" --seeds 0 --epochs-factor 10 \
  --settings paper "mean, x0.3" "mean, x1" "mean, x3" "mean, x10"
