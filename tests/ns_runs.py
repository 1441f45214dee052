"""Short runs of the single-image nerfstudio methods through nerfstudio's own trainer, on CPU (tests only)."""

import copy
import inspect
from pathlib import Path

import numpy as np
from nerfstudio.plugins.registry import discover_methods
from nerfstudio.scripts.train import train_loop
from PIL import Image

from asmr_plugin.fields import FIELDS
from asmr_plugin.nerfstudio.trainer_config import ImageTrainerConfig


def tiny_image(path: Path, size=(24, 20), mode="RGB") -> Path:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    rgb = np.stack([x * 255 // size[1], y * 255 // size[0], (x + y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).convert(mode).save(path)
    return path


def method_config(name: str, tmp_path: Path, image: Path, steps: int = 3) -> ImageTrainerConfig:
    config = copy.deepcopy(discover_methods()[0][name])
    config.output_dir = tmp_path / "outputs"
    config.vis = "tensorboard"
    config.machine.device_type = "cpu"
    config.max_num_iterations = steps
    config.steps_per_save = steps
    config.save_only_latest_checkpoint = False
    config.pipeline.datamanager.data = image
    if "hidden_dim" in inspect.signature(FIELDS[config.pipeline.model.network]).parameters:
        config.pipeline.model.hidden_dim = 16
    config.__post_init__()  # the schedules follow max_num_iterations, as when tyro builds the config
    config.set_timestamp()
    return config


def train(config: ImageTrainerConfig) -> Path:
    config.save_config()
    train_loop(local_rank=0, world_size=1, config=config)
    return config.get_base_dir()
