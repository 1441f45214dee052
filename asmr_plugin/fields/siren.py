"""SIREN (Sitzmann et al., 2020): an MLP with sine activations on normalized coordinates."""

from __future__ import annotations

from typing import Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from asmr_plugin.field_components.sine import SineLayer, siren_init_
from asmr_plugin.fields.base import GridField
from asmr_plugin.macs import MacCount, mlp_macs


class SIRENField(GridField):
    """SIREN on a grid of ``shape``: ``num_layers`` linear layers, all but the last followed by a sine.

    Coordinates in pixel/sample units are mapped to [-1, 1] per axis (first sample -> -1, last -> 1).
    ``first_omega0`` (default: ``omega0``) is the first layer's frequency; Sitzmann et al. use 3000
    for audio, whose 2 s clips hold far higher frequencies per unit of [-1, 1] than images.
    """

    paper_lr = 1e-4

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 256,
        num_layers: int = 4,
        omega0: float = 30.0,
        first_omega0: float | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"SIREN needs at least 2 layers (one sine layer and the output), got {num_layers}")
        self.store_arguments(
            shape, out_dim, hidden_dim=hidden_dim, num_layers=num_layers, omega0=omega0, first_omega0=first_omega0
        )
        self.hidden_dim, self.num_layers = hidden_dim, num_layers
        widths = [len(self.grid_shape)] + [hidden_dim] * (num_layers - 1)
        self.sine_layers = nn.Sequential(
            *(
                SineLayer(d_in, d_out, first_omega0 or omega0 if index == 0 else omega0, is_first=index == 0)
                for index, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:]))
            )
        )
        self.output = nn.Linear(hidden_dim, out_dim)
        siren_init_(self.output, omega0, is_first=False)
        self.register_buffer("coord_scale", 2.0 / (torch.tensor(self.grid_shape, dtype=torch.float32) - 1).clamp(min=1))

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        normalized = coords * self.coord_scale - 1.0
        return self.output(self.sine_layers(normalized))

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs([len(self.grid_shape)] + [self.hidden_dim] * (self.num_layers - 1) + [self.out_dim])
