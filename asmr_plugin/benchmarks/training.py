"""ASMR training-step time with activation sharing against the same network evaluated per point.

Two measurements, each ratio taken in one run:

- full grid: a Cameraman ``cameraman-asmr4`` training step of the engine (MSE forward, backward and Adam's update
  on all 512x512 pixels) by ``render`` (Eq. 2) against ``forward_per_point`` (Eq. 1) on every pixel;
- random batch: a step on ``--batch`` random pixels of a ``--size`` RGB image with the paper's
  megapixel network (bases [4,4,4,4,4,8] per axis, width 512) by ``forward`` (work shared between
  the points of a cell) against ``forward_per_point``, with the largest gradient difference.

    asmr-bench training             (or: python scripts/bench_training.py)
    asmr-bench training --runs 3 --json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

import torch
from torch import Tensor

from asmr_plugin.benchmarks.timing import time_calls
from asmr_plugin.decomposition import auto_bases
from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.base import grid_coords
from asmr_plugin.fields.registry import parse_bases_option
from asmr_plugin.memory import check_points_memory
from asmr_plugin.paper.networks import CAMERAMAN_WIDTH, IMAGE_PRESETS, MEGAPIXEL_NETWORKS, PLUTO_BASES
from asmr_plugin.training.step import EagerStep, gradients, training_step

"""The paper's 8192 x 8192 network (Appendix E); other sizes get 6 levels chosen for them."""


@dataclass
class BenchTrainingConfig:
    """Training-step time of ASMR with and without activation sharing."""

    runs: int = 10
    """Timed steps of the shared paths."""
    per_point_runs: int = 3
    """Timed steps of the per-point paths (seconds each on a CPU)."""
    grid: int = 512
    """Side of the full-grid measurement's grey image (Cameraman's 512 and bases [4,4,4,8]; others get 4 levels)."""
    size: int = 8192
    """Side of the square RGB image of the random-batch measurement."""
    batch: int = 1 << 18
    """Random pixels per step (the paper's megapixel batch)."""
    threads: int | None = None
    """CPU threads (default: torch's default on this machine)."""
    json: bool = False
    """Print JSON instead of Markdown."""


def engine_step(field: ASMRField, predict: Callable[[], Tensor], target: Tensor) -> EagerStep:
    """The training engine's step: ``predict()``, MSE, backward, Adam's update and the schedule."""

    def loss() -> Tuple[Tensor, Tensor]:
        mse = torch.nn.functional.mse_loss(predict(), target)
        return mse, mse.detach()

    return training_step(loss, field.parameters(), field.paper_lr, total_steps=1000)


def mse_gradients(field: ASMRField, predict: Callable[[], Tensor], target: Tensor) -> List[Tensor]:
    """The MSE's gradients at the current weights (no update)."""
    return gradients(lambda: torch.nn.functional.mse_loss(predict(), target), list(field.parameters()))


def compare(
    name: str,
    field: ASMRField,
    shared: Callable[[], Tensor],
    per_point: Callable[[], Tensor],
    target: Tensor,
    config: BenchTrainingConfig,
) -> Dict[str, Any]:
    """The gradients of both paths at the same weights, then the time of a training step through each."""
    shared_grads, per_point_grads = mse_gradients(field, shared, target), mse_gradients(field, per_point, target)
    fast = time_calls(engine_step(field, shared, target), config.runs)
    slow = time_calls(engine_step(field, per_point, target), config.per_point_runs)
    return {
        "measurement": name,
        "shared": fast.as_dict(),
        "per_point": slow.as_dict(),
        "speedup": slow.mean / fast.mean,
        "max_abs_grad_diff": max((a - b).abs().max().item() for a, b in zip(shared_grads, per_point_grads)),
        "max_abs_grad": max(b.abs().max().item() for b in per_point_grads),
    }


def main(config: BenchTrainingConfig) -> None:
    for name in ("runs", "per_point_runs", "grid", "size", "batch"):
        if getattr(config, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.threads is not None and config.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {config.threads}")
    check_points_memory(config.grid**2, 256, f"--grid {config.grid}: a per-point step over {config.grid**2:,} pixels")
    check_points_memory(config.batch, 512, f"--batch {config.batch}: a per-point step")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(0)
    results = []

    grid = (config.grid, config.grid)
    paper = parse_bases_option(IMAGE_PRESETS["cameraman-asmr4"]["bases"], 2)
    bases = [list(axis) for axis in paper] if config.grid == 512 else auto_bases(grid, 4)
    cameraman = ASMRField(bases=bases, hidden_dim=CAMERAMAN_WIDTH, out_dim=1)
    pixels = grid_coords(grid)
    image = torch.rand(*grid, 1)
    results.append(
        compare(
            f"cameraman-asmr4 full-grid step ({config.grid}x{config.grid} grey)",
            cameraman,
            cameraman.render,
            lambda: cameraman.forward_per_point(pixels),
            image,
            config,
        )
    )

    pluto = config.size == 8192
    bases = PLUTO_BASES if pluto else auto_bases((config.size,) * 2, 6)
    megapixel = ASMRField(bases=bases, hidden_dim=MEGAPIXEL_NETWORKS["asmr"]["hidden_dim"], out_dim=3)
    batch = (torch.rand(config.batch, 2) * config.size).floor()
    colours = torch.rand(config.batch, 3)
    results.append(
        compare(
            f"random batch of {config.batch:,} pixels of a {config.size}x{config.size} RGB image (h=512, 6 levels)",
            megapixel,
            lambda: megapixel(batch),
            lambda: megapixel.forward_per_point(batch),
            colours,
            config,
        )
    )
    if config.json:
        print(
            json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, "results": results}, indent=2)
        )
        return
    print("| Step | Shared (ms) | Per point (ms) | Speed-up | Max abs grad diff (max abs grad) |")
    print("|---|---|---|---|---|")
    for r in results:
        shared, per_point = r["shared"], r["per_point"]
        print(
            f"| {r['measurement']} | {1e3 * shared['mean']:.1f} ± {1e3 * shared['std']:.1f} ({shared['runs']} runs) "
            f"| {1e3 * per_point['mean']:.1f} ± {1e3 * per_point['std']:.1f} ({per_point['runs']} runs) | {r['speedup']:.1f}x "
            f"| {r['max_abs_grad_diff']:.1e} ({r['max_abs_grad']:.1e}) |"
        )
    print(f"\nCPU threads: {torch.get_num_threads()}; torch {torch.__version__}.")
