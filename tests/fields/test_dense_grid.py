"""The dense-grid baseline: interpolation, sizing by a parameter budget, counts, its start, and its commands."""

import math

import pytest
import torch

from asmr_plugin.fields import DenseGridField
from asmr_plugin.fields.base import grid_coords
from asmr_plugin.fields.dense_grid import resolution_for
from asmr_plugin.fields.initialization import initialize_output
from asmr_plugin.fields.registry import build_field, matched_params


def random_grid(shape, out_dim=2, **size):
    torch.manual_seed(0)
    field = DenseGridField(shape, out_dim, **size)
    torch.nn.init.uniform_(field.values, -1, 1)
    return field


@pytest.mark.parametrize(
    "shape, size",
    [((50,), {"params": 40}), ((21, 34), {"params": 300}), ((7, 9, 11), {"resolution": (3, 4, 5)}), ((5, 1), {})],
)
def test_render_equals_the_pointwise_interpolation(shape, size):
    field = random_grid(shape, **size)
    with torch.no_grad():
        assert torch.allclose(field.render(), field(grid_coords(shape)), atol=2e-6)
        part = tuple(max(1, side - 2) for side in shape)
        assert torch.equal(field.render(part), field.render()[tuple(slice(0, side) for side in part)])


def test_values_are_read_by_bilinear_interpolation_between_the_corners():
    field = DenseGridField((5, 9), 1, resolution=(2, 3))
    corners = torch.tensor([[0.0, 1.0, 4.0], [2.0, 3.0, 8.0]])
    field.values.data.copy_(corners[None, None])
    points = torch.tensor([[0.0, 0.0], [4.0, 8.0], [0.0, 4.0], [2.0, 2.0], [4.0, 6.0], [-3.0, 20.0]])
    # value at (row, col): rows 0..4 span the 2 corner rows, columns 0..8 the 3 corner columns
    expected = torch.tensor(
        [0.0, 8.0, 1.0, 0.5 * (0.5 * 0 + 0.5 * 1) + 0.5 * (0.5 * 2 + 0.5 * 3), 0.5 * 3 + 0.5 * 8, 4.0]
    )
    assert torch.allclose(field(points)[:, 0], expected, atol=1e-6)


def test_one_value_per_sample_stores_the_signal_exactly():
    signal = torch.rand(6, 7, 3)
    field = DenseGridField((6, 7), 3)
    assert field.resolution == (6, 7) and field.num_params() == signal.numel()
    field.values.data.copy_(signal.permute(2, 0, 1)[None])
    assert torch.allclose(field.render(), signal, atol=1e-6)


@pytest.mark.parametrize("shape, channels", [((32_000,), 1), ((512, 512), 1), ((512, 768), 3), ((24, 128, 160), 3)])
@pytest.mark.parametrize("ratio", [1 / 64, 1 / 8, 0.5])
def test_a_budget_fills_the_signals_aspect_within_it(shape, channels, ratio):
    budget = int(ratio * channels * math.prod(shape))
    resolution = resolution_for(shape, channels, budget)
    params = channels * math.prod(resolution)
    assert params <= budget and params > 0.9 * budget
    aspect = [res / side for res, side in zip(resolution, shape)]
    assert max(aspect) / min(aspect) < 1.5


def test_counts():
    field = DenseGridField((64, 48, 10), 3, params=3000)
    assert field.num_params() == 3 * math.prod(field.resolution) <= 3000
    assert field.macs().weights_only == field.macs().with_bias == 8 * 3
    assert DenseGridField((100,), 1, params=10).macs().with_bias == 2


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="at least 8 parameters"):
        DenseGridField((10, 10), 2, params=7)
    with pytest.raises(ValueError, match="not both"):
        DenseGridField((10, 10), 1, params=50, resolution=(5, 5))
    with pytest.raises(ValueError, match="needs at least .* GiB"):
        DenseGridField((10, 10), 3, resolution=(10**6, 10**6))
    with pytest.raises(ValueError, match="1-D, 2-D or 3-D"):
        DenseGridField((2, 2, 2, 2), 1)
    with pytest.raises(ValueError, match="--params must be positive"):
        build_field("grid", (10, 10), 1, params=0)
    with pytest.raises(ValueError, match="--hidden-dim does not apply to grid"):
        build_field("grid", (10, 10), 1, hidden_dim=8)


def test_the_default_budget_is_asmrs_on_the_same_signal():
    grid = build_field("grid", (128, 128), 3, reference={"hidden_dim": 32})
    asmr = build_field("asmr", (128, 128), 3, hidden_dim=32)
    assert grid.num_params() <= asmr.num_params() == matched_params((128, 128), 3, {"hidden_dim": 32})
    assert grid.num_params() > 0.95 * asmr.num_params()
    assert build_field("grid", (128, 128), 3, params=3 * 1000).num_params() <= 3000


def test_init_mean_starts_every_value_at_the_signals_mean():
    field = DenseGridField((8, 8), 3, params=48)
    mean = torch.tensor([0.2, 0.5, 0.9])
    assert initialize_output(field, mean, "mean") == "mean"
    assert torch.allclose(field.render(), mean.expand(8, 8, 3))
    zero = DenseGridField((8, 8), 3, params=48)
    assert initialize_output(zero, mean, "paper") == "paper" and not zero.values.any()
