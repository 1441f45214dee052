#!/usr/bin/env python
"""ASMR inside your own nerfstudio field, trained on a real multi-view scene.

Writes a small asmr-scene, reads it with nerfstudio's own Blender parser, and trains a field of your own, written
here in a few lines, whose density and colour come from an ``ASMRField`` over the scene box, with nerfstudio's
samplers and renderer in a plain PyTorch loop. Prints the PSNR of a held-out view before and after.

    python examples/asmr_in_your_field.py [--steps 300]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.field_components.activations import trunc_exp
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.fields.base_field import Field
from nerfstudio.model_components.ray_samplers import UniformSampler
from nerfstudio.model_components.renderers import RGBRenderer
from nerfstudio.model_components.scene_colliders import AABBBoxCollider
from PIL import Image

from asmr_plugin.fields import FIELDS
from asmr_plugin.io.scenes import SceneConfig, write_scene


class MyField(Field):
    """Your field: ASMR maps a cell of the scene box to a density and a colour (no view dependence, for brevity)."""

    def __init__(self, aabb: torch.Tensor) -> None:
        super().__init__()
        self.aabb = aabb
        self.asmr = FIELDS["asmr"](None, 4, hidden_dim=64, bases=[[2, 4, 4, 4]] * 3)  # 128 cells per axis
        self.cells = 128

    def get_density(self, ray_samples):
        unit = SceneBox.get_normalized_positions(ray_samples.frustums.get_positions(), self.aabb)
        inside = ((unit >= 0) & (unit <= 1)).all(dim=-1, keepdim=True)
        raw = self.asmr(unit.clamp(0, 1) * (self.cells - 1))  # ASMR reads grid coordinates
        return trunc_exp(raw[..., :1]) * inside, raw[..., 1:]

    def get_outputs(self, ray_samples, density_embedding=None):
        return {FieldHeadNames.RGB: torch.sigmoid(density_embedding)}


def on_white(rgba: torch.Tensor) -> torch.Tensor:
    return rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])


def read_views(paths) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.asarray(Image.open(path))) for path in paths]).float() / 255


def main(steps: int = 300, rays: int = 512) -> tuple[float, float]:
    torch.manual_seed(0)
    folder = Path(tempfile.mkdtemp()) / "scene"
    write_scene(SceneConfig(out=folder, size=32, train=30, val=1, test=4))
    parser = BlenderDataParserConfig(data=folder).setup()
    train, test = parser.get_dataparser_outputs("train"), parser.get_dataparser_outputs("test")
    train_views, test_views = read_views(train.image_filenames), read_views(test.image_filenames)
    field, collider = MyField(train.scene_box.aabb), AABBBoxCollider(train.scene_box, near_plane=0.05)
    sampler, renderer = UniformSampler(num_samples=48), RGBRenderer(background_color="white")
    optimizer = torch.optim.Adam(field.parameters(), lr=5e-4)

    def render(bundle: RayBundle) -> torch.Tensor:
        samples = sampler(collider(bundle))
        outputs = field(samples)
        return renderer(rgb=outputs[FieldHeadNames.RGB], weights=samples.get_weights(outputs[FieldHeadNames.DENSITY]))

    def test_psnr() -> float:
        with torch.no_grad():
            view = test.cameras.generate_rays(camera_indices=0)
            image = render(view.flatten()).reshape(32, 32, 3)
            return float(-10 * torch.log10(((image - on_white(test_views[0])) ** 2).mean()))

    before = test_psnr()
    for step in range(steps):
        indices = torch.stack(
            [torch.randint(0, len(train_views), (rays,)), torch.randint(0, 32, (rays,)), torch.randint(0, 32, (rays,))],
            dim=-1,
        )  # (view, row, column) of each ray
        bundle = train.cameras.generate_rays(camera_indices=indices[:, :1], coords=indices[:, 1:].float() + 0.5)
        truth = on_white(train_views[indices[:, 0], indices[:, 1], indices[:, 2]])
        loss = ((render(bundle) - truth) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = test_psnr()
    print(f"test view PSNR: {before:.2f} dB before, {after:.2f} dB after {steps} steps of {rays} rays")
    return before, after


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    main(parser.parse_args().steps)
