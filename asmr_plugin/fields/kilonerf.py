"""KiloNeRF (Reiser et al., 2021) for signals: a grid of tiny MLPs on positionally encoded coordinates."""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from einops import rearrange
from jaxtyping import Float, Int
from nerfstudio.field_components.encodings import NeRFEncoding
from torch import Tensor, nn

from asmr_plugin import decomposition
from asmr_plugin.field_components.tile_linear import TileGroups, TileLinear
from asmr_plugin.fields.base import GridField, cells_of, grid_coords, unit_coords
from asmr_plugin.macs import MacCount, mlp_macs

DEFAULT_TILES = 16


class KiloNeRFField(GridField):
    """One LeakyReLU(0.2) MLP per tile of a ``grid`` over the signal, all evaluated as batched products.

    Every MLP takes NeRF's positional encoding (``num_frequencies`` octaves plus the input) of the
    global coordinate in [0, 1]. The tile of a point is floor(x * grid / N) per axis, so any grid
    size works for any signal size, and points may fall anywhere (clustered, or none in a tile).
    ``num_layers`` counts the linear layers of each MLP, the output included. The default grid is
    16 tiles per axis (the paper's images), fewer on an axis shorter than 16 samples.
    """

    paper_lr = 5e-4

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 16,
        num_layers: int = 3,
        grid: int | Sequence[int] | None = None,
        num_frequencies: int = 10,
    ) -> None:
        super().__init__()
        shape = tuple(int(size) for size in shape)
        tiles = tuple(min(DEFAULT_TILES, size) for size in shape) if grid is None else grid
        tiles = (int(tiles),) * len(shape) if isinstance(tiles, int) else tuple(int(g) for g in tiles)
        if len(tiles) != len(shape) or any(not 1 <= g <= n for g, n in zip(tiles, shape)):
            raise ValueError(
                f"KiloNeRF grid {list(tiles)} must give 1 to N tiles on each axis of the signal of shape {shape}"
            )
        if num_layers < 1:
            raise ValueError(f"KiloNeRF needs at least 1 layer, got {num_layers}")
        self.tiles = tiles
        self.store_arguments(
            shape,
            out_dim,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            grid=list(tiles),
            num_frequencies=num_frequencies,
        )
        num_axes, num_tiles = len(self.grid_shape), math.prod(self.tiles)
        self.encoding = NeRFEncoding(num_axes, num_frequencies, 0, num_frequencies - 1, include_input=True)
        self.dims = [self.encoding.get_out_dim()] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(
            TileLinear(num_tiles, d_in, d_out) for d_in, d_out in zip(self.dims[:-1], self.dims[1:])
        )
        self.activation = nn.LeakyReLU(0.2)

    def output_layer(self) -> Tuple[Tensor, Tensor]:
        return self.layers[-1].weight, self.layers[-1].bias

    def tile_of(self, coords: Float[Tensor, "*batch D"]) -> Int[Tensor, "*batch"]:
        """The flat index of the tile holding each coordinate."""
        sizes, tiles = (
            torch.tensor(self.grid_shape, device=coords.device),
            torch.tensor(self.tiles, device=coords.device),
        )
        per_axis = torch.div(cells_of(coords, self.grid_shape) * tiles, sizes, rounding_mode="floor")
        return decomposition.flat_index(per_axis, self.tiles)

    def mlps(self, blocks: Float[Tensor, "K M E"], tiles: Int[Tensor, "K"] | None = None) -> Float[Tensor, "K M C"]:
        """Block k of encoded points through the MLP of tile ``tiles[k]`` (default: tile k)."""
        for index, layer in enumerate(self.layers):
            blocks = layer(blocks, tiles)
            if index < len(self.layers) - 1:
                blocks = self.activation(blocks)
        return blocks

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        points = rearrange(coords, "... d -> (...) d")
        groups = TileGroups.of(self.tile_of(points), math.prod(self.tiles))
        encoded = self.encoding(unit_coords(points, self.grid_shape))
        values = groups.ungroup(self.mlps(groups.group(encoded), groups.block_tiles))
        return values.reshape(*coords.shape[:-1], self.out_dim)

    def capture_obstacle(self, full_grid: bool) -> str | None:
        if full_grid and not any(n % g for n, g in zip(self.grid_shape, self.tiles)):
            return None
        return "KiloNeRF groups the points by tile (torch.repeat_interleave), whose block count depends on the points"

    def render(self, shape: Sequence[int] | None = None) -> Float[Tensor, "*shape C"]:
        """The grid tile by tile as one batched product when the tiles divide it evenly, else in chunks."""
        shape = self.check_shape(shape)
        if shape != self.grid_shape or any(n % g for n, g in zip(shape, self.tiles)):
            return super().render(shape)
        axes = " ".join(f"t{a}" for a in range(len(shape)))
        inner = " ".join(f"m{a}" for a in range(len(shape)))
        split = " ".join(f"(t{a} m{a})" for a in range(len(shape)))
        sizes = {f"t{a}": g for a, g in enumerate(self.tiles)}
        coords = grid_coords(shape, self.layers[0].weight.device)
        blocks = rearrange(self.encoding(unit_coords(coords, shape)), f"{split} e -> ({axes}) ({inner}) e", **sizes)
        values = self.mlps(blocks)
        inner_sizes = {f"m{a}": n // g for a, (n, g) in enumerate(zip(shape, self.tiles))}
        return rearrange(values, f"({axes}) ({inner}) c -> {split} c", **sizes, **inner_sizes)

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs(self.dims)
