"""The baseline fields: shapes, counts at the paper's configurations, exact fast paths, tiles, fitting."""

import pytest
import torch

from asmr_plugin.field_components.tile_linear import TileGroups, TileLinear
from asmr_plugin.fields import FIELDS, FFNField, KiloNeRFField, LoEField, MFNField, NGPField, WIREField
from asmr_plugin.fields.base import grid_coords
from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint

BASELINES = ["ffn", "mfn", "wire", "kilonerf", "loe", "ngp", "grid"]
SMALL = {
    "ffn": dict(hidden_dim=16, num_frequencies=8),
    "mfn": dict(hidden_dim=16, input_scale=16.0),
    "wire": dict(hidden_dim=12, omega0=5.0, scale0=5.0),
    "kilonerf": dict(hidden_dim=8, grid=4, num_frequencies=4),
    "loe": dict(hidden_dim=8, num_layers=3, num_frequencies=4),
    "ngp": dict(hidden_dim=16, num_levels=4, log2_hashmap_size=8, min_res=2),
    "grid": dict(params=60),
}


def small_field(name, shape, out_dim=3):
    torch.manual_seed(0)
    field = FIELDS[name](shape, out_dim, **SMALL[name])
    if name == "grid":  # its values start at 0: make them differ so that comparisons test something
        torch.nn.init.uniform_(field.values, -0.5, 0.5)
    return field


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("shape", [(40,), (16, 24), (4, 8, 12)])
def test_shapes_and_render_equals_forward(name, shape):
    field = small_field(name, shape)
    coords = grid_coords(shape)
    with torch.no_grad():
        rendered, pointwise = field.render(), field(coords)
    assert rendered.shape == (*shape, 3) and pointwise.shape == (*shape, 3)
    assert torch.isfinite(rendered).all()
    assert torch.allclose(rendered, pointwise, atol=1e-5)
    assert field(torch.rand(7, 5, len(shape)) * torch.tensor(shape)).shape == (7, 5, 3)


@pytest.mark.parametrize(
    "build, params, macs_weights, macs_with_bias",
    [
        (lambda: FFNField((512, 768), 3), 132_355, 131_840, None),  # Table 3
        (lambda: MFNField((512, 768), 3), 134_659, 133_376, None),
        (lambda: WIREField((512, 768), 3), 136_743, 135_892, None),
        (lambda: KiloNeRFField((512, 512)), 250_112, None, 977),  # Table 2
        (lambda: LoEField((512, 512), bases=[[8, 8, 8]] * 2), 126_049, 1992, 2065),
        (lambda: KiloNeRFField((32_000,), 1, 48, 5, 4, 12), 33_412, 8160, None),  # Table 4
        (lambda: NGPField((32_000,), 1, 64, 2, 7, 2, 16, 125, 8000), None, 960, None),
    ],
)
def test_counts_at_the_papers_configurations(build, params, macs_weights, macs_with_bias):
    field = build()
    macs = field.macs()
    assert params is None or field.num_params() == params
    assert macs_weights is None or macs.weights_only == macs_weights
    assert macs_with_bias is None or macs.with_bias == macs_with_bias


def test_default_learning_rates_are_the_papers():
    assert {name: FIELDS[name].paper_lr for name in FIELDS} == {
        "asmr": 1e-4,
        "siren": 1e-4,
        "ffn": 1e-3,
        "mfn": 1e-2,
        "wire": 1e-3,
        "kilonerf": 5e-4,
        "loe": 1e-2,
        "ngp": 1e-2,
        "grid": 1e-2,  # not the paper's: the rate measured best (docs/studies/grid-baseline.md)
    }


@pytest.mark.parametrize("name", BASELINES)
def test_a_short_fit_lowers_the_loss(name):
    shape = (16, 16)
    field = small_field(name, shape, out_dim=1)
    target = torch.sin(grid_coords(shape).sum(-1, keepdim=True) / 3) * 0.4 + 0.5
    optimizer = torch.optim.Adam(field.parameters(), lr=max(field.paper_lr, 5e-3))  # 40 steps only
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.mse_loss(field.render(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("name", BASELINES)
def test_checkpoint_round_trip(tmp_path, name):
    field = small_field(name, (8, 12))
    save_checkpoint(tmp_path / "field.pt", field, (8, 12), 0)
    loaded = load_checkpoint(tmp_path / "field.pt").field
    with torch.no_grad():
        assert torch.equal(loaded.render(), field.render())


@pytest.mark.parametrize(
    "tiles",
    [
        torch.randint(0, 6, (300,)),  # uniform
        torch.full((300,), 4),  # every point in one tile
        torch.tensor([5, 0, 5, 5, 0]),  # empty tiles between
    ],
)
def test_tile_groups_evaluate_each_point_with_its_tile(tiles):
    torch.manual_seed(0)
    layer = TileLinear(6, 5, 3)
    x = torch.randn(tiles.numel(), 5)
    groups = TileGroups.of(tiles, 6, block_size=8)
    grouped = groups.ungroup(layer(groups.group(x), groups.block_tiles))
    naive = torch.einsum("ni,nio->no", x, layer.weight[tiles]) + layer.bias[tiles]
    assert torch.allclose(grouped, naive, atol=1e-6)
    assert torch.equal(groups.ungroup(groups.group(x)), x)


def test_kilonerf_tiles_at_borders():
    field = KiloNeRFField((64, 48), grid=(4, 3))  # tiles of 16 x 16 pixels
    coords = torch.tensor([[15.999, 0.0], [16.0, 0.0], [0.0, 15.5], [0.0, 16.0], [63.0, 47.0], [70.0, -3.0]])
    assert field.tile_of(coords).tolist() == [0, 3, 0, 1, 11, 9]


def test_kilonerf_point_uses_only_its_tiles_mlp():
    torch.manual_seed(0)
    field = KiloNeRFField((32, 32), hidden_dim=4, grid=2)
    point = torch.tensor([[16.0, 3.0]])  # tile (1, 0) = 2
    before = field(point)
    with torch.no_grad():
        for tile in (0, 1, 3):
            for layer in field.layers:
                layer.weight[tile].normal_()
    assert torch.equal(field(point), before)
    with torch.no_grad():
        field.layers[0].weight[2].normal_()
    assert not torch.equal(field(point), before)


def test_kilonerf_render_gradients_equal_forward():
    shape = (16, 24)
    field = small_field("kilonerf", shape)
    field.render().square().sum().backward()
    fast = [p.grad.clone() for p in field.parameters()]
    field.zero_grad()
    field(grid_coords(shape)).square().sum().backward()
    assert all(torch.allclose(a, p.grad, atol=1e-5) for a, p in zip(fast, field.parameters()))


def test_loe_tiles_at_borders_follow_the_digits():
    field = LoEField((8, 8), bases=[[4, 2], [4, 2]])  # layer 0: tile floor(x / 2), layer 1: x mod 2
    coords = torch.tensor([[1.999, 0.0], [2.0, 0.0], [3.0, 5.0], [7.0, 7.0]])
    assert field.tiles_of(coords).tolist() == [
        [0, 2],
        [4, 0],
        [6, 3],
        [15, 3],
    ]  # flat index: H digit * 4 (or 2) + W digit


def test_loe_render_gradients_equal_forward():
    shape = (12, 20)
    field = small_field("loe", shape)
    field.render().square().sum().backward()
    fast = [p.grad.clone() for p in field.parameters()]
    field.zero_grad()
    field(grid_coords(shape)).square().sum().backward()
    assert all(torch.allclose(a, p.grad, atol=1e-5) for a, p in zip(fast, field.parameters()))


def test_ngp_runs_on_cpu_without_tinycudann_and_without_warnings(capsys):
    field = NGPField((16, 16), **SMALL["ngp"])
    assert field.encoding.tcnn_encoding is None and isinstance(field.encoding.hash_table, torch.nn.Parameter)
    field.render().sum().backward()
    assert field.encoding.hash_table.grad.abs().sum() > 0
    captured = capsys.readouterr()
    assert "tcnn" not in (captured.out + captured.err).lower()


def test_bad_tile_grids_are_clear_errors():
    with pytest.raises(ValueError, match="KiloNeRF grid"):
        KiloNeRFField((8, 8), grid=16)
    with pytest.raises(ValueError, match="LoE"):
        LoEField((8, 8), num_layers=1)


def test_command_line_model_names_are_the_registered_fields():
    from typing import get_args

    from asmr_plugin.fields.registry import ModelName

    assert get_args(ModelName) == tuple(FIELDS)


def test_ngp_instance_shifts_enter_each_hidden_layer():
    torch.manual_seed(0)
    field = NGPField((8, 6), 2, hidden_dim=16, num_layers=3, num_levels=4, min_res=2, implementation="torch")
    assert field.shift_shape == (2, 16)
    shifts = torch.randn(3, 2, 16)
    rendered = field.render(shifts=shifts)
    assert rendered.shape == (3, 8, 6, 2)
    with torch.no_grad():
        assert torch.equal(field.render(shifts=torch.zeros(1, 2, 16))[0], field.render())
        points = torch.nn.functional.pad(grid_coords((8, 6)) / torch.tensor([7.0, 5.0]), (0, 1))
        for instance, phi in enumerate(shifts):
            z = field.encoding(points)
            for layer, shift in zip(field.mlp.layers[:-1], phi):
                z = torch.relu(layer(z) + shift)
            assert (field.mlp.layers[-1](z) - rendered[instance]).abs().max() < 1e-6
    with pytest.raises(ValueError, match="shifts must be"):
        field.render(shifts=torch.zeros(1, 3, 16))
