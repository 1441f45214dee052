"""Trainer and TrainerConfig of single-image methods: input checked before any write, Ctrl-C exits non-zero."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Type

import torch
from nerfstudio.engine.trainer import Trainer, TrainerConfig

from asmr_plugin.nerfstudio.dataparser import read_image
from asmr_plugin.nerfstudio.model import ImageFieldModelConfig
from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig


class ImageTrainer(Trainer):
    """A Trainer whose Ctrl-C during training ends ns-train with status 130 (128 + SIGINT).

    nerfstudio's launcher (``scripts/train.py``, ``launch``) catches the KeyboardInterrupt,
    prints it and returns, so ns-train would exit 0. Nothing is saved on interrupt, as in
    nerfstudio: the last checkpoint is the last ``--steps-per-save`` one. Ctrl-C after training
    (the viewer's "Use ctrl+c to quit") still exits 0.
    """

    def train(self) -> None:
        try:
            super().train()
        except KeyboardInterrupt:
            if self.training_state == "completed":
                raise
            print(
                f"interrupted at step {self.step}; not saved since the last --steps-per-save checkpoint",
                file=sys.stderr,
            )
            raise SystemExit(128 + signal.SIGINT) from None  # the shell's status for Ctrl-C


@dataclass
class ImageTrainerConfig(TrainerConfig):
    """A TrainerConfig that trains on CUDA when available and on the CPU otherwise, whose cosine
    schedules span ``max_num_iterations`` and whose input is validated (the image reads, the
    model's options are valid for it) before the config or any output is written."""

    _target: Type = field(default_factory=lambda: ImageTrainer)

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
        """Raise a ValueError naming the bad file or option.

        The field is built here only to check the options (at most ~20 ms) and then dropped: this
        runs before nerfstudio seeds its RNG, so the model builds its own, seeded field. The image
        read here is the one the dataparser gets (``read_image``)."""
        image = read_image(self.image_path())
        model = self.pipeline.model
        if isinstance(model, ImageFieldModelConfig):
            height, width, channels = image.shape
            model.field_for((height, width), channels)

    def save_config(self) -> None:
        try:
            self.check_inputs()
        except ValueError as error:
            raise SystemExit(f"error: {error}") from error
        super().save_config()
