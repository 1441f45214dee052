"""SIREN sine layers (Sitzmann et al., 2020) with their initialization."""

from __future__ import annotations

import math

import torch
from jaxtyping import Float
from torch import Tensor, nn


def siren_init_(linear: nn.Linear, omega0: float, is_first: bool) -> None:
    """SIREN init: U(+-1/d_in) for the first layer, U(+-sqrt(6/d_in)/omega0) after; weights and bias."""
    fan_in = linear.in_features
    bound = 1.0 / fan_in if is_first else math.sqrt(6.0 / fan_in) / omega0
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound)
        if linear.bias is not None:
            linear.bias.uniform_(-bound, bound)


class SineLayer(nn.Module):
    """z -> sin(omega0 * (W z + b + shift)), the shift being an optional modulation."""

    def __init__(self, in_dim: int, out_dim: int, omega0: float = 30.0, is_first: bool = False) -> None:
        super().__init__()
        self.omega0 = omega0
        self.linear = nn.Linear(in_dim, out_dim)
        siren_init_(self.linear, omega0, is_first)

    def pre_activation(
        self, z: Float[Tensor, "*batch in_dim"], shift: Float[Tensor, "*batch out_dim"] | None = None
    ) -> Float[Tensor, "*batch out_dim"]:
        """omega0 * (W z + b + shift): the argument of the sine."""
        out = self.linear(z)
        if shift is not None:
            out = out + shift
        return self.omega0 * out

    def forward(
        self, z: Float[Tensor, "*batch in_dim"], shift: Float[Tensor, "*batch out_dim"] | None = None
    ) -> Float[Tensor, "*batch out_dim"]:
        return torch.sin(self.pre_activation(z, shift))
