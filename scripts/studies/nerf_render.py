"""The test views of asmr-nerf runs side by side: the ground truth, then each run's render at its last checkpoint
(docs/studies/asmr-nerf.md), with each run's PSNR on that view.

python scripts/studies/nerf_render.py OUT.png VIEW "LABEL=RUN_DIR" ["LABEL=RUN_DIR" ...]
"""

import sys
from pathlib import Path

import numpy as np
import torch
import yaml
from nerfstudio.utils.eval_utils import eval_load_checkpoint
from PIL import Image, ImageDraw

torch.set_num_threads(1)
out, view = Path(sys.argv[1]), int(sys.argv[2])
columns, labels = [], ["ground truth"]
for argument in sys.argv[3:]:
    label, run = argument.split("=", 1)
    config = yaml.load((Path(run) / "config.yml").read_text(), Loader=yaml.Loader)
    config.load_dir = Path(run) / "nerfstudio_models"
    pipeline = config.pipeline.setup(device="cpu", test_mode="test")
    pipeline.eval()
    eval_load_checkpoint(config, pipeline)
    camera, batch = list(pipeline.datamanager.fixed_indices_eval_dataloader)[view]
    with torch.no_grad():
        outputs = pipeline.model.get_outputs_for_camera(camera)
    metrics, images = pipeline.model.get_image_metrics_and_images(outputs, batch)
    truth, render = images["img"].chunk(2, dim=1)
    if not columns:
        columns.append(truth)
    columns.append(render)
    labels.append(f"{label}: {metrics['psnr']:.2f} dB")
scale = 4
strip = (torch.cat(columns, dim=1).clamp(0, 1).numpy() * 255).astype(np.uint8)
picture = Image.fromarray(strip).resize((strip.shape[1] * scale, strip.shape[0] * scale), Image.NEAREST)
canvas = Image.new("RGB", (picture.width, picture.height + 18), "white")
canvas.paste(picture, (0, 18))
draw = ImageDraw.Draw(canvas)
width = picture.width // len(labels)
for index, label in enumerate(labels):
    draw.text((index * width + 4, 3), label, fill="black")
canvas.save(out)
print(out, labels)
