#!/usr/bin/env python
"""asmr-plugin's coordinate decomposition as the position encoding of nerfstudio's own NeRFField.

Renders a few rays through a 64^3 grid over the scene box, then takes a few optimizer steps
towards a constant colour so the encoding is shown to train inside a host field.

    python examples/decomposition_in_nerf_field.py
"""

import torch
from nerfstudio.cameras.rays import Frustums, RaySamples
from nerfstudio.field_components.encodings import NeRFEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.fields.vanilla_nerf_field import NeRFField
from nerfstudio.model_components.renderers import RGBRenderer

from asmr_plugin.field_components import CoordinateDecomposition


def ray_samples(num_rays: int = 64, num_samples: int = 32) -> RaySamples:
    origins = torch.rand(num_rays, 1, 3) * 2 - 1
    directions = torch.nn.functional.normalize(torch.randn(num_rays, 1, 3), dim=-1)
    starts = torch.linspace(0, 1, num_samples + 1)[None, :-1, None].expand(num_rays, -1, -1)
    frustums = Frustums(
        origins=origins.expand(-1, num_samples, -1),
        directions=directions.expand(-1, num_samples, -1),
        starts=starts,
        ends=starts + 1 / num_samples,
        pixel_area=torch.ones(num_rays, num_samples, 1),
    )
    return RaySamples(frustums=frustums, deltas=frustums.ends - frustums.starts)


def main() -> float:
    torch.manual_seed(0)
    aabb = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])  # a nerfstudio SceneBox's aabb
    field = NeRFField(
        position_encoding=CoordinateDecomposition([[4, 4, 4]] * 3, bounds=aabb),  # 64^3 cells
        direction_encoding=NeRFEncoding(in_dim=3, num_frequencies=2, min_freq_exp=0, max_freq_exp=1),
        base_mlp_num_layers=2,
        base_mlp_layer_width=32,
        head_mlp_num_layers=1,
        head_mlp_layer_width=16,
    )
    renderer = RGBRenderer()
    optimizer = torch.optim.Adam(field.parameters(), lr=1e-2)
    target = torch.tensor([0.9, 0.3, 0.1])
    samples = ray_samples()
    for step in range(30):
        outputs = field(samples)
        weights = samples.get_weights(outputs[FieldHeadNames.DENSITY])
        rgb = renderer(rgb=outputs[FieldHeadNames.RGB], weights=weights)
        loss = ((rgb - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0 or step == 29:
            print(f"step {step:2d}: loss {loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    main()
