import math

import pytest
import torch

from asmr_plugin.fields import SIRENField
from asmr_plugin.fields.base import grid_coords


def test_siren_counts_and_init():
    field = SIRENField((512, 512), hidden_dim=256, num_layers=4, out_dim=1)
    assert field.num_params() == 132_609
    assert field.macs().weights_only == 131_840 and field.macs().with_bias == 132_609
    first = field.sine_layers[0].linear
    assert first.weight.abs().max() <= 1 / 2 and first.bias.abs().max() <= 1 / 2
    assert field.sine_layers[1].linear.weight.abs().max() <= math.sqrt(6 / 256) / 30


def test_siren_render_equals_forward_and_normalizes_to_unit_cube():
    field = SIRENField((7, 5), hidden_dim=16, num_layers=3, out_dim=2)
    field.render_chunk_size = 8  # several chunks
    with torch.no_grad():
        torch.testing.assert_close(field.render(), field(grid_coords((7, 5))))
    corners = grid_coords((7, 5))[[0, -1], [0, -1]] * field.coord_scale - 1
    torch.testing.assert_close(corners, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))


def test_siren_needs_two_layers():
    with pytest.raises(ValueError, match="at least 2 layers"):
        SIRENField((8,), hidden_dim=16, num_layers=1)
