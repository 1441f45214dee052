"""Reconstruction metrics on signal grids ``[*shape, C]`` via torchmetrics."""

from __future__ import annotations

from typing import Sequence

from einops import rearrange
from jaxtyping import Float
from torch import Tensor

# torchmetrics is imported where it is used: importing it takes seconds (torchvision, dynamo), which commands that
# never compute a metric (asmr-export, --help) need not pay.

SSIM_MIN_SIDE = 6
"""SSIM's 11-pixel Gaussian window is reflect-padded by 5 pixels, which needs sides of 6 or more;
on smaller images SSIM is not defined (reported as None / null / n/a)."""


def psnr(prediction: Float[Tensor, "*shape C"], target: Float[Tensor, "*shape C"], data_range: float = 1.0) -> Tensor:
    """PSNR in dB over every sample and channel."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return peak_signal_noise_ratio(prediction, target, data_range=data_range)


def ssim_defined(shape: Sequence[int]) -> bool:
    """Whether SSIM is defined for an image of ``shape`` (H, W, ...)."""
    return min(shape[:2]) >= SSIM_MIN_SIDE


def ssim(prediction: Float[Tensor, "H W C"], target: Float[Tensor, "H W C"], data_range: float = 1.0) -> Tensor | None:
    """SSIM of an image (Gaussian window 11, sigma 1.5), averaged over channels; None where a side
    is below ``SSIM_MIN_SIDE`` pixels."""
    if prediction.dim() != 3:
        raise ValueError(f"SSIM needs an image [H, W, C], got shape {tuple(prediction.shape)}")
    if not ssim_defined(prediction.shape):
        return None
    from torchmetrics.functional.image import structural_similarity_index_measure

    return structural_similarity_index_measure(
        rearrange(prediction, "h w c -> 1 c h w"), rearrange(target, "h w c -> 1 c h w"), data_range=data_range
    )
