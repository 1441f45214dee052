"""A field shared by a dataset whose instances are latent vectors (COIN++, Dupont et al. 2022; paper
Eq. 3): each latent is mapped to shifts added to the hidden pre-activations of the shared field."""

from __future__ import annotations

from typing import Tuple

from einops import rearrange
from jaxtyping import Float
from nerfstudio.field_components.mlp import MLP
from torch import Tensor, nn

from asmr_plugin.fields.base import GridField

OUTPUT_OFFSET = 0.5
"""Signals lie in [0, 1]; the network predicts the offset from mid-grey, as COIN++ does."""


class LatentToShifts(nn.Module):
    """COIN++'s latent-to-modulation map (nerfstudio's MLP: linear for 1 layer, else ReLUs between)
    to one shift per modulated layer, ``[B, layers, H]``."""

    def __init__(
        self, latent_dim: int, shift_shape: Tuple[int, int], num_layers: int = 1, hidden_dim: int = 256
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"the latent-to-shift map needs at least 1 layer, got {num_layers}")
        self.latent_dim, self.shift_shape = latent_dim, tuple(shift_shape)
        self.mlp = MLP(
            latent_dim,
            num_layers,
            hidden_dim,
            shift_shape[0] * shift_shape[1],
            activation=nn.ReLU(),
            implementation="torch",
        )

    def forward(self, latents: Float[Tensor, "B latent"]) -> Float[Tensor, "B layers H"]:
        return rearrange(self.mlp(latents), "b (layers h) -> b layers h", layers=self.shift_shape[0])


class LatentModulatedField(nn.Module):
    """A field shared by a dataset; each instance is the latent that ``shifts`` maps to its shifts.

    ``field`` takes instance shifts: it has ``shift_shape`` and ``render(shifts=...)`` (ASMR, Instant-NGP).
    """

    def __init__(self, field: GridField, latent_dim: int = 128, mapping_layers: int = 1, mapping_hidden: int = 256):
        super().__init__()
        self.field = field
        if field.shift_shape[0] == 0:
            raise ValueError(
                f"{type(field).__name__} with one layer has no hidden layer for the latents to modulate; "
                "meta-learning needs --num-layers 2 or more"
            )
        self.shifts = LatentToShifts(latent_dim, field.shift_shape, mapping_layers, mapping_hidden)

    @property
    def latent_dim(self) -> int:
        return self.shifts.latent_dim

    def forward(self, latents: Float[Tensor, "B latent"]) -> Float[Tensor, "B *shape C"]:
        """The instances' whole grids."""
        return self.field.render(shifts=self.shifts(latents)) + OUTPUT_OFFSET
