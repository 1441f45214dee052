"""How a network's output layer starts: the paper's (SIREN) initialization, or at the signal's mean."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Literal

import torch
from jaxtyping import Float
from torch import Tensor

from asmr_plugin.fields.base import GridField

InitName = Literal["mean", "paper"]
"""``--init``: mean (the default) or paper."""
SignalKind = Literal["image", "audio", "video", "megapixel", "occupancy"]
"""The kinds of signal whose start under ``--init mean`` was measured on a corpus of their own (the nerfstudio
method fits images): a network's output gain may differ between them (``GridField.mean_start_gains``)."""


@dataclass(frozen=True)
class OutputInit:
    """Where the output layer starts, on top of the network's own initialization."""

    mean_bias: bool
    """Set the output bias to the signal's mean, so that the first prediction is the mean rather than about 0."""
    weight_gain: float | None = None
    """Scale the output weights by this; None: by the network's ``mean_start_gain`` for the signal when
    ``mean_bias``, else 1."""
    description: str = field(default="", compare=False)

    def apply(
        self, network: GridField, mean: Float[Tensor, "C"], name: str | None = None, signal: SignalKind = "image"
    ) -> str:
        """Start ``network``'s output layer so for a signal of kind ``signal``; returns what was done
        (``GridField.initialization``): ``name``, else what changed."""
        gain = self.weight_gain
        if gain is None:
            gain = network.mean_start_gain(signal) if self.mean_bias else 1.0
        if not self.mean_bias and gain == 1.0:
            network.initialization = "paper"
        elif not network.has_output_offset():
            network.initialization = "paper (no output bias)"
        else:
            network.start_at_(mean if self.mean_bias else None, gain)
            changed = ("bias = mean" if self.mean_bias else "paper") + (f", weights x{gain:g}" if gain != 1 else "")
            network.initialization = name or changed
        return network.initialization


INITS: Dict[str, OutputInit] = {
    "mean": OutputInit(
        True,
        description="the output bias at the signal's mean, and the output weights at the gain measured best for "
        "the network on that kind of signal (ASMR on occupancy and megapixel images: x10; on images: x3; "
        "on audio: x0.3; elsewhere x1)",
    ),
    "paper": OutputInit(False, description="the paper's (the network's own initialization of the output layer)"),
}
"""Initializations by ``--init`` name. The studies (docs/studies/init-per-signal.md, docs/studies/asmr-start.md)
measured the candidates per signal: the bias at the mean starts far faster than the paper's initialization on every
signal; ASMR's output weights x10 on top end lower on audio and video and higher on occupancy and megapixel images,
x3 ends highest on images after the paper's 10K steps, x0.3 on audio, and SIREN's x10 cost it 4 dB on images
(``GridField.mean_start_gains``)."""
DEFAULT_INIT: InitName = "mean"


def initialize_output(field: GridField, mean: Float[Tensor, "C"], init: str, signal: SignalKind = "image") -> str:
    """Apply ``--init`` ``init`` to a freshly built ``field`` for a signal of kind ``signal`` and channel means
    ``mean``; returns what was done (for results files). Networks without an output bias keep their own start."""
    if init not in INITS:
        raise ValueError(f"--init must be one of {', '.join(INITS)}; got {init!r}")
    return INITS[init].apply(field, mean, init, signal)


def channel_mean(values: Float[Tensor, "*shape C"]) -> Float[Tensor, "C"]:
    """The mean of each channel of a signal."""
    return values.reshape(-1, values.shape[-1]).mean(0)


def logit_mean(occupancy: Float[Tensor, "*shape"]) -> Float[Tensor, "1"]:
    """The logit of the occupied fraction: where a network trained with a logistic loss starts at the mean."""
    fraction = occupancy.float().mean().clamp(1e-4, 1 - 1e-4)
    return torch.logit(fraction).reshape(1)
