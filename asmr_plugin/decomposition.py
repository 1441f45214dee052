"""Multi-resolution coordinate decomposition (paper Sec. 3.1): pure functions on bases.

An axis of size N with bases [B_0, ..., B_{L-1}] (product N) is split coarse-to-fine: with the
cumulative base C_l = B_0 * ... * B_l and the cell size G_l = N / C_l, the level-l digit of an
integer coordinate x is floor(x / G_l) mod B_l. Level 0 is the most significant digit.

Grids whose size does not factor well (a 509 x 383 photo) are handled by *padding*:
:func:`auto_bases` picks, per axis, the smallest size >= N that factors into small bases. The
network then lives on the padded grid; the signal occupies its first N entries per axis,
training only ever samples those, and renders are cropped back to N (see ``GridField.render``).
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from jaxtyping import Float, Int
from torch import Tensor

Bases = Tuple[Tuple[int, ...], ...]
"""One tuple of bases per axis, all of the same length (the number of levels)."""


def parse_bases(bases: Sequence[Sequence[int]] | Sequence[int], num_axes: int | None = None) -> Bases:
    """Normalize bases to one tuple per axis, padding shorter lists with trailing 1s.

    A flat list (``[4, 4, 4, 8]``) is shared by every axis and needs ``num_axes``.
    """
    if len(bases) == 0:
        raise ValueError("bases must not be empty: give one list of bases per axis, e.g. [[4, 4, 4, 8]]")
    if all(isinstance(b, int) for b in bases):
        if num_axes is None:
            raise ValueError(
                f"bases {list(bases)} is a flat list; give one list per axis (e.g. [[4, 4, 4, 8], [4, 4, 6, 8]]) "
                "or say how many axes share it"
            )
        per_axis = [list(bases)] * num_axes  # type: ignore[list-item]
    else:
        per_axis = [list(axis_bases) for axis_bases in bases]  # type: ignore[union-attr]
    if num_axes is not None and len(per_axis) != num_axes:
        raise ValueError(f"bases give {len(per_axis)} axes but the signal has {num_axes}: {per_axis}")
    for axis, axis_bases in enumerate(per_axis):
        if len(axis_bases) == 0:
            raise ValueError(f"bases of axis {axis} are empty")
        for base in axis_bases:
            if not isinstance(base, int) or isinstance(base, bool) or base < 1:
                raise ValueError(f"bases of axis {axis} must be positive integers, got {axis_bases}")
    num_levels = max(len(axis_bases) for axis_bases in per_axis)
    return tuple(tuple(axis_bases) + (1,) * (num_levels - len(axis_bases)) for axis_bases in per_axis)


def grid_shape(bases: Bases) -> Tuple[int, ...]:
    """The grid size per axis: the product of that axis's bases."""
    return tuple(math.prod(axis_bases) for axis_bases in bases)


def num_levels(bases: Bases) -> int:
    return len(bases[0])


def check_bases(bases: Bases, shape: Sequence[int]) -> None:
    """Raise a ValueError unless every axis's bases multiply to at least its size.

    Equality is the paper's setting; a larger product is the padding policy of this module.
    """
    if len(bases) != len(shape):
        raise ValueError(f"bases give {len(bases)} axes but the signal of shape {tuple(shape)} has {len(shape)}")
    for axis, (axis_bases, size) in enumerate(zip(bases, shape)):
        product = math.prod(axis_bases)
        if product < size:
            raise ValueError(
                f"axis {axis} has size {size} but its bases {list(axis_bases)} multiply to {product}; "
                f"the product must be at least the axis size (equal, or larger to pad the grid)"
            )


def cumulative_bases(bases: Bases) -> Tuple[Tuple[int, ...], ...]:
    """C[l][a] = B_{a,0} * ... * B_{a,l}: the number of cells per axis at level l."""
    return tuple(
        tuple(math.prod(axis_bases[: level + 1]) for axis_bases in bases) for level in range(num_levels(bases))
    )


def level_bases(bases: Bases, level: int) -> Tuple[int, ...]:
    """B_{a,level} for every axis a."""
    return tuple(axis_bases[level] for axis_bases in bases)


def cell_indices(coords: Int[Tensor, "*batch D"], bases: Bases) -> Int[Tensor, "*batch L D"]:
    """Per-level cell index floor(x / G_l) of integer coordinates, in [0, C_l) per axis."""
    sizes = torch.tensor(grid_shape(bases), device=coords.device)
    cells = torch.tensor(cumulative_bases(bases), device=coords.device)  # [L, D]
    cell_size = sizes // cells
    return torch.div(coords.unsqueeze(-2), cell_size, rounding_mode="floor")


def digits(coords: Int[Tensor, "*batch D"], bases: Bases) -> Int[Tensor, "*batch L D"]:
    """Per-level digits x_l = floor(x / G_l) mod B_l of integer coordinates."""
    level_base = torch.tensor(bases, device=coords.device).T  # [L, D]
    return cell_indices(coords, bases) % level_base


def scale_digits(digit: Int[Tensor, "*batch L D"], bases: Bases) -> Float[Tensor, "*batch L D"]:
    """Digits scaled to [0, 1] by x_l / (B_l - 1); a base of 1 gives 0."""
    level_base = torch.tensor(bases, device=digit.device).T
    return digit / (level_base - 1).clamp(min=1)


def to_grid_indices(coords: Float[Tensor, "*batch D"], bases: Bases) -> Int[Tensor, "*batch D"]:
    """Floor continuous pixel/sample coordinates to cells, clamped to the grid (edge cells repeat)."""
    upper = torch.tensor(grid_shape(bases), device=coords.device) - 1
    return torch.minimum(torch.floor(coords).long().clamp(min=0), upper)


def flat_index(index: Int[Tensor, "*batch D"], sizes: Sequence[int]) -> Int[Tensor, "*batch"]:
    """Row-major index of per-axis indices into a grid of ``sizes`` (the first axis most significant)."""
    strides = [math.prod(sizes[axis + 1 :]) for axis in range(len(sizes))]
    return (index * torch.tensor(strides, device=index.device)).sum(-1)


def _balanced_factors(size: int, count: int) -> Tuple[int, ...]:
    """Split size into count factors as evenly as its primes allow, sorted ascending."""
    primes = []
    rest = size
    prime = 2
    while prime * prime <= rest:
        while rest % prime == 0:
            primes.append(prime)
            rest //= prime
        prime += 1
    if rest > 1:
        primes.append(rest)
    factors = [1] * count
    for prime in sorted(primes, reverse=True):
        smallest = factors.index(min(factors))
        factors[smallest] *= prime
    return tuple(sorted(factors))


def auto_bases(shape: Sequence[int], levels: int = 4) -> Bases:
    """Choose bases for a grid of any shape: the largest base last (Appendix K), the smallest second to last.

    Each axis of size N gets the smallest padded size M >= N whose prime factors split into
    ``levels`` bases no larger than twice ceil(N ** (1 / levels)); for sizes that factor well
    M == N (512 -> [4, 4, 4, 8], 768 -> [4, 6, 4, 8], 128 -> [4, 4, 2, 4]). The order is
    ``_measured_order``'s.
    """
    if levels < 1:
        raise ValueError(f"the number of levels must be at least 1, got {levels}")
    per_axis = []
    for axis, size in enumerate(shape):
        if size < 1:
            raise ValueError(f"axis {axis} has size {size}; every axis needs at least one sample")
        limit = max(2, 2 * math.ceil(size ** (1.0 / levels) - 1e-9))
        padded = size
        while max(factors := _balanced_factors(padded, levels)) > limit:
            padded += 1
        per_axis.append(_measured_order(factors))
    return tuple(per_axis)


def _measured_order(ascending: Tuple[int, ...]) -> Tuple[int, ...]:
    """Balanced bases in the order that fitted best (docs/studies/bases.md): the largest last, which shares the
    most activations (the fewest MACs), and the smallest second to last; e.g. [4, 4, 2, 4] over [2, 4, 4, 4] for
    128 px ended 1.0-1.5 dB higher on Cameraman and four Kodak images."""
    if len(ascending) < 3:
        return ascending
    return (*ascending[1:-1], ascending[0], ascending[-1])
