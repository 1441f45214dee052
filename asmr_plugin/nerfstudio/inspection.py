"""What the live viewer shows beside the fit: the error, ASMR's coarse levels and hidden units, the counts."""

from __future__ import annotations

from typing import Tuple

from einops import reduce, repeat
from jaxtyping import Float
from torch import Tensor

from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.base import GridField, crop


def error_map(prediction: Float[Tensor, "*batch C"], target: Float[Tensor, "*batch C"]) -> Float[Tensor, "*batch 1"]:
    """|prediction - target| per pixel, the mean over the channels (one channel: the viewer colour-maps it)."""
    return reduce((prediction.clamp(0, 1) - target).abs(), "... c -> ... 1", "mean")


def unit_image(field: ASMRField, layer: int, unit: int, shape: Tuple[int, int]) -> Float[Tensor, "H W 1"]:
    """``field.unit_map(layer, unit)`` on the image's pixels, each cell repeated (nearest neighbour) so the cells
    stay visible, in [0, 1]: a sine's activation a as (a + 1) / 2, the first layer's shared part scaled by its range."""
    cells = field.unit_map(layer, unit)
    grid_height, grid_width = field.grid_shape
    pixels = repeat(cells, "h w -> (h a) (w b) 1", a=grid_height // cells.shape[0], b=grid_width // cells.shape[1])
    if layer == 0:
        low, high = pixels.min(), pixels.max()
        scaled = (pixels - low) / (high - low).clamp_min(1e-12)
    else:
        scaled = (pixels + 1) / 2
    return crop(scaled, (*shape, 1))


def network_text(field: GridField, shape: Tuple[int, int], psnr: float | None) -> str:
    """Parameters, MACs per pixel in both conventions and the current PSNR, for the GUI."""
    macs = field.macs(shape)
    current = "–" if psnr is None else f"{psnr:.2f} dB"
    return (
        f"{field.num_params():,} params; MACs/px {macs.weights_only:,.0f} (weights), {macs.with_bias:,.0f} (+bias); "
        f"PSNR {current}"
    )
