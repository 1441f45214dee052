"""Coordinate decomposition as a nerfstudio encoding."""

from __future__ import annotations

from typing import Sequence

from einops import rearrange
from jaxtyping import Float, Int
from nerfstudio.field_components.encodings import Encoding
from torch import Tensor

from asmr_plugin import decomposition
from asmr_plugin.decomposition import Bases


class CoordinateDecomposition(Encoding):
    """Maps grid coordinates to their per-level digits scaled to [0, 1] (paper Sec. 3.1).

    Args:
        bases: one list of bases per axis (``[[4, 4, 4, 8], [4, 4, 6, 8]]``); shorter lists are
            padded with 1s.
        bounds: optional ``[2, D]`` lower and upper corners of the region the grid covers, for
            world-space inputs (a nerfstudio scene box's ``aabb``). Without it, inputs are in
            pixel/sample units of the grid.

    Continuous coordinates are floored to their cell and values outside the grid are clamped to
    the edge cells. The output is ``[..., levels * axes]``, level-major:
    ``[x_0 (all axes), x_1 (all axes), ...]``.
    """

    def __init__(self, bases: Sequence[Sequence[int]], bounds: Float[Tensor, "2 D"] | None = None) -> None:
        self.bases: Bases = decomposition.parse_bases(bases)
        super().__init__(in_dim=len(self.bases))
        if bounds is not None and tuple(bounds.shape) != (2, len(self.bases)):
            raise ValueError(
                f"bounds must be [2, {len(self.bases)}] (lower and upper corner), got {tuple(bounds.shape)}"
            )
        self.register_buffer("bounds", None if bounds is None else bounds.float())

    @property
    def num_levels(self) -> int:
        return decomposition.num_levels(self.bases)

    def get_out_dim(self) -> int:
        return self.num_levels * len(self.bases)

    def grid_indices(self, coords: Float[Tensor, "*batch D"]) -> Int[Tensor, "*batch D"]:
        """The finest grid cell of each coordinate (world coordinates mapped through ``bounds`` first)."""
        if self.bounds is not None:
            lower, upper = self.bounds
            coords = (coords - lower) / (upper - lower) * coords.new_tensor(decomposition.grid_shape(self.bases))
        return decomposition.to_grid_indices(coords, self.bases)

    def levels(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch L D"]:
        """The scaled digits of each level, one row per level."""
        cells = self.grid_indices(coords)
        return decomposition.scale_digits(decomposition.digits(cells, self.bases), self.bases).to(coords.dtype)

    def forward(self, in_tensor: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch out_dim"]:
        return rearrange(self.levels(in_tensor), "... l d -> ... (l d)")
