import pytest
import torch
from einops import rearrange

from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.base import grid_coords

EXACTNESS_CASES = {
    "1d-uniform": [[4, 4, 4]],
    "1d-audio-like": [[10, 10, 16, 20]],
    "2d-uniform": [[8, 8, 8], [8, 8, 8]],
    "2d-kodak": [[4, 4, 4, 8], [4, 4, 6, 8]],
    "2d-unequal-axes": [[2, 3, 5], [4, 2, 2]],
    "2d-bases-of-one": [[1, 4, 1, 3], [2, 1, 1, 5]],
    "2d-single-level": [[6], [5]],
    "2d-two-levels": [[3, 4], [5, 2]],
    "3d-uniform": [[2, 2, 2, 2], [2, 2, 2, 2], [2, 2, 2, 2]],
    "3d-video-like": [[5, 3, 1, 2], [4, 2, 2, 2], [4, 2, 2, 4]],
    "3d-padded-lists": [[3, 2], [2, 2, 2], [4]],
    "all-ones": [[1, 1], [1, 1]],
}
EXACTNESS_PARAMS = [
    pytest.param(bases, id=name, marks=[pytest.mark.slow] if name == "2d-kodak" else [])  # the Kodak grid takes seconds
    for name, bases in EXACTNESS_CASES.items()
]


def order_one_field(bases, hidden_dim=64, out_dim=3) -> ASMRField:
    """A freshly initialized field whose outputs are of order 1, so 1e-4 is a relative bound."""
    torch.manual_seed(0)
    field = ASMRField(bases=bases, hidden_dim=hidden_dim, out_dim=out_dim)
    with torch.no_grad():
        scale = field.forward_per_point(grid_coords(field.grid_shape)).abs().max()
        field.output.weight /= scale
        field.output.bias /= scale
    return field


@pytest.mark.parametrize("bases", EXACTNESS_PARAMS)
def test_render_equals_per_point_forward(bases):
    field = order_one_field(bases)
    with torch.no_grad():
        shared = field.render()
        per_point = field.forward_per_point(grid_coords(field.grid_shape))
    assert shared.shape == per_point.shape == (*field.grid_shape, 3)
    assert per_point.abs().max() > 0.5
    assert (shared - per_point).abs().max() <= 1e-4


@pytest.mark.slow
def test_render_equals_forward_at_full_width_on_kodak_grid():
    field = order_one_field([[4, 4, 4, 8], [4, 4, 6, 8]], hidden_dim=256)
    with torch.no_grad():
        assert (field.render() - field.forward_per_point(grid_coords((512, 768)))).abs().max() <= 1e-4


def test_render_gradients_equal_per_point_gradients():
    bases = [[2, 3, 4], [4, 2, 2]]
    field = order_one_field(bases, hidden_dim=32, out_dim=2)
    target = torch.rand(*field.grid_shape, 2)
    ((field.render() - target) ** 2).mean().backward()
    shared = {name: p.grad.clone() for name, p in field.named_parameters()}
    field.zero_grad()
    ((field.forward_per_point(grid_coords(field.grid_shape)) - target) ** 2).mean().backward()
    for name, parameter in field.named_parameters():
        assert (shared[name] - parameter.grad).abs().max() <= 1e-4 * parameter.grad.abs().max(), name


def test_render_in_double_precision_is_exact_to_1e_12():
    field = order_one_field([[3, 2, 4], [2, 2, 3], [1, 2, 2]]).double()
    with torch.no_grad():
        assert (field.render() - field.forward_per_point(grid_coords(field.grid_shape).double())).abs().max() <= 1e-12


def test_render_crops_a_padded_grid():
    field = order_one_field([[4, 4, 8], [2, 3, 4]])  # grid 128 x 24
    with torch.no_grad():
        cropped = field.render((125, 23))
        assert cropped.shape == (125, 23, 3)
        assert (cropped - field.forward_per_point(grid_coords((125, 23)))).abs().max() <= 1e-4
    with pytest.raises(ValueError, match="grid is"):
        field.render((129, 24))


def test_forward_floors_continuous_coordinates():
    field = order_one_field([[4, 4], [4, 4]])
    coords = torch.tensor([[3.0, 7.0], [3.99, 7.5]])
    with torch.no_grad():
        out = field(coords)
    torch.testing.assert_close(out[0], out[1])


@pytest.mark.parametrize(
    "bases, hidden_dim, out_dim, params",
    [
        ([[4, 4, 4, 8]] * 2, 256, 1, 134_145),
        ([[8, 8, 8]] * 2, 256, 1, 67_841),
        ([[4, 4, 4, 8], [4, 4, 6, 8]], 256, 3, 134_659),
        ([[10, 10, 16, 20]], 128, 1, 33_793),
    ],
)
def test_parameter_counts(bases, hidden_dim, out_dim, params):
    assert ASMRField(bases=bases, hidden_dim=hidden_dim, out_dim=out_dim).num_params() == params


def test_modulators_are_bias_free_and_scaled():
    field = ASMRField(bases=[[4, 4, 4, 8]] * 2, hidden_dim=256, out_dim=1)
    assert field.modulation.num_modulators == 3
    assert field.modulation.weight.abs().max() <= 2**-0.5
    digits = torch.tensor([1.0, 0.0])
    torch.testing.assert_close(field.modulation.level(2, digits), 30.0 * field.modulation.weight[1] @ digits)
    assert torch.all(field.modulation.level(1, torch.zeros(2)) == 0)


@pytest.mark.parametrize("cells, digits", [((3,), (4,)), ((2, 3), (4, 1)), ((2, 1, 3), (1, 2, 2))])
def test_upsample_add_tile_matches_eq2_and_its_gradient(cells, digits):
    from einops import repeat

    from asmr_plugin.fields.asmr import upsample_add_tile

    coarse = torch.randn(*cells, 5, dtype=torch.double, requires_grad=True)
    fine = torch.randn(*digits, 5, dtype=torch.double, requires_grad=True)
    axes = len(cells)
    c, b = " ".join(f"c{a}" for a in range(axes)), " ".join(f"b{a}" for a in range(axes))
    merged = " ".join(f"(c{a} b{a})" for a in range(axes))
    sizes = {f"c{a}": cells[a] for a in range(axes)} | {f"b{a}": digits[a] for a in range(axes)}
    literal = repeat(coarse, f"{c} h -> {merged} h", **sizes) + repeat(fine, f"{b} h -> {merged} h", **sizes)
    torch.testing.assert_close(upsample_add_tile(coarse, fine), literal)  # U(., B) + R(., C), literally
    assert torch.autograd.gradcheck(upsample_add_tile, (coarse, fine))


@pytest.mark.parametrize(
    "bases",
    [
        [[10, 10, 16, 20]],  # 1-D (audio)
        [[4, 4, 4, 8], [4, 4, 6, 8]],  # 2-D, non-uniform
        [[3, 2, 4], [2, 2, 3], [1, 2, 2]],  # 3-D with bases of 1
        [[2, 3], [1, 5]],  # two levels
        [[8], [6]],  # one level: no sine layer
    ],
)
def test_shared_forward_on_random_batches_equals_per_point_values_and_gradients(bases):
    field = order_one_field(bases, hidden_dim=32, out_dim=2).double()
    sizes = torch.tensor(field.grid_shape, dtype=torch.float64)
    torch.manual_seed(1)
    points = torch.rand(300, len(sizes), dtype=torch.float64) * (sizes + 4) - 2  # continuous, some off the grid
    points = rearrange(torch.cat([points, points[:60]]), "(a b) d -> a b d", b=6)  # repeated points, batch dims
    shared, per_point = field(points), field.forward_per_point(points)
    assert shared.shape == per_point.shape == (60, 6, 2)
    assert (shared - per_point).abs().max() <= 1e-12
    shared.square().sum().backward()
    shared_grads = [p.grad.clone() for p in field.parameters() if p.grad is not None]
    field.zero_grad()
    per_point.square().sum().backward()
    per_point_grads = [p.grad for p in field.parameters() if p.grad is not None]
    assert len(shared_grads) == len(per_point_grads)
    assert all((a - b).abs().max() <= 1e-10 * (1 + b.abs().max()) for a, b in zip(shared_grads, per_point_grads))


@pytest.mark.parametrize("bases", EXACTNESS_PARAMS)
def test_instance_shifts_render_equals_per_point_eq3(bases):
    field = order_one_field(bases, hidden_dim=16).double()
    torch.manual_seed(1)
    shifts = 0.05 * torch.randn(3, *field.shift_shape, dtype=torch.float64)
    coords = grid_coords(field.grid_shape).double()
    with torch.no_grad():
        shared = field.render(shifts=shifts)
        per_point = torch.stack(
            [field.forward_per_point(coords, phi.expand(*coords.shape[:-1], *phi.shape)) for phi in shifts]
        )
    assert shared.shape == (3, *field.grid_shape, 3)
    assert (shared - per_point).abs().max() <= 1e-12
    if field.sine_layers:  # the shifts change every instance differently
        assert (shared[0] - shared[1]).abs().max() > 1e-3


def test_instance_shifts_are_differentiable_twice():
    field = ASMRField(bases=[[2, 2, 2], [1, 2, 3]], hidden_dim=4, out_dim=2).double()
    shifts = (0.1 * torch.randn(2, *field.shift_shape, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda phi: field.render(shifts=phi), (shifts,))
    assert torch.autograd.gradgradcheck(lambda phi: field.render(shifts=phi), (shifts,))


def test_instance_shifts_of_the_wrong_shape_are_refused():
    field = ASMRField(bases=[[2, 2, 2]], hidden_dim=8)
    with pytest.raises(ValueError, match=r"shifts must be \[B, 2, 8\]"):
        field.render(shifts=torch.zeros(1, 3, 8))


@pytest.mark.parametrize("bases", [[[8, 8, 8], [8, 8, 8]], [[2, 3, 5], [4, 2, 2]], [[3, 2], [2, 2, 2], [4]]])
def test_unit_maps_equal_the_per_point_activations_on_each_layers_own_grid(bases):
    field = ASMRField(bases=bases, hidden_dim=16)
    points = grid_coords(field.grid_shape)
    levels = field.encoding.levels(points)
    sizes = torch.tensor(field.grid_shape)
    with torch.no_grad():
        z = levels[..., 0, :]
        first = field.sine_layers[0].pre_activation(z)
        for layer in range(len(field.sine_layers) + 1):
            per_point = first if layer == 0 else z
            counts = torch.tensor([int(torch.tensor(axis[: layer + 1]).prod()) for axis in field.bases])
            cells = tuple((points.long() * counts // sizes).unbind(-1))  # each point's level-`layer` cell
            for unit in (0, 7, 15):
                expected = per_point[..., unit]
                shared = field.unit_map(layer, unit)
                assert list(shared.shape) == counts.tolist()
                assert torch.allclose(shared[cells], expected, atol=1e-5), (layer, unit)
            if layer < len(field.sine_layers):
                z = field.sine_layers[layer](z, field.modulation.level(layer + 1, levels[..., layer + 1, :]))


def test_unit_map_refuses_layers_and_units_it_does_not_have():
    field = ASMRField(bases=[[4, 4], [4, 4]], hidden_dim=8)
    with pytest.raises(ValueError, match="layer must be in 0..1"):
        field.unit_map(2, 0)
    with pytest.raises(ValueError, match="unit must be in 0..7"):
        field.unit_map(1, 8)


@pytest.mark.slow
@pytest.mark.parametrize("bases", [[[4, 4, 4, 8], [4, 4, 6, 8]], [[2, 3, 5], [4, 2, 2]], [[3, 2], [2, 2, 2], [4]]])
def test_coarse_renders_hold_finer_modulations_at_their_mean(bases):
    field = order_one_field(bases, hidden_dim=16)
    levels = field.encoding.num_levels
    with torch.no_grad():
        assert torch.equal(field.render_coarse(levels - 1), field.render())
        for level in range(levels - 1):
            expected = per_point_with_mean_modulations(field, level)
            assert torch.allclose(field.render_coarse(level), expected, atol=1e-4), level


def per_point_with_mean_modulations(field: ASMRField, level: int):
    """Eq. 1 point by point, the modulation of every level above ``level`` replaced by its mean over the digits."""
    points = grid_coords(field.grid_shape)
    digits = field.encoding.levels(points)
    z = digits[..., 0, :]
    for modulated, layer in enumerate(field.sine_layers, start=1):
        shift = field.modulation.level(modulated, digits[..., modulated, :])
        if modulated > level:
            mean = field.modulation.level(modulated, field.level_digits(modulated)).flatten(0, -2).mean(0)
            shift = mean.expand_as(shift)
        z = layer(z, shift)
    return field.output(z)


@pytest.mark.parametrize("bases", EXACTNESS_PARAMS)
def test_coarse_forward_at_any_points_is_the_coarse_render(bases):
    """``forward_coarse`` (the points of a radiance field's rays) equals ``render_coarse`` on the grid's points, and
    off them is the value of the cell they lie in."""
    field = order_one_field(bases, hidden_dim=16).double()
    points = grid_coords(field.grid_shape).double()
    with torch.no_grad():
        for level in range(field.encoding.num_levels):
            coarse = field.forward_coarse(points, level)
            # render_coarse averages the modulations of float32 digit tables (1/3 rounded): float32 precision
            assert (coarse - field.render_coarse(level)).abs().max() <= 1e-5, level
            assert torch.equal(field.forward_coarse(points + 0.5, level), coarse)
        assert (field.forward_coarse(points, field.encoding.num_levels - 1) - field.render()).abs().max() <= 1e-12


def test_coarse_render_refuses_levels_it_does_not_have():
    with pytest.raises(ValueError, match="level must be in 0..2"):
        ASMRField(bases=[[4, 4, 4], [4, 4, 4]], hidden_dim=8).render_coarse(3)
    with pytest.raises(ValueError, match="level must be in 0..2"):
        ASMRField(bases=[[4, 4, 4], [4, 4, 4]], hidden_dim=8).forward_coarse(torch.zeros(1, 2), 3)
