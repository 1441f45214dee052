"""WIRE (Saragadam et al., 2023): an MLP with complex Gabor wavelet activations."""

from __future__ import annotations

from typing import Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from asmr_plugin.field_components.gabor import GaborLayer
from asmr_plugin.fields.base import GridField, unit_coords
from asmr_plugin.macs import MacCount, mlp_macs


class WIREField(GridField):
    """Gabor layers on x in [-1, 1] (the first real, the rest complex), a complex linear output, its real part.

    ``num_layers`` counts the linear layers, the output included: the paper's Table 3 WIRE has a
    first layer, 3 hidden layers of 212 and the output (5). Parameters and MACs count a complex
    weight as one, as the paper does (each is 2 floats and a complex MAC is 4 real ones).
    """

    paper_lr = 1e-3

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 212,
        num_layers: int = 5,
        omega0: float = 20.0,
        scale0: float = 20.0,
    ) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"WIRE needs at least 2 layers (one Gabor layer and the output), got {num_layers}")
        self.store_arguments(shape, out_dim, hidden_dim=hidden_dim, num_layers=num_layers, omega0=omega0, scale0=scale0)
        self.dims = [len(self.grid_shape)] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.gabor_layers = nn.Sequential(
            *(
                GaborLayer(d_in, d_out, omega0, scale0, is_first=index == 0)
                for index, (d_in, d_out) in enumerate(zip(self.dims[:-2], self.dims[1:-1]))
            )
        )
        self.output = nn.Linear(hidden_dim, out_dim, dtype=torch.complex64)

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        x = 2 * unit_coords(coords, self.grid_shape) - 1
        return self.output(self.gabor_layers(x)).real

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs(self.dims)
