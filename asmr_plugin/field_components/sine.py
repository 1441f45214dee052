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
        """omega0 * (W z + b + shift): the argument of the sine.

        omega0 scales the (small) weights rather than the (large) activations.
        """
        out = nn.functional.linear(z, self.omega0 * self.linear.weight, self.omega0 * self.linear.bias)
        return out if shift is None else out + self.omega0 * shift

    def forward(
        self, z: Float[Tensor, "*batch in_dim"], shift: Float[Tensor, "*batch out_dim"] | None = None
    ) -> Float[Tensor, "*batch out_dim"]:
        return torch.sin(self.pre_activation(z, shift))


class _SinCos(torch.autograd.Function):
    """sin and cos of one tensor; the backward reuses both instead of recomputing them."""

    @staticmethod
    def forward(ctx, x: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        sin, cos = torch.sin(x), torch.cos(x)
        ctx.save_for_backward(sin, cos)
        return sin, cos

    @staticmethod
    def backward(ctx, grad_sin: Tensor, grad_cos: Tensor) -> Tensor:  # type: ignore[override]
        sin, cos = ctx.saved_tensors
        return torch.addcmul(grad_sin * cos, grad_cos, sin, value=-1.0)


def sin_cos(x: Float[Tensor, "*batch"]) -> tuple[Float[Tensor, "*batch"], Float[Tensor, "*batch"]]:
    """(sin x, cos x), differentiable, evaluating each once in the forward and none in the backward."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _SinCos.apply(x)
    return torch.sin(x), torch.cos(x)  # inference and TorchScript tracing: plain tensor ops
