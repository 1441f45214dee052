"""Test PSNR and SSIM of every checkpoint of an asmr-nerf run, one JSON line each (nerfstudio's pipeline with the
checkpoint of each step loaded in turn).

python scripts/studies/nerf_eval.py RUN_DIR NAME TRAIN_SECONDS RESULTS.jsonl [--seed S] [--extra "NS-TRAIN ARGS"]
"""

import argparse
import json
import statistics
from pathlib import Path

import torch
import yaml
from nerfstudio.utils.eval_utils import eval_load_checkpoint
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("run", type=Path)
parser.add_argument("name")
parser.add_argument("seconds", type=float, help="wall seconds of the whole training run")
parser.add_argument("results", type=Path)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--extra", default="", help="the ns-train options of this variant (recorded)")
arguments = parser.parse_args()
torch.set_num_threads(1)
config = yaml.load((arguments.run / "config.yml").read_text(), Loader=yaml.Loader)
config.load_dir = arguments.run / "nerfstudio_models"
pipeline = config.pipeline.setup(device="cpu", test_mode="test")
pipeline.eval()
params = sum(parameter.numel() for parameter in pipeline.model.field.parameters())
events = EventAccumulator(str(arguments.run))
events.Reload()
iteration_seconds = statistics.median(event.value for event in events.Scalars("Train Iter (time)"))
for checkpoint in sorted(config.load_dir.glob("step-*.ckpt")):
    config.load_step = int(checkpoint.stem.split("-")[1])
    eval_load_checkpoint(config, pipeline)
    metrics = pipeline.get_average_eval_image_metrics()
    record = {
        "field": arguments.name,
        "options": arguments.extra,
        "seed": arguments.seed,
        "iterations": config.load_step + 1,
        "max_iterations": config.max_num_iterations,
        "params": params,
        "train_seconds": arguments.seconds,
        "iteration_seconds": iteration_seconds,
        "psnr": metrics["psnr"],
        "ssim": metrics["ssim"],
    }
    print(json.dumps(record), flush=True)
    with arguments.results.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
