"""The interface every network of this package implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from asmr_plugin.macs import MacCount


def grid_coords(shape: Sequence[int], device: torch.device | str | None = None) -> Float[Tensor, "*shape D"]:
    """Integer coordinates of every grid point, ``[*shape, D]``, in pixel/sample units."""
    axes = [torch.arange(size, device=device, dtype=torch.float32) for size in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


def unit_coords(coords: Float[Tensor, "*batch D"], shape: Sequence[int]) -> Float[Tensor, "*batch D"]:
    """Pixel/sample coordinates mapped to [0, 1] per axis: the first sample to 0, the last to 1."""
    last = torch.tensor([max(size - 1, 1) for size in shape], dtype=coords.dtype, device=coords.device)
    return coords / last


def cells_of(coords: Float[Tensor, "*batch D"], shape: Sequence[int]) -> Int[Tensor, "*batch D"]:
    """The grid cell of each coordinate (floor), clamped to the grid of ``shape``: edge cells repeat."""
    upper = torch.tensor(shape, device=coords.device) - 1
    return torch.minimum(torch.floor(coords).long().clamp(min=0), upper)


def crop(values: Float[Tensor, "*grid C"], shape: Sequence[int]) -> Float[Tensor, "*shape C"]:
    """The first ``shape`` entries of each axis of a (padded) grid of values."""
    return values[tuple(slice(0, size) for size in shape)]


class GridField(nn.Module, ABC):
    """A coordinate network on a signal grid.

    ``forward`` maps ``[..., D]`` coordinates in pixel/sample units (continuous allowed) to
    ``[..., C]``; ``render`` gives the whole grid by the fastest exact path; ``macs`` and
    ``num_params`` give the paper's counts. ``init_kwargs`` rebuilds the field from a checkpoint.
    """

    grid_shape: Tuple[int, ...]
    out_dim: int
    init_kwargs: Dict[str, Any]
    paper_lr: float
    """Initial Adam learning rate the paper uses for this network (cosine annealing to 1e-6)."""
    signal_lrs: Mapping[str, float] = {}
    """Adam's initial rate per signal kind where the best measured differs from ``paper_lr`` (networks outside the
    paper; ``lr_for``)."""
    from_paper: bool = True
    """Whether the ASMR paper trains this network (False: a baseline added here, trained at its own ``paper_lr``
    where the paper gives one rate for every network of a task)."""
    initialization: str | None = None
    """How the output layer started (``fields.initialization.initialize_output``): paper, mean or checkpoint
    (loaded weights); None for a network as its constructor left it (the paper's initialization)."""
    mean_start_gains: Mapping[str, float] = {}
    """The gain of the output weights when the output starts at the signal's mean (``--init mean``), per signal
    kind, the best measured for this network on that signal's corpus (docs/studies/init-per-signal.md); 1 where
    absent."""
    lr_subset_names: Tuple[str, ...] = ()
    """The names of ``lr_subsets`` (the paper trains every parameter at one rate)."""

    @classmethod
    def mean_start_gain(cls, signal: str) -> float:
        """The output weights' gain under ``--init mean`` for a signal of kind ``signal``."""
        return cls.mean_start_gains.get(signal, 1.0)

    @classmethod
    def lr_for(cls, signal: str) -> float:
        """This network's initial rate on a signal of kind ``signal``."""
        return cls.signal_lrs.get(signal, cls.paper_lr)

    def lr_subsets(self) -> Dict[str, List[nn.Parameter]]:
        """Named parameter subsets that may learn at a rate of their own."""
        return {}

    def parameter_groups(self, lr: float, scales: Mapping[str, float] | None = None) -> List[Dict[str, Any]]:
        """Adam's parameter groups: each subset named in ``scales`` at ``lr`` times its scale, the rest at ``lr``."""
        scales = {name: scale for name, scale in (scales or {}).items() if scale != 1.0}
        subsets = self.lr_subsets()
        unknown = sorted(set(scales) - set(subsets))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no {' or '.join(unknown)} parameters to train at another rate")
        scaled = {id(parameter) for name in scales for parameter in subsets[name]}
        rest = [parameter for parameter in self.parameters() if id(parameter) not in scaled]
        return [{"params": rest, "lr": lr}] + [
            {"params": subsets[name], "lr": lr * scale} for name, scale in scales.items()
        ]

    def output_layer(self) -> Tuple[Tensor, Tensor] | None:
        """The output layer's weight and bias, whose bias offsets every output (None: no such layer)."""
        output = getattr(self, "output", None)
        mlp = getattr(self, "mlp", None)  # an MLP module (nerfstudio's, torch's): its last linear layer
        if output is None and isinstance(mlp, nn.Module) and getattr(mlp, "tcnn_encoding", None) is None:
            linears = [module for module in mlp.modules() if isinstance(module, nn.Linear)]  # tinycudann's: none
            output = linears[-1] if linears else None
        if isinstance(output, nn.Linear) and output.bias is not None:
            return output.weight, output.bias
        return None

    def has_output_offset(self) -> bool:
        """Whether ``start_at_`` can start the output at the signal's mean (an output bias, or values of its own)."""
        return self.output_layer() is not None

    @torch.no_grad()
    def start_at_(self, mean: Float[Tensor, "C"] | None, weight_gain: float = 1.0) -> None:
        """Start the output near the signal's ``mean``: the output layer's bias set to it (every tile's, for
        tiled output layers; None keeps it) and its weights scaled by ``weight_gain``."""
        layer = self.output_layer()
        if layer is None:
            raise ValueError(f"{type(self).__name__} has no output bias to start at the signal's mean")
        weight, bias = layer
        weight.mul_(weight_gain)
        if mean is not None:
            bias.copy_(mean.to(bias.device).expand_as(bias))

    def store_arguments(self, shape: Sequence[int], out_dim: int, **arguments: Any) -> None:
        """Keep the signal grid, the output width and the constructor's other arguments (for checkpoints)."""
        self.grid_shape = tuple(int(size) for size in shape)
        self.out_dim = out_dim
        self.init_kwargs = {"shape": list(self.grid_shape), "out_dim": out_dim, **arguments}

    def check_shape(self, shape: Sequence[int] | None) -> Tuple[int, ...]:
        if shape is None:
            return self.grid_shape
        shape = tuple(int(size) for size in shape)
        if len(shape) != len(self.grid_shape) or any(s > g for s, g in zip(shape, self.grid_shape)):
            raise ValueError(f"cannot render shape {shape}: this field's grid is {self.grid_shape}")
        return shape

    render_chunk_size = 2**16
    """Points per forward pass in the default ``render``."""

    def render(self, shape: Sequence[int] | None = None) -> Float[Tensor, "*shape C"]:
        """Every grid point of ``shape`` (default: the whole grid), evaluated in chunks."""
        shape = self.check_shape(shape)
        device = next(self.parameters()).device
        coords = rearrange(grid_coords(shape, device), "... d -> (...) d")
        values = torch.cat([self(chunk) for chunk in coords.split(self.render_chunk_size)])
        return values.unflatten(0, shape)

    def capture_obstacle(self, full_grid: bool) -> str | None:
        """Why a training step of this field (on the full grid, or on random batches) cannot be recorded as a
        CUDA graph; None when it can."""
        return None

    def num_params(self) -> int:
        return sum(parameter.numel() for parameter in self.parameters())

    @abstractmethod
    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        """Values at pixel/sample coordinates."""

    @abstractmethod
    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        """Analytic multiply-accumulates per sample to render ``shape`` (default: the grid)."""
