"""A dense grid of values read by linear interpolation: the baseline every coordinate network must beat at equal
parameters (Grids often outperform implicit neural representations, NeurIPS 2025)."""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from asmr_plugin.fields.base import GridField, crop
from asmr_plugin.macs import MacCount
from asmr_plugin.memory import check_memory

TRAINING_BYTES = 4 * 4
"""Bytes per value while training: float32 value, gradient and Adam's two moments."""
INTERPOLATION = {1: "linear", 2: "bilinear", 3: "trilinear"}
"""torch's interpolation mode per number of axes (linear, bilinear, trilinear)."""


def resolution_for(shape: Sequence[int], channels: int, params: int) -> Tuple[int, ...]:
    """The grid resolution per axis with at most ``params`` values over ``channels`` channels, in the signal's
    aspect, as many values as fit: the signal's own resolution from one value per sample up. Every axis keeps
    two values at least (one where the signal has one), so a budget below that is a ValueError."""
    shape = tuple(int(size) for size in shape)
    floor = tuple(min(size, 2) for size in shape)
    if params < channels * math.prod(floor):
        raise ValueError(
            f"a grid over a signal of shape {shape} with {channels} channel(s) needs at least "
            f"{channels * math.prod(floor)} parameters (two values per axis), got {params}"
        )
    if params >= channels * math.prod(shape):
        return shape
    scale = (params / (channels * math.prod(shape))) ** (1 / len(shape))
    resolution = [max(low, min(size, int(size * scale))) for size, low in zip(shape, floor)]
    while True:  # grow the axis furthest below the signal's aspect while the budget allows
        growable = [
            axis
            for axis, size in enumerate(shape)
            if resolution[axis] < size
            and channels * math.prod(resolution) // resolution[axis] * (resolution[axis] + 1) <= params
        ]
        if not growable:
            return tuple(resolution)
        axis = min(growable, key=lambda index: resolution[index] / shape[index])
        resolution[axis] += 1


class DenseGridField(GridField):
    """Values on a regular grid of ``resolution`` spanning the signal (corners on its first and last samples),
    read by linear, bilinear or trilinear interpolation; coordinates outside repeat the edge.

    ``params`` (a budget: the largest grid within it, in the signal's aspect) or ``resolution`` (per axis) sets its
    size; neither: one value per sample, which stores the signal exactly. ``macs`` counts the 2^D weighted reads per
    output channel. The values start at 0 (``--init mean``: at the signal's mean).
    """

    paper_lr = 1e-2
    """Not the paper's: the rate measured for whole-signal steps (Cameraman: 1e-2 to 3e-1 end equal after 300 steps;
    speech: 1e-2 and 1e-1 equal after 2K; 1e-1 overshoots in the first few steps; docs/studies/grid-baseline.md),
    cosine annealing to 1e-6."""
    signal_lrs = {"video": 1e-1, "megapixel": 1e-1, "occupancy": 1e-1}
    """Random batches reach each value seldom: 1e-1 measured best (video 36.6 against 34.4 dB at 1e-2, megapixel 39.9
    against 21.0, occupancy IoU 0.81 against 0.12)."""
    from_paper = False

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        params: int | None = None,
        resolution: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if len(shape) not in INTERPOLATION:
            raise ValueError(f"a dense grid takes 1-D, 2-D or 3-D signals, got shape {tuple(shape)}")
        if params is not None and resolution is not None:
            raise ValueError("give a dense grid its parameter budget or its resolution, not both")
        if resolution is None:
            resolution = resolution_for(shape, out_dim, params if params is not None else out_dim * math.prod(shape))
        resolution = tuple(int(size) for size in resolution)
        if len(resolution) != len(shape) or min(resolution) < 1:
            raise ValueError(f"resolution {resolution}: expected one positive size per axis of shape {tuple(shape)}")
        check_memory(
            TRAINING_BYTES * out_dim * math.prod(resolution), f"a dense grid of {resolution} x {out_dim} values"
        )
        self.store_arguments(shape, out_dim, resolution=list(resolution))
        self.resolution = resolution
        self.values = nn.Parameter(torch.zeros(1, out_dim, *resolution))
        """[1, C, *resolution]: the layout of torch's interpolation (one batch, channels first)."""
        self.register_buffer("to_unit", torch.tensor([2 / max(size - 1, 1) for size in self.grid_shape]))

    def has_output_offset(self) -> bool:
        return True

    @torch.no_grad()
    def start_at_(self, mean: Float[Tensor, "C"] | None, weight_gain: float = 1.0) -> None:
        """Every value at the signal's ``mean`` (``weight_gain`` scales the values first: 0 from the start)."""
        self.values.mul_(weight_gain)
        if mean is not None:
            spread = rearrange(mean.to(self.values), "c -> 1 c" + " 1" * len(self.resolution))
            self.values.copy_(spread.expand_as(self.values))

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        unit = coords * self.to_unit - 1.0  # [-1, 1] over the grid's corners
        points = rearrange(unit.flip(-1), "... d -> (...) d")  # torch samples (x, y, z): the last axis first
        values = self.values
        if len(self.resolution) == 1:  # a row of a 2-D image
            values, points = values.unsqueeze(2), torch.cat([points, torch.zeros_like(points)], dim=-1)
        spatial = " ".join("1" * (values.dim() - 3))
        grid = rearrange(points, f"n d -> 1 {spatial} n d")
        sampled = nn.functional.grid_sample(values, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return rearrange(sampled, "1 c ... -> (...) c").reshape(*coords.shape[:-1], self.out_dim)

    def render(self, shape: Sequence[int] | None = None) -> Float[Tensor, "*shape C"]:
        """The whole grid by one interpolation of the values (equal to ``forward`` at every sample)."""
        shape = self.check_shape(shape)
        full = nn.functional.interpolate(
            self.values, size=self.grid_shape, mode=INTERPOLATION[len(self.grid_shape)], align_corners=True
        )
        return crop(rearrange(full, "1 c ... -> ... c"), shape)

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        reads = float(2 ** len(self.grid_shape) * self.out_dim)
        return MacCount(weights_only=reads, with_bias=reads)
