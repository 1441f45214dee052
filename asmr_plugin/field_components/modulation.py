"""Hierarchical modulation (paper Sec. 3.2): one bias-free linear modulator per level."""

from __future__ import annotations

import math

import torch
from einops import einsum
from jaxtyping import Float
from nerfstudio.field_components.base_field_component import FieldComponent
from torch import Tensor, nn


class HierarchicalModulation(FieldComponent):
    """Shifts M_i(x_i) = omega0 * W_Mi x_i for levels i = 1 .. L-1, W_Mi ~ U(+-1/sqrt(d0)).

    Args:
        num_axes: d0, the number of coordinate axes (each level's digit vector has d0 entries).
        hidden_dim: width of the modulated sine layers.
        num_levels: L; the modulator count is L - 1 (level 0 feeds the first layer instead).
        omega0: the SIREN frequency that also scales the modulators.
    """

    def __init__(self, num_axes: int, hidden_dim: int, num_levels: int, omega0: float = 30.0) -> None:
        super().__init__(in_dim=num_axes, out_dim=hidden_dim)
        self.omega0 = omega0
        bound = 1.0 / math.sqrt(num_axes)
        self.weight = nn.Parameter(torch.empty(num_levels - 1, hidden_dim, num_axes).uniform_(-bound, bound))

    @property
    def num_modulators(self) -> int:
        return self.weight.shape[0]

    def level_weight(self, level: int) -> Float[Tensor, "H D"]:
        """omega0 * W_M for levels 1 .. L-1: M_level(x) = level_weight(level) @ x."""
        if not 1 <= level <= self.num_modulators:
            raise IndexError(f"modulated levels are 1..{self.num_modulators}, got {level}")
        return self.omega0 * self.weight[level - 1]

    def level(self, level: int, digits: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch H"]:
        """M_level(x_level) for levels 1 .. L-1."""
        return einsum(digits, self.level_weight(level), "... d, h d -> ... h")

    def forward(self, digits: Float[Tensor, "*batch Lm1 D"]) -> Float[Tensor, "*batch Lm1 H"]:
        """The shifts of every modulated level, from the digits of levels 1 .. L-1."""
        return self.omega0 * einsum(digits, self.weight, "... l d, l h d -> ... l h")
