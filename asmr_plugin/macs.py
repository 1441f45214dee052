"""Analytic parameter and MAC counts in the paper's conventions, and measured counts.

Two conventions appear in the paper (Section 4 and the notes of its Tables 2-4 and 7):

- *weights only*: multiplications by weight matrices, as in the SIREN rows of Tables 2-4;
- *with biases*: the authors' counter, which adds the bias adds and, for ASMR, the
  modulation adds (Table 7 and every ASMR row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from torch.utils.flop_counter import FlopCounterMode

from asmr_plugin import decomposition
from asmr_plugin.decomposition import Bases


@dataclass(frozen=True)
class MacCount:
    """Multiply-accumulates per sample in both of the paper's conventions."""

    weights_only: float
    with_bias: float


def mlp_macs(dims: Sequence[int]) -> MacCount:
    """Per-sample MACs of a plain MLP with layer widths ``dims`` (input first, output last)."""
    weights = sum(d_in * d_out for d_in, d_out in zip(dims[:-1], dims[1:]))
    return MacCount(weights_only=float(weights), with_bias=float(weights + sum(dims[1:])))


def mfn_macs(in_dim: int, hidden_dim: int, num_layers: int, out_dim: int) -> MacCount:
    """Per-sample MACs of a multiplicative filter network: ``num_layers`` filters ``in_dim -> hidden``,
    ``num_layers - 1`` hidden linear layers and the output layer (the filter products are not MACs)."""
    weights = num_layers * in_dim * hidden_dim + (num_layers - 1) * hidden_dim**2 + hidden_dim * out_dim
    biases = num_layers * hidden_dim + (num_layers - 1) * hidden_dim + out_dim
    return MacCount(weights_only=float(weights), with_bias=float(weights + biases))


def asmr_macs(bases: Bases, hidden_dim: int, out_dim: int, shape: Sequence[int] | None = None) -> MacCount:
    """Per-sample MACs of ASMR with activation sharing (the authors' formula).

    MAC = (1/N) [ sum_i m_i P_i + sum_{i<L-1} (d0 h Q_{i+1} + h P_i) ] where P_i is the number of
    level-i cells, Q_i the number of level-i digit combinations and m_i the MACs of layer i.
    N is the number of samples in ``shape`` (default: the whole grid); a padded grid is paid in full.
    """
    num_axes, levels = len(bases), decomposition.num_levels(bases)
    samples = math.prod(shape if shape is not None else decomposition.grid_shape(bases))
    cells = [math.prod(level) for level in decomposition.cumulative_bases(bases)]  # P_i
    combos = [math.prod(decomposition.level_bases(bases, level)) for level in range(levels)]  # Q_i
    dims = [num_axes] + [hidden_dim] * (levels - 1) + [out_dim]
    weights = sum(dims[i] * dims[i + 1] * cells[i] for i in range(levels))
    biases = sum(dims[i + 1] * cells[i] for i in range(levels))
    modulator_weights = sum(num_axes * hidden_dim * combos[i + 1] for i in range(levels - 1))
    modulation_adds = sum(hidden_dim * cells[i] for i in range(levels - 1))
    return MacCount(
        weights_only=(weights + modulator_weights) / samples,
        with_bias=(weights + biases + modulator_weights + modulation_adds) / samples,
    )


def measured_macs(function: Callable[[], object]) -> float:
    """Total MACs of the matrix products ``function()`` executes (FLOPs / 2, weights only)."""
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops() / 2
