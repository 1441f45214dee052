"""WIRE's complex Gabor wavelet layer (Saragadam et al., 2023)."""

from __future__ import annotations

import torch
from jaxtyping import Complex, Float
from torch import Tensor, nn


class GaborLayer(nn.Module):
    """z -> exp(i omega0 u - |s0 u|^2) with u = W z + b, complex valued.

    The first layer maps real coordinates with real weights; later layers are complex.
    """

    def __init__(
        self, in_dim: int, out_dim: int, omega0: float = 20.0, scale0: float = 20.0, is_first: bool = False
    ) -> None:
        super().__init__()
        self.omega0, self.scale0 = omega0, scale0
        self.linear = nn.Linear(in_dim, out_dim, dtype=torch.float32 if is_first else torch.complex64)

    def forward(
        self, z: Float[Tensor, "*batch in_dim"] | Complex[Tensor, "*batch in_dim"]
    ) -> Complex[Tensor, "*batch out_dim"]:
        u = self.linear(z)
        return torch.exp(1j * self.omega0 * u - (self.scale0 * u).abs().square())
