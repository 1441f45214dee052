import math

import pytest
import torch

from asmr_plugin import decomposition


def reference_digits(x: int, axis_bases) -> list:
    """The paper's formula, one integer at a time: x_l = floor(x / G_l) mod B_l, G_l = N / C_l."""
    size = math.prod(axis_bases)
    out = []
    for level in range(len(axis_bases)):
        cumulative = math.prod(axis_bases[: level + 1])
        out.append((x // (size // cumulative)) % axis_bases[level])
    return out


@pytest.mark.parametrize(
    "bases", [[[4, 4, 4, 8]], [[2, 3, 5]], [[3, 1, 2], [1, 4, 1]], [[1, 1]], [[8, 8, 8], [4, 4, 6, 8]]]
)
def test_digits_match_formula(bases):
    parsed = decomposition.parse_bases(bases)
    sizes = decomposition.grid_shape(parsed)
    coords = torch.stack([torch.randint(0, size, (200,)) for size in sizes], dim=-1)
    digits = decomposition.digits(coords, parsed)
    for point, point_digits in zip(coords.tolist(), digits.tolist()):
        for axis, x in enumerate(point):
            assert [level[axis] for level in point_digits] == reference_digits(x, parsed[axis])


def test_digits_enumerate_every_cell_once():
    bases = decomposition.parse_bases([[2, 3, 4]])
    digits = decomposition.digits(torch.arange(24)[:, None], bases)[..., 0]
    assert len({tuple(row) for row in digits.tolist()}) == 24
    assert digits[:, 0].tolist() == [0] * 12 + [1] * 12  # level 0 is the most significant digit


def test_cell_indices_are_coarse_prefixes():
    bases = decomposition.parse_bases([[4, 4, 8]])
    cells = decomposition.cell_indices(torch.arange(128)[:, None], bases)[..., 0]
    assert cells[:, 0].max() == 3 and cells[:, 1].max() == 15 and torch.equal(cells[:, 2], torch.arange(128))


def test_scaled_digits_in_unit_interval_and_base_one_is_zero():
    bases = decomposition.parse_bases([[1, 3, 4]])
    scaled = decomposition.scale_digits(decomposition.digits(torch.arange(12)[:, None], bases), bases)
    assert scaled.min() == 0 and scaled.max() == 1
    assert torch.all(scaled[:, 0] == 0)
    assert sorted(set(scaled[:, 1, 0].tolist())) == [0.0, 0.5, 1.0]


def test_parse_bases_pads_with_ones_and_shares_flat_lists():
    assert decomposition.parse_bases([[5, 3, 1, 2], [4, 2]]) == ((5, 3, 1, 2), (4, 2, 1, 1))
    assert decomposition.parse_bases([4, 8], num_axes=2) == ((4, 8), (4, 8))


@pytest.mark.parametrize(
    "bases, num_axes, message",
    [
        ([], None, "empty"),
        ([4, 8], None, "flat list"),
        ([[4, 0]], None, "positive integers"),
        ([[4, 4]], 2, "1 axes but the signal has 2"),
        ([[]], None, "axis 0 are empty"),
    ],
)
def test_parse_bases_errors(bases, num_axes, message):
    with pytest.raises(ValueError, match=message):
        decomposition.parse_bases(bases, num_axes)


def test_check_bases_names_axis_size_and_product():
    bases = decomposition.parse_bases([[4, 4, 4, 8], [4, 4, 4, 8]])
    decomposition.check_bases(bases, (512, 512))
    decomposition.check_bases(bases, (509, 383))  # padding: a larger product is allowed
    with pytest.raises(ValueError, match=r"axis 1 has size 768 but its bases \[4, 4, 4, 8\] multiply to 512"):
        decomposition.check_bases(bases, (512, 768))


@pytest.mark.parametrize(
    "shape, levels, expected",
    [
        ((512, 512), 4, ((4, 4, 4, 8), (4, 4, 4, 8))),
        ((512, 768), 4, ((4, 4, 4, 8), (4, 6, 4, 8))),
        ((128, 192), 4, ((4, 4, 2, 4), (4, 4, 3, 4))),
        ((512,), 3, ((8, 8, 8),)),
        ((32000,), 4, ((10, 16, 10, 20),)),
        ((1,), 4, ((1, 1, 1, 1),)),
    ],
)
def test_auto_bases_known_sizes(shape, levels, expected):
    assert decomposition.auto_bases(shape, levels) == expected


@pytest.mark.parametrize("size", [509, 383, 997, 1000, 1080, 1920, 7, 2, 3])
def test_auto_bases_pads_sizes_that_factor_badly(size):
    (bases,) = decomposition.auto_bases((size,), 4)
    padded = math.prod(bases)
    assert size <= padded <= size * 1.25
    assert bases[-1] == max(bases) and bases[-2] == min(bases)  # the largest last, the smallest second to last
    assert max(bases) <= 2 * math.ceil(size**0.25)


def test_auto_bases_errors():
    with pytest.raises(ValueError, match="at least 1"):
        decomposition.auto_bases((16,), 0)
    with pytest.raises(ValueError, match="axis 1 has size 0"):
        decomposition.auto_bases((16, 0))
