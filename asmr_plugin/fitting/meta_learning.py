"""Meta-learning one network for a whole dataset (COIN++, Dupont et al. 2022; paper Sec. 4.4, Eq. 3).

Each instance is a latent vector, mapped to shifts that are added to the hidden pre-activations of a
network shared by the dataset. A few SGD steps on the latent, starting from zero, encode an instance
(the inner loop); the outer loop trains the shared network and the latent-to-shift map, through the
inner loop (second order), so that those few steps reconstruct well.
"""

from __future__ import annotations

from typing import Tuple

import torch
from einops import reduce
from jaxtyping import Float
from torch import Tensor

from asmr_plugin.fields.latent_modulated import LatentModulatedField


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
