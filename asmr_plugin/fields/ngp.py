"""Instant-NGP (Mueller et al., 2022) for signals: nerfstudio's multiresolution hash encoding and MLP."""

from __future__ import annotations

from typing import Literal, Sequence, Tuple

import torch
from einops import rearrange
from jaxtyping import Float
from nerfstudio.field_components.encodings import HashEncoding
from nerfstudio.field_components.mlp import MLP
from nerfstudio.utils.external import TCNN_EXISTS
from torch import Tensor, nn

from asmr_plugin.fields.base import GridField, grid_coords, unit_coords
from asmr_plugin.macs import MacCount, mlp_macs

HASH_INPUT_DIM = 3
"""nerfstudio's HashEncoding takes 3-D points; 1-D and 2-D coordinates are padded with zeros."""


def default_implementation() -> Literal["tcnn", "torch"]:
    """tinycudann when it is installed and CUDA is available, else nerfstudio's torch code (no warning)."""
    return "tcnn" if TCNN_EXISTS and torch.cuda.is_available() else "torch"


class NGPField(GridField):
    """Hash-grid features of the coordinate in [0, 1] (padded to 3-D), then a ReLU MLP.

    ``num_layers`` counts the MLP's linear layers, the output included. ``macs`` counts the MLP
    only, as the paper does (the hash lookups and interpolation are not multiply-accumulates of
    weights). The default finest resolution is half the largest axis, the ratio of the paper's
    megapixel configuration (4096 for 8192 pixels). ``implementation``: tinycudann or torch
    (default: tinycudann when it can run); instance shifts (``render(shifts=...)``) need torch.
    """

    paper_lr = 1e-2
    """The Instant-NGP paper's rate (the ASMR paper states none for its image experiments)."""

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 64,
        num_layers: int = 3,
        num_levels: int = 16,
        features_per_level: int = 2,
        log2_hashmap_size: int = 16,
        min_res: int = 16,
        max_res: int | None = None,
        implementation: Literal["tcnn", "torch"] | None = None,
    ) -> None:
        super().__init__()
        if len(shape) > HASH_INPUT_DIM:
            raise ValueError(f"Instant-NGP takes up to {HASH_INPUT_DIM}-D signals, got shape {tuple(shape)}")
        max_res = max_res or max(max(shape) // 2, 2)
        min_res = min(min_res, max_res)
        self.store_arguments(
            shape,
            out_dim,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_levels=num_levels,
            features_per_level=features_per_level,
            log2_hashmap_size=log2_hashmap_size,
            min_res=min_res,
            max_res=max_res,
            implementation=implementation,
        )
        implementation = implementation or default_implementation()
        self.encoding = HashEncoding(
            num_levels, min_res, max_res, log2_hashmap_size, features_per_level, implementation=implementation
        )
        self.mlp = MLP(
            self.encoding.get_out_dim(),
            num_layers,
            hidden_dim,
            out_dim,
            activation=nn.ReLU(),
            implementation=implementation,
        )
        self.dims = [self.encoding.get_out_dim()] + [hidden_dim] * (num_layers - 1) + [out_dim]

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        points = unit_coords(coords, self.grid_shape)
        padded = nn.functional.pad(points, (0, HASH_INPUT_DIM - points.shape[-1]))
        return self.mlp(self.encoding(padded)).float()

    @property
    def shift_shape(self) -> Tuple[int, int]:
        """(hidden layers, H): one instance shift per hidden layer of the MLP (COIN++ modulation)."""
        return len(self.dims) - 2, self.dims[1]

    def render(
        self, shape: Sequence[int] | None = None, shifts: Float[Tensor, "B layers H"] | None = None
    ) -> Float[Tensor, "*shape C"] | Float[Tensor, "B *shape C"]:
        """The grid; with ``shifts``, the B grids whose hidden pre-activations get each instance's shift."""
        if shifts is None:
            return super().render(shape)
        if self.mlp.tcnn_encoding is not None:
            raise ValueError("instance shifts need the torch MLP: build NGPField(..., implementation='torch')")
        if shifts.shape[1:] != self.shift_shape:
            raise ValueError(f"shifts must be [B, {', '.join(map(str, self.shift_shape))}], got {list(shifts.shape)}")
        shape = self.check_shape(shape)
        coords = grid_coords(shape, shifts.device)
        cell_axes = " ".join("1" * len(shape))
        z = self.encoding(nn.functional.pad(unit_coords(coords, self.grid_shape), (0, HASH_INPUT_DIM - len(shape))))
        *hidden, output = self.mlp.layers
        for index, layer in enumerate(hidden):
            z = torch.relu(layer(z) + rearrange(shifts[:, index], f"b h -> b {cell_axes} h"))
        return output(z).float()

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs(self.dims)
