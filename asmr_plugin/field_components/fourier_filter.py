"""The Fourier filter of multiplicative filter networks (FourierNet, Fathony et al., 2021)."""

from __future__ import annotations

import math

import torch
from jaxtyping import Float
from torch import Tensor, nn


class FourierFilter(nn.Module):
    """x -> sin(W x + b): weights U(+-1/sqrt(in_dim)) times ``frequency_scale``, phases U(-pi, pi)."""

    def __init__(self, in_dim: int, out_dim: int, frequency_scale: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        with torch.no_grad():
            self.linear.weight.mul_(frequency_scale)
            self.linear.bias.uniform_(-math.pi, math.pi)

    def forward(self, x: Float[Tensor, "*batch in_dim"]) -> Float[Tensor, "*batch out_dim"]:
        return torch.sin(self.linear(x))
