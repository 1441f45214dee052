"""Fit an image (or a folder of images) with any field and write reconstructions, PSNR plots, results and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import torch
from einops import reduce
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin import decomposition
from asmr_plugin.fields import ASMRField, GridField
from asmr_plugin.fields.asmr import FAST_START
from asmr_plugin.fields.registry import ModelName, parse_bases_option
from asmr_plugin.fitting.options import ExperimentOptions, require_positive
from asmr_plugin.fitting.results import FitResult, ImageMetrics, Json, Metrics, RunRecord, formatted
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.files import output_names, readable, save_figure
from asmr_plugin.io.images import default_image, image_files, load_image, save_image
from asmr_plugin.macs import measured_macs
from asmr_plugin.memory import IMAGE_FIT_BYTES_PER_VALUE, check_memory, check_points_memory, check_render_memory
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.paper.networks import IMAGE_PRESETS
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.loop import FitHistory
from asmr_plugin.training.resume import ResumableFit
from asmr_plugin.training.spec import FullGrid, RandomPoints, train


@dataclass
class FitImageConfig(ExperimentOptions):
    """Fit an image with a coordinate network (defaults: the paper's Table 2 protocol)."""

    signal_kind = "image"

    data: Path | None = None
    """Image to fit (PNG, JPEG, TIFF, ...), or a folder: fit each image in it and write summary.md/.json
    (mean ± std, Table 3 style). Default: the Cameraman photo that scikit-image ships."""
    model: ModelName = "asmr"
    """Network to fit."""
    steps: int = PAPER_STEPS
    """Optimizer steps."""
    batch: int | None = None
    """None: the whole image every step (the paper). Otherwise random pixels per step."""
    downscale: int = 1
    """Box-filter every image by this integer factor first (a reduced protocol for CPUs)."""
    fast_start: bool = False
    """ASMR: train the output layer at 10x and the modulators at 0.1x --lr (with --init paper, Cameraman
    --steps 300: 27.9 dB instead of 10.6; 1.2 dB less than the paper's training on kodim03 after 10K steps;
    docs/studies/asmr-start.md). The default --init mean starts as fast at one rate."""
    output_lr_scale: float | None = None
    """ASMR's output layer learns at --lr times this. Default: 1 (the paper), 10 with --fast-start."""
    modulation_lr_scale: float | None = None
    """ASMR's modulators learn at --lr times this. Default: 1 (the paper), 0.1 with --fast-start."""

    def lr_scales(self) -> Dict[str, float]:
        """The learning-rate multipliers of ASMR's parameter subsets that differ from one."""
        scales = dict(FAST_START) if self.fast_start else {}
        given = {"output": self.output_lr_scale, "modulation": self.modulation_lr_scale}
        scales.update({name: scale for name, scale in given.items() if scale is not None})
        return {name: scale for name, scale in scales.items() if scale != 1.0}

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        require_positive(self, "steps", "batch", "downscale", "output_lr_scale", "modulation_lr_scale")
        super().check_options()


PRESETS: Dict[str, FitImageConfig] = {
    name: FitImageConfig(**options, init="paper") for name, options in IMAGE_PRESETS.items()
}
"""Rows of the paper's Tables 2 and 3 (``--preset``), trained as the paper does (``--init paper``); any other option
still overrides them."""


def plot_psnr(path: Path, history: FitHistory, title: str) -> None:
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.plot(history.steps, history.psnr)
    axes.set_xlabel("step")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    save_figure(path, figure, dpi=120)


def downscale_image(image: Float[Tensor, "H W C"], factor: int) -> Float[Tensor, "h w C"]:
    """Box-filter an image by an integer factor (the remainder rows/columns are dropped)."""
    if factor < 1:
        raise ValueError(f"--downscale must be a positive integer, got {factor}")
    height, width = (size // factor * factor for size in image.shape[:2])
    if height == 0 or width == 0:
        raise ValueError(f"--downscale {factor} leaves nothing of an image of shape {tuple(image.shape[:2])}")
    return reduce(image[:height, :width], "(h a) (w b) c -> h w c", "mean", a=factor, b=factor)


def bases_for_image(bases: Tuple[str, ...] | None, shape: Tuple[int, ...]) -> Tuple[str, ...] | None:
    """Per-axis bases as given, or swapped when only the swap fits (portrait images of a landscape protocol)."""
    if bases is None or len(bases) != 2:
        return bases

    def fits(candidate: Tuple[str, ...]) -> bool:
        try:
            decomposition.check_bases(parse_bases_option(candidate, len(shape)), shape)
        except ValueError:
            return False
        return True

    swapped = (bases[1], bases[0])
    return swapped if not fits(bases) and fits(swapped) else bases


def load_target(config: FitImageConfig, data: Path) -> Float[Tensor, "H W C"]:
    """The image to fit, downscaled by ``--downscale``; ValueError for a file that is not one, or one too large to fit
    here."""
    target = load_image(data)
    target = downscale_image(target, config.downscale) if config.downscale > 1 else target
    height, width, channels = target.shape
    check_memory(
        IMAGE_FIT_BYTES_PER_VALUE * target.numel(),
        f"a fit of {data} ({width}x{height}, {channels} channel(s){' downscaled' if config.downscale > 1 else ''})",
        "pass --downscale, or fit it with asmr-fit megapixel (random batches, evaluation in chunks)",
    )
    return target


def network(config: FitImageConfig, target: Float[Tensor, "H W C"]) -> GridField:
    """The freshly initialized network for ``target``; ValueError for options that do not fit it."""
    shape, channels = tuple(target.shape[:2]), target.shape[-1]
    bases = bases_for_image(config.bases, shape)
    field = config.build(config.model, shape, channels, bases=bases)
    config.initialize(field, target)
    if config.fast_start and not field.lr_subset_names:
        raise ValueError(f"--fast-start applies to ASMR; --model {config.model} has one learning rate")
    unknown = sorted(set(config.lr_scales()) - set(field.lr_subset_names))
    if unknown:
        raise ValueError(f"--{unknown[0]}-lr-scale applies to ASMR; --model {config.model} has one learning rate")
    check_fit_memory(field, channels, config)
    return field


def check_fit_memory(field: GridField, channels: int, config: FitImageConfig) -> None:
    """A ValueError when the network's full renders (its grid, padded where its bases' product exceeds the image) or
    a batch of ``--batch`` points would not fit in this machine's memory."""
    grid = field.grid_shape
    check_render_memory(
        grid,
        channels,
        f"a full render of {config.model}'s {'x'.join(map(str, grid))} grid"
        + (f" (--bases {' '.join(config.bases)})" if config.bases else ""),
        "choose bases whose product is near the image's size",
    )
    if config.batch is not None:
        check_points_memory(config.batch, field.init_kwargs.get("hidden_dim") or 1, f"--batch {config.batch}: a step")


@dataclass
class Rendered:
    """A fitted image: its reconstruction (clamped) and the PSNR history of the fit."""

    reconstruction: Float[Tensor, "H W C"]
    history: FitHistory


class ImageSignal(Signal[FitImageConfig, Tensor, FitHistory, Rendered]):
    """An image, or each image of a folder (a Table-3-style summary), fitted by full-image (or random-pixel) steps."""

    experiment = "fit_image"

    def data(self) -> Path:
        data = Path(self.options.data) if self.options.data is not None else default_image()
        if not data.exists():
            raise ValueError(f"--data {data} does not exist")
        return data

    def metrics_type(self) -> Type[Metrics]:
        return ImageMetrics

    def run_name(self) -> str:
        return f"{self.data().stem}-{self.options.model}"

    def items(self) -> List[Item]:
        data = self.data()
        if not data.is_dir():
            return [Item(data.stem, data, readable(data))]
        return [Item(name, path, readable(path)) for path, name in output_names(image_files(data)).items()]

    def folder_run(self) -> bool:
        return self.data().is_dir()

    def load(self, item: Item) -> Tensor:
        return load_target(self.options, Path(item.source))

    def network(self, item: Item, target: Tensor, process: Process) -> GridField:
        return network(self.options, target).to(process.device)

    def grid_shape(self, target: Tensor) -> Tuple[int, ...]:
        return tuple(target.shape[:2])

    def announce(self, item: Item, target: Tensor, network: GridField, process: Process) -> str:
        config, (height, width, channels) = self.options, target.shape
        return (
            f"[bold]{config.model}[/] on {item.label} ({height}x{width}, {channels} channel(s)) on {process.device}: "
            f"{network.num_params():,} params, {network.macs((height, width)).with_bias:,.1f} MACs/pixel, "
            f"lr {config.learning_rate(network):g}"
            + "".join(f", {name} x{scale:g}" for name, scale in config.lr_scales().items() if scale != 1.0)
            + f", output init {network.initialization}"
            + (f", bases {[list(b) for b in network.bases]}" if isinstance(network, ASMRField) else "")
        )

    def train(
        self, item: Item, target: Tensor, network: GridField, resumable: ResumableFit, process: Process
    ) -> FitHistory:
        config = self.options
        batching = FullGrid() if config.batch is None else RandomPoints(config.batch)
        spec = config.train_spec(network, batching, config.steps, lr_scales=config.lr_scales())
        return train(network, target, spec, resumable.resumed, resumable.save, process)

    def evaluate(
        self, item: Item, target: Tensor, network: GridField, history: FitHistory, process: Process
    ) -> Tuple[FitResult, Rendered]:
        config, shape = self.options, self.grid_shape(target)
        target = target.to(process.device)
        with torch.no_grad():
            reconstruction = network.render(shape).clamp(0, 1)
            executed = measured_macs(lambda: network.render(shape)) / reconstruction[..., 0].numel()
        image_ssim = ssim(reconstruction, target)
        result = FitResult(
            data=item.label,
            model=config.model,
            shape=list(shape),
            metrics=ImageMetrics(
                final_psnr=psnr(reconstruction, target).item(),
                ssim=None if image_ssim is None else image_ssim.item(),
            ),
            details={
                "channels": target.shape[-1],
                "downscale": config.downscale,
                "lr": config.learning_rate(network),
                "lr_scales": config.lr_scales(),
                "best_psnr": history.best_psnr,
                "best_step": history.best_step,
                "psnr_history": {"steps": history.steps, "psnr": [round(value, 4) for value in history.psnr]},
                "macs_executed_render": executed,
                "steps": config.steps,
                "seconds": history.seconds,
                "seconds_per_step": history.seconds / config.steps,
            },
            record=RunRecord.of(network, shape, process.device, config, None),
            notes="final_psnr/ssim: after the last step; best_psnr: the best logged step (the released code reports "
            "best). psnr_history: the PSNR of each logged step's prediction (every step for full-image steps). "
            "ssim is null for images with a side under 6 pixels (not defined). "
            "macs_executed_render: matrix-product MACs per pixel that render() ran (FlopCounterMode).",
        )
        return result, Rendered(reconstruction, history)

    def write_outputs(self, out: Path, item: Item, target: Tensor, outputs: Rendered, result: FitResult) -> None:
        save_image(out / "reconstruction.png", outputs.reconstruction)
        plot_psnr(out / "psnr.png", outputs.history, f"{self.options.model} on {Path(item.label).name}")

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return ["reconstruction.png", "psnr.png"]

    def describe(self, result: FitResult) -> str:
        ssim_text = formatted(result.metrics.ssim, ".4f")
        return (
            f"final PSNR {result.metrics.final_psnr:.2f} dB (best {result.details['best_psnr']:.2f} dB at step "
            f"{result.details['best_step']}), SSIM {ssim_text}, {result.details['seconds']:.1f} s"
        )

    def summary_metrics(self) -> Tuple[str, ...]:
        return ("final_psnr", "ssim")

    def protocol(self, runs: List[FitResult]) -> str:
        return image_protocol(self.options, runs[0].details["lr"], runs[0].details["lr_scales"])  # type: ignore


def run(config: FitImageConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit the image (or every image of the folder) given by ``--data``; write outputs and return the results."""
    return run_experiment(ImageSignal(config, console or Console()))


def image_protocol(config: FitImageConfig, lr: float, lr_scales: Dict[str, float]) -> str:
    """The training protocol of a folder run, marked where it is not the paper's (fewer steps, downscaled,
    random batches or the learning-rate multipliers)."""
    one_rate = all(scale == 1.0 for scale in lr_scales.values())
    paper_protocol = (
        config.steps == PAPER_STEPS
        and config.downscale == 1
        and config.batch is None
        and one_rate
        and config.init == "paper"
    )
    return (
        f"{config.steps} steps, "
        + ("full image per step" if config.batch is None else f"{config.batch} random pixels per step")
        + f", Adam lr {lr:g} cosine to 1e-6"
        + "".join(f" ({name} x{scale:g})" for name, scale in lr_scales.items() if scale != 1.0)
        + f", init {config.init}, downscale {config.downscale}, seed {config.seed}, "
        + (
            "the paper's protocol"
            if paper_protocol
            else f"NOT the paper's protocol (the paper: {PAPER_STEPS} full-image steps, no downscale, one learning rate, "
            "init paper)"
        )
    )
