"""Linear layers with one weight matrix per tile (KiloNeRF, Levels-of-Experts), as batched products."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn


@dataclass(frozen=True)
class TileGroups:
    """Points sorted by tile into equal blocks, every block holding points of one tile only.

    Padding each tile's points to whole blocks keeps the layout O(points + tiles * block) for any
    distribution of points (uniform, clustered in one tile, or empty tiles), so one batched matrix
    product evaluates every tile at once.
    """

    order: Int[Tensor, "N"]
    """Permutation sorting the points by tile."""
    slots: Int[Tensor, "N"]
    """Row of each sorted point in the padded ``[blocks * block_size]`` layout."""
    block_tiles: Int[Tensor, "K"]
    """The tile of each block."""
    block_size: int

    @classmethod
    def of(cls, tiles: Int[Tensor, "N"], num_tiles: int, block_size: int = 128) -> TileGroups:
        sorted_tiles, order = torch.sort(tiles, stable=True)
        counts = torch.bincount(tiles, minlength=num_tiles)
        blocks_per_tile = torch.div(counts + block_size - 1, block_size, rounding_mode="floor")
        first_block = torch.cumsum(blocks_per_tile, 0) - blocks_per_tile
        first_point = torch.cumsum(counts, 0) - counts
        rank = torch.arange(tiles.numel(), device=tiles.device) - first_point[sorted_tiles]
        slots = first_block[sorted_tiles] * block_size + rank
        block_tiles = torch.repeat_interleave(torch.arange(num_tiles, device=tiles.device), blocks_per_tile)
        return cls(order, slots, block_tiles, block_size)

    def group(self, values: Float[Tensor, "N C"]) -> Float[Tensor, "K M C"]:
        padded = values.new_zeros(self.block_tiles.numel() * self.block_size, values.shape[-1])
        padded = padded.index_copy(0, self.slots, values[self.order])
        return rearrange(padded, "(k m) c -> k m c", m=self.block_size)

    def ungroup(self, blocks: Float[Tensor, "K M C"]) -> Float[Tensor, "N C"]:
        sorted_values = rearrange(blocks, "k m c -> (k m) c")[self.slots]
        return torch.empty_like(sorted_values).index_copy(0, self.order, sorted_values)


class TileLinear(nn.Module):
    """``num_tiles`` linear maps ``in_dim -> out_dim``; the bias is per tile or shared by all tiles.

    Each tile is initialized like ``nn.Linear``: U(+-1/sqrt(in_dim)).
    """

    def __init__(self, num_tiles: int, in_dim: int, out_dim: int, tiled_bias: bool = True) -> None:
        super().__init__()
        self.num_tiles, self.in_dim, self.out_dim = num_tiles, in_dim, out_dim
        bound = 1.0 / math.sqrt(in_dim)
        self.weight = nn.Parameter(torch.empty(num_tiles, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(num_tiles if tiled_bias else 1, out_dim).uniform_(-bound, bound))

    def forward(
        self, blocks: Float[Tensor, "K M in_dim"], tiles: Int[Tensor, "K"] | None = None
    ) -> Float[Tensor, "K M out_dim"]:
        """Block k through the map of tile ``tiles[k]`` (default: block k is tile k)."""
        weight = self.weight if tiles is None else self.weight[tiles]
        bias = self.bias if tiles is None or self.bias.shape[0] == 1 else self.bias[tiles]
        return torch.baddbmm(rearrange(bias, "k o -> k 1 o"), blocks, weight)
