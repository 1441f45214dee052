"""Test PSNR and SSIM of every checkpoint of an asmr-nerf run, one JSON line each (nerfstudio's pipeline with the
checkpoint of each step loaded in turn).

python scripts/studies/nerf_eval.py RUN_DIR FIELD TRAIN_SECONDS RESULTS.jsonl
"""

import json
import sys
from pathlib import Path

import torch
import yaml
from nerfstudio.utils.eval_utils import eval_load_checkpoint

torch.set_num_threads(1)
run, field, seconds, results = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
config = yaml.load((run / "config.yml").read_text(), Loader=yaml.Loader)
config.load_dir = run / "nerfstudio_models"
pipeline = config.pipeline.setup(device="cpu", test_mode="test")
pipeline.eval()
params = sum(parameter.numel() for parameter in pipeline.model.field.parameters())
for checkpoint in sorted(config.load_dir.glob("step-*.ckpt")):
    config.load_step = int(checkpoint.stem.split("-")[1])
    eval_load_checkpoint(config, pipeline)
    metrics = pipeline.get_average_eval_image_metrics()
    record = {
        "field": field,
        "iterations": config.load_step + 1,
        "params": params,
        "train_seconds_for_1000": seconds,
        "psnr": metrics["psnr"],
        "ssim": metrics["ssim"],
    }
    print(json.dumps(record), flush=True)
    with results.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
