"""Levels-of-Experts (Hao et al., 2022): MLP layers whose weights are chosen by position from tiles."""

from __future__ import annotations

import math
from typing import Sequence

from einops import rearrange
from jaxtyping import Float, Int
from nerfstudio.field_components.encodings import NeRFEncoding
from torch import Tensor, nn

from asmr_plugin import decomposition
from asmr_plugin.field_components.tile_linear import TileGroups, TileLinear
from asmr_plugin.fields.base import GridField, cells_of, crop, grid_coords, unit_coords
from asmr_plugin.macs import MacCount, mlp_macs


class LoEField(GridField):
    """ReLU MLP on NeRF's positional encoding; hidden layer l picks its weight tile by digit l of ``bases``.

    The bases are the weight-tile grid of each tiled layer (the paper's "partition bases", the
    cumulative product covering the signal): layer l uses tile floor(x / G_l) mod B_l per axis, so
    the first layer's tiles change slowest and the last tiled layer's repeat fastest (coarse to
    fine, as in the coordinate decomposition). Biases are shared by the tiles of a layer and the
    output layer is one shared linear map. ``num_layers`` counts all linear layers (levels + 1).
    """

    paper_lr = 1e-2

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 24,
        num_layers: int | None = None,
        bases: Sequence[Sequence[int]] | None = None,
        num_frequencies: int = 8,
    ) -> None:
        super().__init__()
        shape = tuple(int(size) for size in shape)
        num_axes = len(shape)
        if bases is None:
            levels = (num_layers or 4) - 1
            if levels < 1:
                raise ValueError(f"LoE needs at least 2 layers (one tiled layer and the output), got {num_layers}")
            self.bases = decomposition.auto_bases(shape, levels)
        else:
            self.bases = decomposition.parse_bases(bases, num_axes)
            decomposition.check_bases(self.bases, shape)
        levels = decomposition.num_levels(self.bases)
        if num_layers is not None and num_layers != levels + 1:
            raise ValueError(
                f"num_layers {num_layers} disagrees with the LoE bases {[list(b) for b in self.bases]}: "
                f"{levels} tiled layers plus the shared output layer make {levels + 1}"
            )
        bases_lists = [list(axis_bases) for axis_bases in self.bases]
        self.store_arguments(shape, out_dim, hidden_dim=hidden_dim, bases=bases_lists, num_frequencies=num_frequencies)
        self.encoding = NeRFEncoding(num_axes, num_frequencies, 0, num_frequencies - 1, include_input=True)
        self.dims = [self.encoding.get_out_dim()] + [hidden_dim] * levels + [out_dim]
        self.tile_counts = [math.prod(decomposition.level_bases(self.bases, level)) for level in range(levels)]
        self.layers = nn.ModuleList(
            TileLinear(tiles, d_in, d_out, tiled_bias=False)
            for tiles, d_in, d_out in zip(self.tile_counts, self.dims[:-2], self.dims[1:-1])
        )
        self.activation = nn.ReLU()
        self.output = nn.Linear(hidden_dim, out_dim)

    def tiles_of(self, coords: Float[Tensor, "*batch D"]) -> Int[Tensor, "*batch L"]:
        """The flat tile index of each tiled layer for each coordinate."""
        digits = decomposition.digits(cells_of(coords, self.grid_shape), self.bases)  # [..., L, D]
        return rearrange(
            [
                decomposition.flat_index(digits[..., level, :], decomposition.level_bases(self.bases, level))
                for level in range(len(self.layers))
            ],
            "l ... -> ... l",
        )

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        points = rearrange(coords, "... d -> (...) d")
        tiles = self.tiles_of(points)
        z = self.encoding(unit_coords(points, self.grid_shape))
        for level, (layer, num_tiles) in enumerate(zip(self.layers, self.tile_counts)):
            groups = TileGroups.of(tiles[:, level], num_tiles)
            z = self.activation(groups.ungroup(layer(groups.group(z), groups.block_tiles)))
        return self.output(z).reshape(*coords.shape[:-1], self.out_dim)

    def capture_obstacle(self, full_grid: bool) -> str | None:
        if full_grid:
            return None
        return "LoE groups random points by tile (torch.repeat_interleave), whose block count depends on the batch"

    def render(self, shape: Sequence[int] | None = None) -> Float[Tensor, "*shape C"]:
        """The whole grid with each layer's points grouped by tile through a reshape (no sorting), cropped to ``shape``.

        On an axis of C_{l-1} * B_l * G_l samples, index (c, b, g) holds digit b at level l, so moving
        the b axes to the front groups every tile's points into one block of a batched product.
        """
        shape = self.check_shape(shape)
        grid = decomposition.grid_shape(self.bases)
        axes = range(len(grid))
        split = " ".join(f"(c{a} b{a} g{a})" for a in axes)
        tiles, rest = " ".join(f"b{a}" for a in axes), " ".join(f"c{a} g{a}" for a in axes)
        coords = grid_coords(grid, self.output.weight.device)
        z = self.encoding(unit_coords(coords, self.grid_shape))
        for level, layer in enumerate(self.layers):
            cells = decomposition.cumulative_bases(self.bases)[level]
            sizes = {
                **{f"c{a}": cells[a] // self.bases[a][level] for a in axes},
                **{f"b{a}": self.bases[a][level] for a in axes},
                **{f"g{a}": grid[a] // cells[a] for a in axes},
            }
            blocks = rearrange(z, f"{split} e -> ({tiles}) ({rest}) e", **sizes)
            z = rearrange(self.activation(layer(blocks)), f"({tiles}) ({rest}) e -> {split} e", **sizes)
        return crop(self.output(z), shape)

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs(self.dims)
