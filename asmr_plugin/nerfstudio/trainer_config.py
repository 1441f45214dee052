"""TrainerConfig for single-image methods: checks the input before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from nerfstudio.engine.trainer import TrainerConfig

from asmr_plugin.fitting.images import load_image
from asmr_plugin.fitting.networks import build_field
from asmr_plugin.nerfstudio.model import MODEL_OPTIONS, ImageFieldModelConfig
from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig


@dataclass
class ImageTrainerConfig(TrainerConfig):
    """A TrainerConfig that trains on CUDA when available and on the CPU otherwise, whose cosine
    schedules span ``max_num_iterations`` and whose input is validated (the image reads, the
    bases fit it) before the config or any output is written."""

    def __post_init__(self) -> None:
        if self.machine.device_type == "cuda" and not torch.cuda.is_available():
            self.machine.device_type = "cpu"
        for optimizer in self.optimizers.values():
            scheduler = optimizer.get("scheduler")
            if isinstance(scheduler, CosineAnnealingSchedulerConfig):
                scheduler.max_steps = self.max_num_iterations

    def image_path(self) -> Path:
        datamanager = self.pipeline.datamanager
        return Path(datamanager.data or datamanager.dataparser.data)

    def set_experiment_name(self) -> None:
        """Name runs after the image (outputs/<image stem>/<method>/<time>), not its folder."""
        if self.experiment_name is None:
            self.experiment_name = self.image_path().stem

    def check_inputs(self) -> None:
        """Raise a ValueError naming the bad file or option."""
        image = load_image(self.image_path())
        model = self.pipeline.model
        if isinstance(model, ImageFieldModelConfig):
            height, width, channels = image.shape
            build_field(
                model.network, (height, width), channels, model.bases, model.num_layers, 8, model.omega0, MODEL_OPTIONS
            )

    def save_config(self) -> None:
        try:
            self.check_inputs()
        except ValueError as error:
            raise SystemExit(f"error: {error}") from error
        super().save_config()
