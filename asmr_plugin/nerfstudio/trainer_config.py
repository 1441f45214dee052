"""Trainer and TrainerConfig of single-image methods: input checked before any write, Ctrl-C exits non-zero."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Type

import torch
from nerfstudio.engine.trainer import Trainer, TrainerConfig

from asmr_plugin.fields.registry import checking_only
from asmr_plugin.io.files import content_hash
from asmr_plugin.memory import IMAGE_FIT_BYTES_PER_VALUE, check_memory, check_points_memory, check_render_memory
from asmr_plugin.nerfstudio.dataparser import read_image
from asmr_plugin.nerfstudio.model import ImageFieldModelConfig
from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig


def latest_checkpoint(folder: Path) -> Path:
    """The ``step-*.ckpt`` of ``folder`` with the highest step; a ValueError when there is none."""
    steps = sorted(folder.glob("step-*.ckpt")) if folder.is_dir() else []
    if not steps:
        raise ValueError(f"--load-dir {folder} holds no step-*.ckpt checkpoint (is it a run's nerfstudio_models/?)")
    return steps[-1]


def check_fits(checkpoint: Path, field_: torch.nn.Module) -> None:
    """A ValueError when the network saved in ``checkpoint`` has other shapes than ``field_`` (another image's
    channels, other options)."""
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["pipeline"]
    except Exception as error:  # torch raises many types for damaged files
        raise ValueError(f"{checkpoint} is not a readable nerfstudio checkpoint: {error}") from None
    for name, tensor in field_.state_dict().items():
        key = next((key for key in saved if key.endswith(f"field.{name}")), None)
        if key is None or saved[key].shape != tensor.shape:
            found = "no such weight" if key is None else f"{list(saved[key].shape)}"
            raise ValueError(
                f"{checkpoint} holds another network than these options and this image give ({name}: {found}, "
                f"here {list(tensor.shape)}); load a run of the same method, options and image channels"
            )


class ImageTrainer(Trainer):
    """A Trainer whose Ctrl-C during training ends ns-train with status 130 (128 + SIGINT).

    nerfstudio's launcher (``scripts/train.py``, ``launch``) catches the KeyboardInterrupt,
    prints it and returns, so ns-train would exit 0. Nothing is saved on interrupt, as in
    nerfstudio: the last checkpoint is the last ``--steps-per-save`` one. Ctrl-C after training
    (the viewer's "Use ctrl+c to quit") still exits 0.
    """

    def _load_checkpoint(self) -> None:
        """nerfstudio's, reading the latest ``step-*.ckpt`` (checked by ``ImageTrainerConfig.check_inputs``) by name,
        so that another file in the folder is not taken for a step."""
        if self.config.load_dir is not None and self.config.load_step is None:
            self.config.load_step = int(latest_checkpoint(Path(self.config.load_dir)).stem.split("-")[1])
        super()._load_checkpoint()

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
class PluginTrainerConfig(TrainerConfig):
    """A TrainerConfig that trains on CUDA when available and on the CPU otherwise, whose cosine schedules span
    ``max_num_iterations`` and whose Ctrl-C exits non-zero."""

    _target: Type = field(default_factory=lambda: ImageTrainer)

    def __post_init__(self) -> None:
        if self.machine.device_type == "cuda" and not torch.cuda.is_available():
            self.machine.device_type = "cpu"
        for optimizer in self.optimizers.values():
            scheduler = optimizer.get("scheduler")
            if isinstance(scheduler, CosineAnnealingSchedulerConfig):
                scheduler.max_steps = self.max_num_iterations


@dataclass
class ImageTrainerConfig(PluginTrainerConfig):
    """A single-image method's TrainerConfig whose input is validated (the image reads, the model's options are valid
    for it) before the config or any output is written."""

    def checkpoint_to_load(self) -> Path | None:
        """The checkpoint ``--load-dir`` (with ``--load-step``) or ``--load-checkpoint`` names; a ValueError when
        there is none."""
        if self.load_dir is not None:
            if self.load_step is None:
                return latest_checkpoint(Path(self.load_dir))
            path = Path(self.load_dir) / f"step-{self.load_step:09d}.ckpt"
            if not path.is_file():
                raise ValueError(f"--load-step {self.load_step}: {path} does not exist")
            return path
        if self.load_checkpoint is not None and not Path(self.load_checkpoint).is_file():
            raise ValueError(f"--load-checkpoint {self.load_checkpoint} is not a file")
        return self.load_checkpoint

    def image_path(self) -> Path:
        datamanager = self.pipeline.datamanager
        return Path(datamanager.data or datamanager.dataparser.data)

    def set_experiment_name(self) -> None:
        """Name runs after the image (outputs/<image stem>/<method>/<time>), not its folder."""
        if self.experiment_name is None:
            self.experiment_name = self.image_path().stem

    def check_inputs(self) -> None:
        """Raise a ValueError naming the bad file or option.

        The field's options are checked here without building it (``checking_only``: shapes, no weights, no random
        numbers drawn); the model builds the field once, seeded by nerfstudio. The image read here is the one the
        dataparser gets (``read_image``)."""
        image = read_image(self.image_path())
        datamanager = self.pipeline.datamanager  # config.yml records the image and the run by absolute paths,
        datamanager.dataparser.data = Path(datamanager.dataparser.data).resolve()  # so ns-eval runs from any folder
        datamanager.dataparser.data_sha256 = content_hash(self.image_path())  # ns-eval checks it is the same image
        self.output_dir = Path(self.output_dir).resolve()
        existing = next(folder for folder in (self.output_dir, *self.output_dir.parents) if folder.exists())
        if not existing.is_dir():
            raise ValueError(f"--output-dir {self.output_dir}: {existing} is a file, not a directory")
        if datamanager.data is not None:
            datamanager.data = Path(datamanager.data).resolve()
        model = self.pipeline.model
        checkpoint = self.checkpoint_to_load()
        if isinstance(model, ImageFieldModelConfig):
            height, width, channels = image.shape
            check_memory(
                IMAGE_FIT_BYTES_PER_VALUE * image.numel(),
                f"a fit of {self.image_path()} ({width}x{height}, {channels} channel(s))",
                "downscale the image first, or fit it with asmr-fit megapixel (random batches, evaluation in chunks)",
            )
            with checking_only():
                field_ = model.field_for((height, width), channels)
            grid = "x".join(map(str, field_.grid_shape))
            check_render_memory(  # ASMR's grid is padded where its bases' product exceeds the image
                field_.grid_shape, channels, f"--pipeline.model.bases: a full render of {model.network}'s {grid} grid"
            )
            if model.batch is not None:
                width_ = field_.init_kwargs.get("hidden_dim") or 1
                check_points_memory(model.batch, width_, f"--pipeline.model.batch {model.batch}: a step")
            if checkpoint is not None:
                check_fits(checkpoint, field_)

    def save_config(self) -> None:
        try:
            self.check_inputs()
        except ValueError as error:
            raise SystemExit(f"error: {error}") from error
        super().save_config()
        self.training_run = True  # set after config.yml is written: a config loaded from it (ns-eval) lacks it

    def get_checkpoint_dir(self) -> Path:
        """nerfstudio's; for a run loaded from its config.yml (ns-eval, ns-render, ns-viewer), a one-line exit when
        the folder exists but holds no checkpoint (nerfstudio would fail listing it)."""
        folder = super().get_checkpoint_dir()
        if not getattr(self, "training_run", False) and folder.is_dir() and not any(folder.glob("step-*.ckpt")):
            raise SystemExit(
                f"error: {folder} holds no step-*.ckpt checkpoint: the run stopped before its first save "
                "(--steps-per-save); train it again or load another run"
            )
        return folder
