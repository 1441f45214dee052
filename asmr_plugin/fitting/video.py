"""Fit a video with random batches counted in epochs (one or several processes); per-frame metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Dict, Literal, Tuple

import torch
from einops import rearrange
from jaxtyping import Float
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fitting.options import NetworkOptions, ResumeOptions, RunOptions, require_positive
from asmr_plugin.fitting.summary import formatted, mean_std, run_record
from asmr_plugin.io.checkpoint import save_checkpoint
from asmr_plugin.io.files import write_json
from asmr_plugin.io.images import save_image
from asmr_plugin.io.video import FRAME_COPIES, check_frame_rate, default_video, load_video, save_video, side_by_side
from asmr_plugin.memory import check_memory
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.training.distributed import start_process
from asmr_plugin.training.epochs import fit_into, full_steps_per_epoch

VIDEO_NETWORKS: Dict[str, Dict[str, Any]] = {
    "asmr": {"hidden_dim": 512, "num_layers": 7},
    "siren": {"hidden_dim": 512, "num_layers": 7},
    "kilonerf": {"hidden_dim": 32, "num_layers": 6, "num_frequencies": 10},
    "grid": {},  # ASMR's parameters (--params to change)
}
"""The paper's cat-video networks (Appendix F, Table 10). KiloNeRF's grid is 16 tiles per axis
(fewer on short axes); ASMR's bases default to 7 levels chosen per axis, padded with bases of 1."""


@dataclass
class FitVideoConfig(NetworkOptions, ResumeOptions, RunOptions):
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
    model: Literal["asmr", "siren", "kilonerf", "grid"] = "asmr"
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
        self.check_network_options()
        if self.resize is not None and min(self.resize) < 1:
            raise ValueError(f"--resize must be two positive sizes H W, got {' '.join(map(str, self.resize))}")
        if self.resize is not None:
            check_memory(  # float32 RGBA at the most
                FRAME_COPIES * 4 * 4 * math.prod(self.resize), f"--resize {self.resize[0]} {self.resize[1]}: one frame"
            )
        check_frame_rate(self.fps, ".gif" if self.gif else ".mp4")
        self.check_resume_options()
        self.check_run_options()


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


def run(config: FitVideoConfig, console: Console | None = None) -> Dict[str, Any] | None:
    """Fit, then (on the main process) write the reconstruction video, a side-by-side frame, results and a checkpoint."""
    import torch.distributed as dist

    config.check_options()
    console = console or Console()
    process = start_process(config.device)
    try:
        video = (
            default_video(config.frames, config.stride, config.resize)
            if config.data is None
            else load_video(config.data, config.frames, config.stride, config.resize)
        )
        shape = tuple(video.shape[:3])
        torch.manual_seed(config.seed)
        field = config.build(
            config.model,
            shape,
            video.shape[-1],
            defaults=VIDEO_NETWORKS[config.model],
            reference=VIDEO_NETWORKS["asmr"],
        )
        field = field.to(process.device)
        config.initialize(field, video)
        lr = config.learning_rate(field)
        source = "a pan across chelsea" if config.data is None else str(config.data)
        full_steps_per_epoch(math.prod(shape), config.batch, process.world_size)  # before anything is written
        name = "chelsea-pan" if config.data is None else Path(config.data).stem
        announce = (
            f"[bold]{config.model}[/] on {source} ({shape[0]} frames of {shape[1]}x{shape[2]}), {process.world_size} "
            f"process(es) on {process.device}: {field.num_params():,} params, "
            f"{field.macs(shape).with_bias:,.1f} MACs/pixel, lr {lr:g}"
        )
        out = config.output_dir("fit_video", f"{name}-{config.model}")
        values = rearrange(video, "t h w c -> (t h w) c")
        write = partial(write_outputs, config, field, video, source=source, out=out, console=console)
        return fit_into(out, config, field, values, shape, lr, process, {"data": source}, announce, write, console)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def write_outputs(
    config: FitVideoConfig,
    field: GridField,
    video: Tensor,
    history: Dict[str, Any],
    *,
    source: str,
    out: Path,
    console: Console,
) -> Dict[str, Any]:
    device = next(field.parameters()).device
    shape = tuple(video.shape[:3])
    reconstruction = render_frames(field, shape, device)
    frame_psnr = [psnr(r, v).item() for r, v in zip(reconstruction, video)]
    frame_ssim = [None if value is None else value.item() for value in map(ssim, reconstruction, video)]
    (psnr_mean, psnr_std), (ssim_mean, ssim_std) = mean_std(frame_psnr), mean_std(frame_ssim)
    results = {
        "data": source,
        "model": config.model,
        "shape": list(shape),
        "channels": video.shape[-1],
        "psnr_mean": psnr_mean,
        "psnr_std": psnr_std,
        "ssim_mean": ssim_mean,
        "ssim_std": ssim_std,
        "frame_psnr": frame_psnr,
        "frame_ssim": frame_ssim,
        **history,
        **run_record(field, shape, device, config, config.data),
        "notes": "Per-frame PSNR/SSIM after the last step (predictions clamped to [0, 1]); std is the population std over "
        "frames; SSIM is null for frames with a side under 6 pixels (not defined).",
    }
    save_checkpoint(out / "checkpoint.pt", field, shape, history["steps"], {"data": source})  # the work first
    write_json(out / "results.json", results)
    save_video(out / ("reconstruction.gif" if config.gif else "reconstruction.mp4"), reconstruction, config.fps)
    middle = shape[0] // 2
    save_image(out / "side_by_side.png", side_by_side(video[middle], reconstruction[middle]))
    console.print(
        f"PSNR {psnr_mean:.2f} ± {psnr_std:.2f} dB, SSIM {formatted(ssim_mean, '.4f')} ± {formatted(ssim_std, '.4f')} "
        f"over {shape[0]} frames -> {out}"
    )
    return results
