"""The REDUCED Table 3 fit of one Kodak image (128x192, networks narrowed to the paper's parameters per pixel) at
another step count (the paper's 10K instead of 2K): does ASMR overtake SIREN with more steps at this size?

python scripts/studies/table3_steps.py KODAK_IMAGE MODEL OUT STEPS RESULTS.jsonl   (one thread)
Measured (kodim03, 10,000 steps, seed 0): SIREN 36.80 dB, ASMR 32.58 (docs/studies/data/table3-steps.jsonl)."""
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

torch.set_num_threads(1)
from rich.console import Console

from asmr_plugin.fitting.image import FitImageConfig, run
from asmr_plugin.reproduce.fits import narrowed

image, model, out, steps, results = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
config = narrowed(FitImageConfig(data=image, model=model, steps=steps, downscale=4), 4, channels=3)
start = time.perf_counter()
result = run(replace(config, out=out, overwrite=True, progress=False), Console(quiet=True))
record = {k: result[k] for k in ("final_psnr", "best_psnr", "ssim", "params", "macs_with_bias")}
record.update(image=image.name, model=model, steps=steps, hidden_dim=config.hidden_dim, wall=time.perf_counter() - start,
              psnr_every_500={key: values[::500] for key, values in result["psnr_history"].items()})
print(json.dumps(record), flush=True)
with open(results, "a") as handle:
    handle.write(json.dumps(record) + "\n")
