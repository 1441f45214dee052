"""Fit images too large for full-grid steps: random batches counted in epochs, chunked evaluation,
and data-parallel training over several processes (torchrun: gloo on CPU, NCCL on GPU)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import numpy as np
import torch
from einops import rearrange
from jaxtyping import Float
from PIL import Image
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import model_choices
from asmr_plugin.fitting.options import EpochOptions, require_positive
from asmr_plugin.fitting.results import FitResult, ImageMetrics, Json, Metrics, RunRecord, formatted
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import EpochSignal, Item
from asmr_plugin.io.files import atomic_path, readable
from asmr_plugin.io.images import load_image
from asmr_plugin.memory import check_points_memory
from asmr_plugin.metrics import ssim, ssim_defined
from asmr_plugin.paper.networks import MEGAPIXEL_NETWORKS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.epochs import full_steps_per_epoch, grid_points

SSIM_TILE = 2048


MegapixelModel = model_choices(MEGAPIXEL_NETWORKS)
"""The networks of the paper's megapixel table, and plug-in networks (at their own defaults)."""


@dataclass
class FitMegapixelConfig(EpochOptions):
    """Fit a large image with random batches (defaults: the paper's Table 5 protocol)."""

    signal_kind = "megapixel"

    data: Path | None = None
    """Image file. Default: retina.jpg (1411 x 1411 RGB), the largest image scikit-image ships."""
    model: MegapixelModel = "asmr"
    epochs: float = 500.0
    """Passes over all pixels (fractions allowed); one step draws --batch pixels per process."""
    batch: int = 1 << 18
    """Random pixels per step and process, drawn without replacement from a fresh permutation each epoch."""
    eval_chunk: int = 1 << 20
    """Pixels per forward pass when rendering the result."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        require_positive(self, "epochs", "batch", "eval_chunk")
        super().check_options()


def default_megapixel_image() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent / "retina.jpg"


@torch.no_grad()
def evaluate(
    field: GridField, target: Float[Tensor, "H W C"], chunk: int, device: torch.device
) -> Tuple[np.ndarray, float, float | None]:
    """The reconstruction as uint8, its PSNR (from float predictions) and SSIM, rendered ``chunk`` pixels at a time.

    SSIM is the pixel-weighted mean over near-equal tiles of up to 2048 x 2048 (torchmetrics,
    Gaussian window), so the memory stays bounded for 8192 x 8192 images; None where the image
    is too small for SSIM.
    """
    height, width, channels = target.shape
    flat_target = rearrange(target, "h w c -> (h w) c")
    reconstruction = np.empty((height * width, channels), dtype=np.uint8)
    squared_error = 0.0
    for first in range(0, height * width, chunk):
        indices = torch.arange(first, min(first + chunk, height * width))
        prediction = field(grid_points(indices, (height, width)).to(device)).clamp(0, 1).cpu()
        squared_error += ((prediction - flat_target[indices]) ** 2).double().sum().item()
        reconstruction[first : first + len(indices)] = (prediction * 255).round().to(torch.uint8).numpy()
    psnr = 10 * math.log10(height * width * channels / squared_error) if squared_error > 0 else math.inf  # as image
    image = reconstruction.reshape(height, width, channels)
    if not ssim_defined(image.shape):
        return image, psnr, None
    weighted = 0.0
    for rows in tile_bounds(height):
        for columns in tile_bounds(width):
            tile = np.s_[rows, columns]
            prediction = torch.from_numpy(image[tile].astype(np.float32) / 255)
            weighted += ssim(prediction, target[tile]).item() * prediction.shape[0] * prediction.shape[1]
    return image, psnr, weighted / (height * width)


def tile_bounds(size: int) -> List[slice]:
    """``size`` split into the fewest near-equal tiles of at most ``SSIM_TILE`` (never a sliver
    too thin for SSIM)."""
    edges = np.linspace(0, size, math.ceil(size / SSIM_TILE) + 1).round().astype(int)
    return [slice(start, stop) for start, stop in zip(edges[:-1], edges[1:])]


@dataclass
class Reconstruction:
    """A fitted large image as 8-bit pixels."""

    pixels: np.ndarray


class MegapixelSignal(EpochSignal[FitMegapixelConfig, Reconstruction]):
    """A large image fitted by random batches counted in epochs, on one or several processes, evaluated in chunks."""

    experiment = "fit_megapixel"

    def data(self) -> Path:
        return Path(self.options.data) if self.options.data is not None else default_megapixel_image()

    def metrics_type(self) -> Type[Metrics]:
        return ImageMetrics

    def run_name(self) -> str:
        return f"{self.data().stem}-{self.options.model}"

    def items(self) -> List[Item]:
        data = self.data()
        if data.is_dir():
            raise ValueError(
                f"--data {readable(data)} is a folder; asmr-fit megapixel fits one image (asmr-fit image fits each "
                "image of a folder)"
            )
        return [Item(data.stem, data, readable(data))]

    def load(self, item: Item) -> Tensor:
        return load_image(Path(item.source))

    def network(self, item: Item, target: Tensor, process: Process) -> GridField:
        config, shape = self.options, self.grid_shape(target)
        field = config.build(
            config.model,
            shape,
            target.shape[-1],
            defaults=MEGAPIXEL_NETWORKS.get(config.model, {}),
            reference=MEGAPIXEL_NETWORKS["asmr"],
        ).to(process.device)
        config.initialize(field, target)
        full_steps_per_epoch(shape[0] * shape[1], config.batch, process.world_size)
        for option, points in (("--batch", config.batch), ("--eval-chunk", min(config.eval_chunk, math.prod(shape)))):
            check_points_memory(points, field.init_kwargs.get("hidden_dim", 1), f"{option} {points}: a forward pass")
        return field

    def grid_shape(self, target: Tensor) -> Tuple[int, ...]:
        return tuple(target.shape[:2])

    def announce(self, item: Item, target: Tensor, network: GridField, process: Process) -> str:
        config, shape = self.options, self.grid_shape(target)
        return (
            f"[bold]{config.model}[/] on {item.label} ({shape[0]}x{shape[1]}, {target.shape[-1]} channel(s)), "
            + self.network_line(network, shape, process)
        )

    def evaluate(
        self, item: Item, target: Tensor, network: GridField, history: Dict[str, Any], process: Process
    ) -> Tuple[FitResult, Reconstruction]:
        config, shape = self.options, self.grid_shape(target)
        pixels, final_psnr, final_ssim = evaluate(network, target, config.eval_chunk, process.device)
        result = FitResult(
            data=item.label,
            model=config.model,
            shape=list(shape),
            metrics=ImageMetrics(final_psnr, final_ssim),
            details={
                "channels": target.shape[-1],
                "lr": config.learning_rate(network),
                "processes": process.world_size,
                "global_batch": config.batch * process.world_size,
                **history,
            },
            record=RunRecord.of(network, shape, process.device, config, None),
            notes="final_psnr: whole image after the last step (float predictions clamped to [0, 1]); "
            f"ssim: pixel-weighted mean over tiles of up to {SSIM_TILE}x{SSIM_TILE} of the 8-bit reconstruction "
            "(null below 6 pixels a side: not defined); losses: (step, batch MSE).",
        )
        return result, Reconstruction(pixels)

    def write_outputs(self, out: Path, item: Item, target: Tensor, outputs: Reconstruction, result: FitResult) -> None:
        pixels = outputs.pixels
        with atomic_path(out / "reconstruction.png") as temporary:
            Image.fromarray(pixels if pixels.shape[-1] != 1 else pixels[..., 0]).save(temporary, format="PNG")

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return ["reconstruction.png"]

    def describe(self, result: FitResult) -> str:
        return (
            f"final PSNR {result.metrics.final_psnr:.2f} dB, SSIM {formatted(result.metrics.ssim, '.4f')}, "
            f"{result.details['seconds']:.1f} s"
        )


def run(config: FitMegapixelConfig, console: Console | None = None) -> Dict[str, Any] | None:
    """Fit, then (on the main process) write reconstruction.png, checkpoint.pt and results.json."""
    return run_experiment(MegapixelSignal(config, console or Console()))
