import math

import pytest
import torch
from nerfstudio.field_components.encodings import Encoding
from nerfstudio.field_components.mlp import MLP

from asmr_plugin.field_components import CoordinateDecomposition, HierarchicalModulation, SineLayer


def test_decomposition_is_a_nerfstudio_encoding():
    encoding = CoordinateDecomposition([[4, 4, 8], [2, 8]])
    assert isinstance(encoding, Encoding)
    assert encoding.in_dim == 2 and encoding.num_levels == 3 and encoding.get_out_dim() == 6
    coords = torch.tensor([[0.0, 0.0], [127.0, 15.0], [37.0, 9.0]])
    out = encoding(coords)
    assert out.shape == (3, 6)
    # level-major layout [x_0 (both axes), x_1, x_2]; 37 = 1*32 + 0*8 + 5 and 9 = 1*8 + 1 (axis 1 padded with a 1)
    torch.testing.assert_close(out[2], torch.tensor([1 / 3, 1.0, 0.0, 1 / 7, 5 / 7, 0.0]))
    torch.testing.assert_close(out[0], torch.zeros(6))
    torch.testing.assert_close(out[1], torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 0.0]))


def test_decomposition_floors_and_clamps_to_the_grid():
    encoding = CoordinateDecomposition([[4, 4]])
    out = encoding(torch.tensor([[-3.0], [5.7], [5.0], [99.0], [15.0]]))
    torch.testing.assert_close(out[1], out[2])
    torch.testing.assert_close(out[0], torch.zeros(2))
    torch.testing.assert_close(out[3], out[4])


def test_decomposition_feeds_a_nerfstudio_mlp():
    encoding = CoordinateDecomposition([[4, 4, 4]] * 3)
    mlp = MLP(in_dim=encoding.get_out_dim(), num_layers=2, layer_width=16, out_dim=4)
    coords = torch.rand(10, 5, 3) * 64
    assert mlp(encoding(coords)).shape == (10, 5, 4)


def test_modulation_shapes_and_init():
    modulation = HierarchicalModulation(num_axes=3, hidden_dim=8, num_levels=4, omega0=30.0)
    assert modulation.num_modulators == 3 and modulation.weight.abs().max() <= 1 / math.sqrt(3)
    digits = torch.rand(5, 3, 3)
    shifts = modulation(digits)
    assert shifts.shape == (5, 3, 8)
    torch.testing.assert_close(shifts[:, 1], modulation.level(2, digits[:, 1]))
    with pytest.raises(IndexError, match="1..3"):
        modulation.level(0, digits[:, 0])


def test_sine_layer_applies_shift_before_omega():
    layer = SineLayer(2, 4, omega0=30.0, is_first=True)
    z, shift = torch.rand(3, 2), torch.rand(3, 4)
    torch.testing.assert_close(layer(z, shift), torch.sin(30.0 * (layer.linear(z) + shift)))
    assert layer.linear.weight.abs().max() <= 0.5


def test_decomposition_with_world_bounds():
    bounds = torch.tensor([[-1.0, 0.0], [1.0, 4.0]])
    encoding = CoordinateDecomposition([[2, 2], [2, 2]], bounds=bounds)
    world = torch.tensor([[-1.0, 0.0], [0.99, 3.9], [0.1, 1.5]])
    grid = CoordinateDecomposition([[2, 2], [2, 2]])
    torch.testing.assert_close(encoding(world), grid(torch.tensor([[0.0, 0.0], [3.98, 3.9], [2.2, 1.5]])))
    with pytest.raises(ValueError, match=r"bounds must be \[2, 2\]"):
        CoordinateDecomposition([[2, 2], [2, 2]], bounds=torch.zeros(3, 2))


def test_sin_cos_values_and_gradient():
    from asmr_plugin.field_components.sine import sin_cos

    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    sin, cos = sin_cos(x)
    torch.testing.assert_close(sin, torch.sin(x))
    torch.testing.assert_close(cos, torch.cos(x))
    assert torch.autograd.gradcheck(sin_cos, (x,))
