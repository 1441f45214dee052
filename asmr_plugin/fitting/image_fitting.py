"""Fit one image with ASMR or SIREN and write the reconstruction, a PSNR plot, results and a checkpoint."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Literal, Tuple

import torch
from matplotlib.figure import Figure
from rich.console import Console

from asmr_plugin import decomposition
from asmr_plugin.fields import ASMRField, GridField, SIRENField
from asmr_plugin.fitting.checkpoint import save_checkpoint
from asmr_plugin.fitting.files import atomic_path, prepare_output_dir, write_json
from asmr_plugin.fitting.images import default_image, load_image, save_image
from asmr_plugin.fitting.metrics import psnr, ssim
from asmr_plugin.fitting.trainer import FitConfig, FitHistory, fit
from asmr_plugin.macs import measured_macs

DEFAULT_LEVELS = 4


@dataclass
class FitImageConfig:
    """Fit an image with a coordinate network (defaults: the paper's Table 2 protocol)."""

    data: Path | None = None
    """Image to fit (PNG, JPEG, TIFF, ...). Default: the Cameraman photo that scikit-image ships."""
    model: Literal["asmr", "siren"] = "asmr"
    """Network to fit."""
    bases: Tuple[str, ...] | None = None
    """ASMR bases: one comma-separated list per axis (H first), or one list for every axis,
    e.g. '4,4,4,8' or '4,4,4,8' '4,4,6,8'. Default: chosen for the image size (see auto_bases)."""
    num_layers: int | None = None
    """Number of linear layers (for ASMR: levels). Default: 4, or the length of --bases."""
    hidden_dim: int = 256
    """Width of the hidden layers."""
    omega0: float = 30.0
    """SIREN frequency (also scales ASMR's modulators)."""
    steps: int = 10_000
    """Optimizer steps."""
    lr: float = 1e-4
    """Initial Adam learning rate (cosine annealing to 1e-6)."""
    batch_size: int | None = None
    """None: the whole image every step (the paper). Otherwise random pixels per step."""
    out: Path | None = None
    """Output folder. Default: outputs/fit_image/<image>-<model>-<time>."""
    overwrite: bool = False
    """Allow writing into a non-empty --out folder (files of the same name are replaced)."""
    device: str | None = None
    """Torch device. Default: cuda when available, else cpu."""
    seed: int = 0
    """Seed for initialization and batches."""
    progress: bool = True
    """Show a progress bar."""


def parse_bases_option(bases: Tuple[str, ...], num_axes: int, option_prefix: str = "--") -> decomposition.Bases:
    """'4,4,4,8' (every axis) or one such list per axis, as given to --bases."""
    try:
        per_axis = [[int(base) for base in axis.split(",") if base.strip()] for axis in bases]
    except ValueError as error:
        raise ValueError(
            f"{option_prefix}bases {' '.join(bases)}: expected comma-separated integers per axis, e.g. 4,4,4,8"
        ) from error
    if len(per_axis) == 1:
        per_axis = per_axis * num_axes
    try:
        return decomposition.parse_bases(per_axis, num_axes)
    except ValueError as error:
        raise ValueError(f"{option_prefix}bases: {error}") from error


def build_field(
    model: str,
    shape: Tuple[int, ...],
    channels: int,
    bases: Tuple[str, ...] | None = None,
    num_layers: int | None = None,
    hidden_dim: int = 256,
    omega0: float = 30.0,
    option_prefix: str = "--",
) -> GridField:
    """The network named ``model`` for a signal grid of ``shape`` with ``channels`` outputs.

    ``bases`` and ``num_layers`` are command-line options; errors name them with ``option_prefix``.
    """
    if model == "siren":
        if bases is not None:
            raise ValueError(f"{option_prefix}bases applies to ASMR only, not {model}")
        return SIRENField(shape, hidden_dim, num_layers or DEFAULT_LEVELS, channels, omega0)
    if model != "asmr":
        raise ValueError(f"--model must be asmr or siren, got {model!r}")
    if bases is not None:
        parsed = parse_bases_option(bases, len(shape), option_prefix)
        if num_layers is not None and num_layers != decomposition.num_levels(parsed):
            raise ValueError(
                f"{option_prefix}num-layers {num_layers} disagrees with {option_prefix}bases, which give "
                f"{decomposition.num_levels(parsed)} levels (ASMR has one layer per level)"
            )
        try:
            decomposition.check_bases(parsed, shape)
        except ValueError as error:
            raise ValueError(f"{option_prefix}bases do not fit the image of shape {shape}: {error}") from error
    else:
        parsed = decomposition.auto_bases(shape, num_layers or DEFAULT_LEVELS)
    return ASMRField(parsed, hidden_dim, channels, omega0)


def default_output_dir(data: Path, model: str) -> Path:
    return Path("outputs") / "fit_image" / f"{data.stem}-{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def plot_psnr(path: Path, history: FitHistory, title: str) -> None:
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.plot(history.steps, history.psnr)
    axes.set_xlabel("step")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)


def run(config: FitImageConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit, write every output into the output folder and return the results dictionary."""
    console = console or Console()
    data = Path(config.data) if config.data is not None else default_image()
    target = load_image(data)
    shape, channels = tuple(target.shape[:2]), target.shape[-1]
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    fit_config = FitConfig(steps=config.steps, lr=config.lr, batch_size=config.batch_size, seed=config.seed, progress=config.progress)
    torch.manual_seed(config.seed)
    field = build_field(
        config.model, shape, channels, config.bases, config.num_layers, config.hidden_dim, config.omega0
    ).to(device)
    out = prepare_output_dir(config.out or default_output_dir(data, config.model), config.overwrite)
    target = target.to(device)
    macs = field.macs(shape)
    console.print(
        f"[bold]{config.model}[/] on {data} ({shape[0]}x{shape[1]}, {channels} channel(s)) on {device}: "
        f"{field.num_params():,} params, {macs.with_bias:,.1f} MACs/pixel"
        + (f", bases {[list(b) for b in field.bases]}" if isinstance(field, ASMRField) else "")
    )
    history = fit(field, target, fit_config)
    with torch.no_grad():
        reconstruction = field.render(shape).clamp(0, 1)
        executed = measured_macs(lambda: field.render(shape)) / reconstruction[..., 0].numel()
    results = {
        "data": str(data),
        "model": config.model,
        "shape": list(shape),
        "channels": channels,
        "init_kwargs": field.init_kwargs,
        "final_psnr": psnr(reconstruction, target).item(),
        "best_psnr": history.best_psnr,
        "best_step": history.best_step,
        "ssim": ssim(reconstruction, target).item(),
        "params": field.num_params(),
        "macs_weights": macs.weights_only,
        "macs_with_bias": macs.with_bias,
        "macs_executed_render": executed,
        "steps": config.steps,
        "seconds": history.seconds,
        "seconds_per_step": history.seconds / config.steps,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "config": {key: str(value) if isinstance(value, Path) else value for key, value in asdict(config).items()},
        "notes": "final_psnr/ssim: after the last step; best_psnr: the best logged step (the released code reports best). "
        "macs_executed_render: matrix-product MACs per pixel that render() ran (FlopCounterMode).",
    }
    save_image(out / "reconstruction.png", reconstruction)
    plot_psnr(out / "psnr.png", history, f"{config.model} on {data.name}")
    save_checkpoint(out / "checkpoint.pt", field, shape, config.steps, {"data": str(data)})
    write_json(out / "results.json", results)
    console.print(
        f"final PSNR {results['final_psnr']:.2f} dB (best {results['best_psnr']:.2f} dB at step {results['best_step']}), "
        f"SSIM {results['ssim']:.4f}, {history.seconds:.1f} s -> {out}"
    )
    return results
