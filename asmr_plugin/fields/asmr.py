"""ASMR: activation-sharing multi-resolution coordinate network (paper Eq. 1 and Eq. 2)."""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from einops import einsum, rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from asmr_plugin import decomposition
from asmr_plugin.field_components.decomposition_encoding import CoordinateDecomposition
from asmr_plugin.field_components.modulation import HierarchicalModulation
from asmr_plugin.field_components.sine import SineLayer, sin_cos, siren_init_
from asmr_plugin.fields.base import GridField, crop, grid_coords
from asmr_plugin.macs import MacCount, asmr_macs


def _axis_names(prefix: str, num_axes: int) -> str:
    return " ".join(f"{prefix}{axis}" for axis in range(num_axes))


def _merged_axis_names(num_axes: int) -> str:
    """'(c0 b0) (c1 b1)': on every axis the coarse cell index is the more significant one."""
    return " ".join(f"(c{axis} b{axis})" for axis in range(num_axes))


def _broadcast_add(coarse: Tensor, fine: Tensor) -> Tensor:
    num_axes = coarse.dim() - 1
    cells, digits = _axis_names("c", num_axes), _axis_names("b", num_axes)
    spread_coarse = rearrange(coarse, f"{cells} h -> {' '.join(f'c{a} 1' for a in range(num_axes))} h")
    spread_fine = rearrange(fine, f"{digits} h -> {' '.join(f'1 b{a}' for a in range(num_axes))} h")
    pairs = " ".join(f"c{axis} b{axis}" for axis in range(num_axes))
    return rearrange(spread_coarse + spread_fine, f"{pairs} h -> {_merged_axis_names(num_axes)} h")


class _UpsampleAddTile(torch.autograd.Function):
    """U(coarse, B) + R(fine, C) with a backward of one-axis sums (PyTorch's strided
    multi-axis sum over the interleaved axes is ~10x slower here, measured)."""

    @staticmethod
    def forward(ctx, coarse: Tensor, fine: Tensor) -> Tensor:  # type: ignore[override]
        ctx.split_shape = [size for pair in zip(coarse.shape[:-1], fine.shape[:-1]) for size in pair] + [
            coarse.shape[-1]
        ]
        return _broadcast_add(coarse, fine)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        split = grad.reshape(ctx.split_shape)  # [c0, b0, c1, b1, ..., h]
        grad_coarse, grad_fine = split, split
        for axis in reversed(range(len(ctx.split_shape) // 2)):
            grad_coarse = grad_coarse.sum(dim=2 * axis + 1)
            grad_fine = grad_fine.sum(dim=2 * axis)
        return grad_coarse, grad_fine


def upsample_add_tile(coarse: Float[Tensor, "*cells H"], fine: Float[Tensor, "*digits H"]) -> Float[Tensor, "*finer H"]:
    """U(coarse, B) + R(fine, C) of Eq. 2, one grid with C*B entries per axis.

    Every coarse cell is repeated B times (nearest neighbour) and the fine table is tiled C
    times, so entry c*B + b of an axis holds coarse[c] + fine[b]. Broadcasting does both at once.
    """
    if torch.is_grad_enabled() and (coarse.requires_grad or fine.requires_grad):
        return _UpsampleAddTile.apply(coarse, fine)
    return _broadcast_add(coarse, fine)  # inference and TorchScript tracing: plain tensor ops


class _GatherShift(torch.autograd.Function):
    """rows of ``pre`` plus ``digits @ weight.T``, with a backward that forms the weight gradient as
    (digits.T @ grad).T: PyTorch's grad.T @ digits for a 1- to 3-column digits matrix is ~15x slower
    on CPU (measured: 2.26 s against 0.15 s for 262,144 x 512 rows)."""

    @staticmethod
    def forward(ctx, pre: Tensor, rows: Tensor, digits: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(rows, digits)
        ctx.num_rows = pre.shape[0]
        return pre.index_select(0, rows).addmm_(digits, weight.T)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, None, None, Tensor | None]:  # type: ignore[override]
        rows, digits = ctx.saved_tensors
        grad_pre = (
            grad.new_zeros(ctx.num_rows, grad.shape[1]).index_add_(0, rows, grad) if ctx.needs_input_grad[0] else None
        )
        grad_weight = (digits.T @ grad).T if ctx.needs_input_grad[3] else None
        return grad_pre, None, None, grad_weight


def gather_shift(
    pre: Float[Tensor, "U H"], rows: Int[Tensor, "N"], digits: Float[Tensor, "N D"], weight: Float[Tensor, "H D"]
) -> Float[Tensor, "N H"]:
    """``pre[rows] + digits @ weight.T``: each point's cell pre-activation plus its level modulation."""
    if torch.is_grad_enabled() and (pre.requires_grad or weight.requires_grad):
        return _GatherShift.apply(pre, rows, digits, weight)
    return torch.addmm(pre[rows], digits, weight.T)


DEFAULT_LEVELS = 4
"""Levels of an ASMR whose bases are chosen for its shape (the paper's ASMR (4))."""
FAST_START = {"output": 10.0, "modulation": 0.1}
"""Learning-rate multipliers for a fast start (``--fast-start``; the paper: 1). The sine layers learn through
a gain of omega0 (omega0 W), the linear output layer through none, so at one rate it learns omega0 times
slower and a fit shows a repeated pattern for hundreds of steps; the modulators learn through omega0^2.
docs/studies/asmr-start.md measures them: a far faster start, the same final PSNR on Cameraman, 1.2 dB less on
kodim03; the default ``--init mean`` starts as fast at one rate."""


class ASMRField(GridField):
    """ASMR on a signal grid: L levels, L-1 modulated sine layers and a linear output.

    Args:
        shape: the signal's grid (optional when ``bases`` are given).
        out_dim: number of output channels.
        hidden_dim: width of the sine layers.
        num_layers: the number of levels (one linear layer per level, the output included).
            Default: ``DEFAULT_LEVELS``, or the levels of ``bases``.
        bases: one list of bases per axis, e.g. ``[[4, 4, 4, 8], [4, 4, 6, 8]]`` for 512 x 768;
            shorter lists are padded with 1s; their products must cover ``shape``. Default:
            ``auto_bases(shape, num_layers)``.
        omega0: SIREN frequency of the sine layers and the modulators.
    """

    paper_lr = 1e-4
    mean_start_gains = {"image": 3.0, "megapixel": 10.0, "occupancy": 10.0, "audio": 0.3}
    """Output weights times the SIREN bound sqrt(6/h)/omega0 where that measured best (docs/studies/init-per-signal.md):
    x10 on occupancy (IoU 0.85 against 0.50 at x1) and the megapixel image (19.1 against 17.5 dB); x3 on images, the
    best final PSNR after the paper's 10K steps on all five images at 128 px (+0.4 dB over x1, +0.5 over x10) and
    between x1 and x10 on Cameraman at 512 px (+0.2 over x1, -0.35 under x10), at most 0.5 dB under x1 after 2K
    steps; x0.3 on audio, over six clips and three seeds +1.0 dB over x1 after 2K steps and +0.5 after 10K, level
    after 300 (x10: 8 dB under x1). On video the bias at the mean alone ends highest (2.4 dB over x10), so there the
    weights stay the paper's."""
    lr_subset_names = ("output", "modulation")

    def __init__(
        self,
        shape: Sequence[int] | None = None,
        out_dim: int = 1,
        hidden_dim: int = 256,
        num_layers: int | None = None,
        bases: Sequence[Sequence[int]] | None = None,
        omega0: float = 30.0,
    ) -> None:
        super().__init__()
        if bases is None:
            if shape is None:
                raise ValueError("ASMR needs the signal's shape or its bases")
            bases = decomposition.auto_bases(tuple(shape), DEFAULT_LEVELS if num_layers is None else num_layers)
        self.encoding = CoordinateDecomposition(
            bases if shape is None else decomposition.parse_bases(bases, len(shape))
        )
        self.bases = self.encoding.bases
        if shape is not None:
            decomposition.check_bases(self.bases, tuple(shape))
        if num_layers is not None and num_layers != self.encoding.num_levels:
            raise ValueError(
                f"num_layers {num_layers} disagrees with the bases {[list(b) for b in self.bases]}, which give "
                f"{self.encoding.num_levels} levels (ASMR has one linear layer per level)"
            )
        self.hidden_dim, self.omega0 = hidden_dim, omega0
        bases_lists = [list(axis_bases) for axis_bases in self.bases]
        self.store_arguments(
            decomposition.grid_shape(self.bases), out_dim, hidden_dim=hidden_dim, bases=bases_lists, omega0=omega0
        )
        num_axes, levels = len(self.bases), self.encoding.num_levels
        widths = [num_axes] + [hidden_dim] * (levels - 1)
        self.sine_layers = nn.ModuleList(
            SineLayer(d_in, d_out, omega0, is_first=index == 0)
            for index, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:]))
        )
        self.modulation = HierarchicalModulation(num_axes, hidden_dim, levels, omega0)
        self.output = nn.Linear(widths[-1], out_dim)
        siren_init_(self.output, omega0, is_first=levels == 1)
        self._register_level_digits()

    def lr_subsets(self) -> Dict[str, List[nn.Parameter]]:
        return {"output": list(self.output.parameters()), "modulation": list(self.modulation.parameters())}

    @property
    def shift_shape(self) -> Tuple[int, int]:
        """(L - 1, H): one instance shift phi_{i-1} per sine layer (Eq. 3)."""
        return len(self.sine_layers), self.hidden_dim

    def forward_per_point(
        self, coords: Float[Tensor, "*batch D"], shifts: Float[Tensor, "*batch Lm1 H"] | None = None
    ) -> Float[Tensor, "*batch C"]:
        """Eq. 1 point by point (every layer runs once per point); with ``shifts`` phi, Eq. 3."""
        return self._network_of_digits(self.encoding.levels(coords), shifts)

    def _network_of_digits(
        self, digits: Float[Tensor, "*batch L D"], shifts: Float[Tensor, "*batch Lm1 H"] | None = None
    ) -> Float[Tensor, "*batch C"]:
        """Eq. 1 (Eq. 3 with ``shifts``) of each point's scaled digits, one row per level."""
        z = digits[..., 0, :]
        for level, layer in enumerate(self.sine_layers, start=1):
            shift = self.modulation.level(level, digits[..., level, :])
            z = layer(z, shift if shifts is None else shift + shifts[..., level - 1, :])
        return self.output(z)

    def forward_coarse(self, coords: Float[Tensor, "*batch D"], level: int) -> Float[Tensor, "*batch C"]:
        """The network at any points as levels 0 .. ``level`` alone make it (``render_coarse`` point by point): the
        modulation of every finer level held at its mean over that level's digits, which, the modulators being
        linear, is its modulation of the mean digit."""
        levels = self.encoding.num_levels
        if not 0 <= level < levels:
            raise ValueError(f"level must be in 0..{levels - 1} (this ASMR has {levels} levels), got {level}")
        digits = self.encoding.levels(coords)
        bases = torch.tensor(self.bases, device=digits.device).T  # [L, D]
        mean_digit = decomposition.scale_digits((bases - 1) / 2, self.bases).to(digits)  # [L, D]
        finer = torch.arange(levels, device=digits.device) > level
        return self._network_of_digits(torch.where(finer[:, None], mean_digit, digits))

    def forward(self, coords: Float[Tensor, "*batch D"]) -> Float[Tensor, "*batch C"]:
        """Eq. 1 for any batch of points, each layer's matrix product run once per distinct cell.

        Sine layer i's pre-activation depends only on a point's level-(i-1) cell, so it is computed
        for the distinct cells of the batch and gathered per point (activation sharing for random
        batches: exact, and the gather's backward sums the points' gradients per cell).
        """
        points = rearrange(coords, "... d -> (...) d")
        cells = decomposition.cell_indices(self.encoding.grid_indices(points), self.bases)  # [N, L, D]
        digits = decomposition.scale_digits(cells % torch.tensor(self.bases, device=cells.device).T, self.bases)
        digits = digits.to(points.dtype)
        last = len(self.sine_layers)
        if last == 0:
            return self.output(digits[:, 0]).reshape(*coords.shape[:-1], self.out_dim)
        representative, owner = self._distinct_cells(cells[:, 0], 0)  # owner: point -> distinct cell
        z = digits[representative, 0]
        for level, layer in enumerate(self.sine_layers, start=1):
            pre_activation = layer.pre_activation(z)  # one row per distinct level-(level - 1) cell
            if level < last:
                representative, finer_owner = self._distinct_cells(cells[:, level], level)
                rows, level_digits = owner[representative], digits[representative, level]
            else:
                finer_owner, rows, level_digits = None, owner, digits[:, level]  # the last sine layer runs per point
            shift_weight = layer.omega0 * self.modulation.level_weight(level)  # scale the [H, D] weight, not [N, H]
            z, owner = torch.sin(gather_shift(pre_activation, rows, level_digits, shift_weight)), finer_owner
        return self.output(z).reshape(*coords.shape[:-1], self.out_dim)

    def capture_obstacle(self, full_grid: bool) -> str | None:
        if full_grid:
            return None
        return "ASMR's random-batch step shares each layer's work between the points of a cell through torch.unique, whose size depends on the batch"

    def _distinct_cells(self, cells: Int[Tensor, "N D"], level: int) -> tuple[Int[Tensor, "U"], Int[Tensor, "N"]]:
        """One point of each distinct level cell, and each point's distinct-cell index."""
        flat = decomposition.flat_index(cells, decomposition.cumulative_bases(self.bases)[level])
        distinct, owner = torch.unique(flat, return_inverse=True)
        first = torch.arange(flat.numel(), device=flat.device)
        representative = torch.full_like(distinct, flat.numel()).scatter_reduce(0, owner, first, "amin")
        return representative, owner

    def level_digits(self, level: int) -> Float[Tensor, "*digits D"]:
        """The scaled digits of every digit combination of ``level``: ``[B_{0,l}, ..., B_{D-1,l}, D]``."""
        return self.get_buffer(f"digits_{level}")

    def _register_level_digits(self) -> None:
        for level in range(self.encoding.num_levels):
            digit = grid_coords(decomposition.level_bases(self.bases, level)).long()
            one_level = tuple((axis_bases[level],) for axis_bases in self.bases)
            scaled = decomposition.scale_digits(digit.unsqueeze(-2), one_level).squeeze(-2)
            self.register_buffer(f"digits_{level}", scaled, persistent=False)

    def render(
        self, shape: Sequence[int] | None = None, shifts: Float[Tensor, "B Lm1 H"] | None = None
    ) -> Float[Tensor, "*shape C"] | Float[Tensor, "B *shape C"]:
        """The whole grid by activation sharing (Eq. 2), cropped to ``shape``.

        With ``shifts`` (one row phi = [phi_0 .. phi_{L-2}] per instance, Eq. 3), the B instance-
        modulated grids ``[B, *shape, C]``: phi is constant over the grid, so sharing still holds.

        Layer i runs once per level-(i-1) cell; the last sine layer and the output layer are
        fused with sin(a + m) = sin a cos m + cos a sin m, so no full-resolution hidden layer
        is ever formed: the output is a matrix product of sin a and cos a per coarse cell
        with tables built from the last modulation and the output weights.
        """
        shape = self.check_shape(shape)
        if shifts is not None and shifts.shape[1:] != self.shift_shape:
            raise ValueError(f"shifts must be [B, {', '.join(map(str, self.shift_shape))}], got {list(shifts.shape)}")
        instances = () if shifts is None else (shifts.shape[0],)
        if not self.sine_layers:
            values = self.output(self.level_digits(0))
            return crop(values.expand(*instances, *values.shape), (*instances, *shape))
        z = self.level_digits(0)
        for level in range(1, len(self.sine_layers)):
            z = torch.sin(upsample_add_tile(*self._sine_input(level, z, shifts)))
        return crop(self._fused_output(*self._sine_input(len(self.sine_layers), z, shifts)), (*instances, *shape))

    def render_coarse(self, level: int, shape: Sequence[int] | None = None) -> Float[Tensor, "*shape C"]:
        """The grid as levels 0 .. ``level`` alone make it: the modulation of every finer level held at its
        mean over that level's digits (``level`` L-1 is ``render``). By activation sharing."""
        levels = self.encoding.num_levels
        if not 0 <= level < levels:
            raise ValueError(f"level must be in 0..{levels - 1} (this ASMR has {levels} levels), got {level}")
        shape = self.check_shape(shape)
        if not self.sine_layers:
            return crop(self.output(self.level_digits(0)), shape)
        z = self.level_digits(0)
        for modulated in range(1, len(self.sine_layers)):
            z = torch.sin(upsample_add_tile(*self._sine_input(modulated, z, None, averaged=modulated > level)))
        last = len(self.sine_layers)
        return crop(self._fused_output(*self._sine_input(last, z, None, averaged=last > level)), shape)

    def unit_map(self, layer: int, unit: int) -> Float[Tensor, "*cells"]:
        """Sine layer ``layer``'s (1 .. L-1) activation of hidden ``unit`` on its own grid, one value per
        level-``layer`` cell (paper Fig. 8); ``layer`` 0 is the first layer's shared argument omega0 (W x_0 + b),
        one value per level-0 cell. Rendered by activation sharing, one unit at a time."""
        layers = len(self.sine_layers)
        if not 0 <= layer <= layers:
            raise ValueError(f"layer must be in 0..{layers} (this ASMR has {layers} sine layers), got {layer}")
        if not 0 <= unit < self.hidden_dim:
            raise ValueError(f"unit must be in 0..{self.hidden_dim - 1}, got {unit}")
        if layer == 0:
            return self.sine_layers[0].pre_activation(self.level_digits(0))[..., unit]
        z = self.level_digits(0)
        for level in range(1, layer):
            z = torch.sin(upsample_add_tile(*self._sine_input(level, z, None)))
        coarse, fine = self._sine_input(layer, z, None)
        return torch.sin(upsample_add_tile(coarse[..., unit : unit + 1], fine[..., unit : unit + 1]))[..., 0]

    def _sine_input(
        self, level: int, z: Float[Tensor, "*cells I"], shifts: Float[Tensor, "B Lm1 H"] | None, averaged: bool = False
    ) -> tuple[Float[Tensor, "*cells H"], Float[Tensor, "*digits H"]]:
        """Sine layer ``level``'s argument in two parts: per level-(level-1) cell (with phi) and per digit
        (``averaged``: every digit's modulation replaced by their mean)."""
        layer = self.sine_layers[level - 1]
        coarse = layer.pre_activation(z)
        fine = layer.omega0 * self.modulation.level(level, self.level_digits(level))
        if averaged:
            digit_axes = tuple(range(fine.dim() - 1))
            fine = fine.mean(dim=digit_axes, keepdim=True).expand_as(fine)
        if shifts is None:
            return coarse, fine
        cell_axes = " ".join("1" * len(self.bases))
        phi = rearrange(shifts[:, level - 1], f"b h -> b {cell_axes} h")
        return coarse + layer.omega0 * phi, rearrange(fine, "... h -> 1 ... h")  # the instance axis: B cells, 1 digit

    def _fused_output(
        self, coarse: Float[Tensor, "*cells H"], fine: Float[Tensor, "*digits H"]
    ) -> Float[Tensor, "*grid C"]:
        """W sin(U(coarse) + R(fine)) + b without forming the sine at full resolution.

        sin(a + m) = sin a cos m + cos a sin m, so the output of every (cell, digit) pair is
        sin a @ T_cos + cos a @ T_sin with tables T[h, (digit, o)] = {cos, sin}(m[digit, h]) W[o, h].
        """
        num_axes = coarse.dim() - 1
        cells, digits = _axis_names("c", num_axes), _axis_names("b", num_axes)

        def flat(activation: Tensor) -> Tensor:
            return rearrange(activation, f"{cells} h -> ({cells}) h")

        def table(modulation: Tensor) -> Tensor:
            products = einsum(modulation, self.output.weight, f"{digits} h, o h -> h {digits} o")
            return rearrange(products, f"h {digits} o -> h ({digits} o)")

        sin_coarse, cos_coarse = sin_cos(coarse)
        sin_fine, cos_fine = sin_cos(fine)
        out = torch.addmm(flat(sin_coarse) @ table(cos_fine), flat(cos_coarse), table(sin_fine))
        out.view(-1, self.out_dim).add_(self.output.bias)  # in place: no third full-size buffer
        sizes = dict(zip(cells.split(), coarse.shape[:-1])) | dict(zip(digits.split(), fine.shape[:-1]))
        return rearrange(out, f"({cells}) ({digits} o) -> {_merged_axis_names(num_axes)} o", **sizes)

    def macs(self, shape: Sequence[int] | None = None) -> MacCount:
        return asmr_macs(self.bases, self.hidden_dim, self.out_dim, self.check_shape(shape))
