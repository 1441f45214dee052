"""Meta-learning one network for a whole dataset (COIN++, Dupont et al. 2022; paper Sec. 4.4, Eq. 3).

Each instance is a latent vector, mapped to shifts that are added to the hidden pre-activations of a
network shared by the dataset. A few SGD steps on the latent, starting from zero, encode an instance
(the inner loop); the outer loop trains the shared network and the latent-to-shift map, through the
inner loop (second order), so that those few steps reconstruct well.
"""

from __future__ import annotations

from typing import Tuple

import torch
from einops import rearrange, reduce
from jaxtyping import Float
from nerfstudio.field_components.mlp import MLP
from torch import Tensor, nn

from asmr_plugin.fields import GridField

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
        self.shifts = LatentToShifts(latent_dim, field.shift_shape, mapping_layers, mapping_hidden)

    @property
    def latent_dim(self) -> int:
        return self.shifts.latent_dim

    def forward(self, latents: Float[Tensor, "B latent"]) -> Float[Tensor, "B *shape C"]:
        """The instances' whole grids."""
        return self.field.render(shifts=self.shifts(latents)) + OUTPUT_OFFSET


def instance_mse(predicted: Float[Tensor, "B *shape C"], target: Float[Tensor, "B *shape C"]) -> Float[Tensor, "B"]:
    return reduce((predicted - target) ** 2, "b ... -> b", "mean")


def fit_latents(
    model: LatentModulatedField,
    signals: Float[Tensor, "B *shape C"],
    steps: int,
    lr: float,
    create_graph: bool = False,
) -> Float[Tensor, "B latent"]:
    """The inner loop: ``steps`` SGD steps on each instance's own MSE, from zero latents.

    With ``create_graph`` the steps stay differentiable with respect to the model (for the outer loop).
    """
    latents = torch.zeros(
        signals.shape[0], model.latent_dim, dtype=signals.dtype, device=signals.device, requires_grad=True
    )
    with torch.enable_grad():
        for _ in range(steps):
            loss = instance_mse(model(latents), signals).sum()  # each latent sees only its own image's MSE
            (gradient,) = torch.autograd.grad(loss, latents, create_graph=create_graph)
            latents = latents - lr * gradient
    return latents if create_graph else latents.detach()


def meta_loss(
    model: LatentModulatedField,
    signals: Float[Tensor, "B *shape C"],
    inner_steps: int,
    inner_lr: float,
    second_order: bool,
) -> Tuple[Float[Tensor, ""], Float[Tensor, "B"]]:
    """The outer loss (mean over the batch of each instance's MSE after the inner loop) and the MSEs."""
    latents = fit_latents(model, signals, inner_steps, inner_lr, create_graph=second_order)
    errors = instance_mse(model(latents), signals)
    return errors.mean(), errors.detach()


@torch.no_grad()
def encode(
    model: LatentModulatedField, signals: Float[Tensor, "N *shape C"], inner_steps: int, inner_lr: float, batch: int
) -> Tuple[Float[Tensor, "N latent"], Float[Tensor, "N *shape C"]]:
    """Latents and reconstructions (clamped to [0, 1]) of held-out signals after the inner loop."""
    latents, reconstructions = [], []
    for chunk in signals.split(batch):
        chunk_latents = fit_latents(model, chunk, inner_steps, inner_lr)
        latents.append(chunk_latents)
        reconstructions.append(model(chunk_latents).clamp(0, 1))
    return torch.cat(latents), torch.cat(reconstructions)
