"""FFN (Tancik et al., 2020): a ReLU MLP on Gaussian random Fourier features."""

from __future__ import annotations

from typing import Sequence

from jaxtyping import Float
from nerfstudio.field_components.encodings import RFFEncoding
from nerfstudio.field_components.mlp import MLP
from torch import Tensor, nn

from asmr_plugin.fields.base import GridField, unit_coords
from asmr_plugin.macs import MacCount, mlp_macs


class FFNField(GridField):
    """[sin, cos](2 pi B x) with B ~ N(0, sigma^2) on coordinates in [0, 1], then a ReLU MLP.

    ``num_layers`` counts the MLP's linear layers, the output included (the paper's "3 layers").
    The frozen projection B is not counted in ``macs``, as in the paper's Table 3.
    """

    paper_lr = 1e-3

    def __init__(
        self,
        shape: Sequence[int],
        out_dim: int = 1,
        hidden_dim: int = 256,
        num_layers: int = 3,
        num_frequencies: int = 128,
        sigma: float = 10.0,
    ) -> None:
        super().__init__()
        self.store_arguments(
            shape, out_dim, hidden_dim=hidden_dim, num_layers=num_layers, num_frequencies=num_frequencies, sigma=sigma
        )
        self.encoding = RFFEncoding(len(self.grid_shape), num_frequencies, sigma)
        self.mlp = MLP(self.encoding.get_out_dim(), num_layers, hidden_dim, out_dim, activation=nn.ReLU())
        self.dims = [self.encoding.get_out_dim()] + [hidden_dim] * (num_layers - 1) + [out_dim]

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        return self.mlp(self.encoding(unit_coords(coords, self.grid_shape)))

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        self.check_shape(shape)
        return mlp_macs(self.dims)
