"""MFN (Fathony et al., 2021), the FourierNet instance: sine filters multiplied into linear layers."""

from __future__ import annotations

import math
from typing import Sequence

from jaxtyping import Float
from torch import Tensor, nn

from asmr_plugin.field_components.fourier_filter import FourierFilter
from asmr_plugin.fields.base import GridField, unit_coords
from asmr_plugin.macs import MacCount, mfn_macs


class MFNField(GridField):
    """z_1 = g_1(x); z_{i+1} = g_{i+1}(x) * (W_i z_i + b_i); out = W z_L + b, on x in [-1, 1].

    ``num_layers`` counts the linear layers, the output included; there is one filter g_i per
    layer (FourierNet's ``n_layers + 1``). The paper's Table 3 network (2 hidden linear layers of
    256, 3 filters, input scale 256) is the default; its appendix calls it "4 layers".
    """

    paper_lr = 1e-2

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 256,
        num_layers: int = 3,
        input_scale: float = 256.0,
        weight_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"MFN needs at least 2 layers (one filtered layer and the output), got {num_layers}")
        arguments = {
            "hidden_dim": hidden_dim,
            "num_layers": num_layers,
            "input_scale": input_scale,
            "weight_scale": weight_scale,
        }
        self.store_arguments(shape, out_dim, **arguments)
        self.hidden_dim, self.num_layers = hidden_dim, num_layers
        num_axes = len(self.grid_shape)
        self.filters = nn.ModuleList(
            FourierFilter(num_axes, hidden_dim, input_scale / math.sqrt(num_layers)) for _ in range(num_layers)
        )
        self.linears = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(num_layers - 1))
        bound = math.sqrt(weight_scale / hidden_dim)
        for linear in self.linears:
            nn.init.uniform_(linear.weight, -bound, bound)
        self.output = nn.Linear(hidden_dim, out_dim)

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        x = 2 * unit_coords(coords, self.grid_shape) - 1
        z = self.filters[0](x)
        for filter_, linear in zip(self.filters[1:], self.linears):
            z = filter_(x) * linear(z)
        return self.output(z)

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mfn_macs(len(self.grid_shape), self.hidden_dim, self.num_layers, self.out_dim)
