"""Fit a video with random batches counted in epochs (one or several processes); per-frame metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import torch
from einops import rearrange
from jaxtyping import Float
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import model_choices
from asmr_plugin.fitting.options import EpochOptions, require_positive
from asmr_plugin.fitting.results import FitResult, Json, Metrics, RunRecord, VideoMetrics, formatted, mean_std
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import EpochSignal, Item
from asmr_plugin.io.files import readable
from asmr_plugin.io.images import save_image
from asmr_plugin.io.video import FRAME_COPIES, check_frame_rate, default_video, load_video, save_video, side_by_side
from asmr_plugin.memory import check_memory
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.paper.networks import VIDEO_NETWORKS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.epochs import full_steps_per_epoch

VideoModel = model_choices(VIDEO_NETWORKS)
"""The networks of the paper's video table, and plug-in networks (at their own defaults)."""


@dataclass
class FitVideoConfig(EpochOptions):
    """Fit a video with a coordinate network (defaults: the paper's Table 10 protocol)."""

    signal_kind = "video"

    data: Path | None = None
    """A folder of frames, an animated GIF, or an MP4/AVI/MOV/MKV/WEBM file. Default: a 24-frame
    pan across scikit-image's chelsea photo (128 x 160)."""
    frames: int | None = None
    """Use at most this many frames (after --stride)."""
    stride: int = 1
    """Use every stride-th frame."""
    resize: Tuple[int, int] | None = None
    """Resize every frame to H W."""
    model: VideoModel = "asmr"
    epochs: float = 200.0
    """Passes over all pixels of all frames."""
    batch: int = 153_600
    """Random pixels per step and process (the paper's)."""
    fps: int = 10
    """Frame rate of the written video."""
    gif: bool = False
    """Write the reconstruction as GIF instead of MP4."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        require_positive(self, "frames", "stride", "epochs", "batch", "fps")
        if self.resize is not None and min(self.resize) < 1:
            raise ValueError(f"--resize must be two positive sizes H W, got {' '.join(map(str, self.resize))}")
        if self.resize is not None:
            check_memory(  # float32 RGBA at the most
                FRAME_COPIES * 4 * 4 * math.prod(self.resize), f"--resize {self.resize[0]} {self.resize[1]}: one frame"
            )
        check_frame_rate(self.fps, ".gif" if self.gif else ".mp4")
        super().check_options()


@torch.no_grad()
def render_frames(field: GridField, shape: Tuple[int, int, int], device: torch.device) -> Float[Tensor, "T H W C"]:
    """The video frame by frame (the forward shares each layer between the pixels of a cell)."""
    height, width = shape[1:]
    pixels = rearrange(
        torch.stack(torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij"), -1), "h w d -> (h w) d"
    )
    frames = []
    for t in range(shape[0]):
        coords = torch.cat([torch.full((pixels.shape[0], 1), t), pixels], dim=-1).float().to(device)
        frames.append(rearrange(field(coords).clamp(0, 1).cpu(), "(h w) c -> h w c", h=height))
    return torch.stack(frames)


@dataclass
class Frames:
    """A fitted video's frames."""

    reconstruction: Float[Tensor, "T H W C"]


class VideoSignal(EpochSignal[FitVideoConfig, Frames]):
    """A video (file, frame folder or the bundled pan), fitted by random batches counted in epochs on one or several
    processes."""

    experiment = "fit_video"

    def metrics_type(self) -> Type[Metrics]:
        return VideoMetrics

    def run_name(self) -> str:
        data = self.options.data
        return f"{'chelsea-pan' if data is None else Path(data).stem}-{self.options.model}"

    def items(self) -> List[Item]:
        data = self.options.data
        if data is None:
            return [Item("chelsea-pan", None, "a pan across chelsea")]
        return [Item(Path(data).stem, Path(data), readable(data))]

    def load(self, item: Item) -> Tensor:
        config = self.options
        if item.source is None:
            return default_video(config.frames, config.stride, config.resize)
        return load_video(item.source, config.frames, config.stride, config.resize)

    def network(self, item: Item, target: Tensor, process: Process) -> GridField:
        config, shape = self.options, self.grid_shape(target)
        field = config.build(
            config.model,
            shape,
            target.shape[-1],
            defaults=VIDEO_NETWORKS.get(config.model, {}),
            reference=VIDEO_NETWORKS["asmr"],
        ).to(process.device)
        config.initialize(field, target)
        full_steps_per_epoch(math.prod(shape), config.batch, process.world_size)
        return field

    def grid_shape(self, target: Tensor) -> Tuple[int, ...]:
        return tuple(target.shape[:3])

    def announce(self, item: Item, target: Tensor, network: GridField, process: Process) -> str:
        config, shape = self.options, self.grid_shape(target)
        return (
            f"[bold]{config.model}[/] on {item.label} ({shape[0]} frames of {shape[1]}x{shape[2]}), "
            + self.network_line(network, shape, process)
        )

    def evaluate(
        self, item: Item, target: Tensor, network: GridField, history: Dict[str, Any], process: Process
    ) -> Tuple[FitResult, Frames]:
        shape = self.grid_shape(target)
        reconstruction = render_frames(network, shape, process.device)
        frame_psnr = [psnr(r, v).item() for r, v in zip(reconstruction, target)]
        frame_ssim = [None if value is None else value.item() for value in map(ssim, reconstruction, target)]
        (psnr_mean, psnr_std), (ssim_mean, ssim_std) = mean_std(frame_psnr), mean_std(frame_ssim)
        result = FitResult(
            data=item.label,
            model=self.options.model,
            shape=list(shape),
            metrics=VideoMetrics(psnr_mean, ssim_mean),
            details={
                "channels": target.shape[-1],
                "psnr_std": psnr_std,
                "ssim_std": ssim_std,
                "frame_psnr": frame_psnr,
                "frame_ssim": frame_ssim,
                **history,
            },
            record=RunRecord.of(network, shape, process.device, self.options, None),
            notes="Per-frame PSNR/SSIM after the last step (predictions clamped to [0, 1]); std is the population std "
            "over frames; SSIM is null for frames with a side under 6 pixels (not defined).",
        )
        return result, Frames(reconstruction)

    def write_outputs(self, out: Path, item: Item, target: Tensor, outputs: Frames, result: FitResult) -> None:
        config, reconstruction = self.options, outputs.reconstruction
        save_video(out / ("reconstruction.gif" if config.gif else "reconstruction.mp4"), reconstruction, config.fps)
        middle = target.shape[0] // 2
        save_image(out / "side_by_side.png", side_by_side(target[middle], reconstruction[middle]))

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return ["reconstruction.gif" if self.options.gif else "reconstruction.mp4", "side_by_side.png"]

    def describe(self, result: FitResult) -> str:
        metrics, details = result.metrics, result.details
        return (
            f"PSNR {metrics.psnr_mean:.2f} ± {details['psnr_std']:.2f} dB, SSIM {formatted(metrics.ssim_mean, '.4f')}"
            f" ± {formatted(details['ssim_std'], '.4f')} over {result.shape[0]} frames"
        )


def run(config: FitVideoConfig, console: Console | None = None) -> Dict[str, Any] | None:
    """Fit, then (on the main process) write the reconstruction video, a side-by-side frame, results and a checkpoint."""
    return run_experiment(VideoSignal(config, console or Console()))
