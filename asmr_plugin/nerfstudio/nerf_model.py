"""asmr-nerf's model: an ``ASMRRadianceField`` rendered by nerfstudio's own components (rays clipped to the scene box,
uniform then PDF sampling of the same field, volume rendering, MSE), scored by PSNR and SSIM: nothing downloaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Tuple, Type

import torch
from nerfstudio.cameras.rays import RayBundle, RaySamples
from nerfstudio.field_components.encodings import NeRFEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.fields.base_field import Field
from nerfstudio.fields.nerfacto_field import NerfactoField
from nerfstudio.fields.vanilla_nerf_field import NeRFField
from nerfstudio.model_components.losses import MSELoss
from nerfstudio.model_components.ray_samplers import PDFSampler, UniformSampler
from nerfstudio.model_components.renderers import AccumulationRenderer, DepthRenderer, RGBRenderer
from nerfstudio.model_components.scene_colliders import AABBBoxCollider
from nerfstudio.models.base_model import Model, ModelConfig
from nerfstudio.utils import colormaps
from nerfstudio.viewer.viewer_elements import ViewerSlider
from torch import Tensor
from torch.nn import Parameter

from asmr_plugin.fields.registry import parse_bases_option
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.nerfstudio.radiance_field import ASMRRadianceField


@dataclass
class ASMRNerfModelConfig(ModelConfig):
    """An ASMR radiance field over the scene box, sampled coarse-to-fine."""

    _target: Type = field(default_factory=lambda: ASMRNerfModel)
    bases: Tuple[str, ...] = ("2,4,4,4",)
    """ASMR bases per axis of the scene box (one list for every axis): their product is the grid's cells per axis."""
    hidden_dim: int = 192
    """ASMR's width (192: about the parameters of the nerf baseline, and 0.7 dB over 128 at 500 iterations)."""
    feature_dim: int = 15
    """Outputs beside the density that the colour head reads."""
    omega0: float = 30.0
    output_gain: float = 3.0
    """ASMR's output weights at initialization times this (1: the SIREN bound, the paper's; 3 measured best)."""
    smoothness: float = 1.0
    """Weight of a smoothness prior on ASMR's finest cells: the mean squared difference of the network's outputs
    between random neighbouring cells of the box (``ASMRRadianceField.neighbour_difference``); 0: none. The defaults
    (width, gain, prior) are the best of docs/studies/asmr-nerf.md's variants."""
    smoothness_cells: int = 4096
    """Random cells (each with one neighbour) the smoothness prior draws per iteration."""
    num_coarse_samples: int = 48
    """Uniform samples per ray (within the scene box)."""
    num_importance_samples: int = 48
    """Samples per ray drawn from the coarse pass's weights (the same field)."""
    background_color: Literal["white", "black"] = "white"
    """The colour behind the scene (the views' alpha is composited on it)."""
    viewer_level: Optional[int] = None
    """ASMR: the viewer's initial level for the 'level' output (the scene as levels 0 .. level alone make it, the
    finer modulations held at their mean; 0: the coarsest). Default: the finest (the 'rgb' output)."""
    field: Literal["asmr", "nerf", "nerfacto"] = "asmr"
    """The radiance field: ASMR, or a baseline under the same sampling, rendering, loss and schedule: nerf
    (nerfstudio's NeRFField with positional encoding: 10 frequencies of the position, 4 of the direction, a ReLU MLP
    of 4 layers of 128, a colour head of 64) or nerfacto (nerfacto's field on nerfstudio's torch hash grid: 16 levels
    of 2^15 entries up to 256 cells per axis, no appearance embedding)."""

    def __post_init__(self) -> None:
        self.loss_coefficients = {"rgb_loss_coarse": 1.0, "rgb_loss_fine": 1.0}


def radiance_field(config: ASMRNerfModelConfig, aabb: Tensor) -> Field:
    """The field ``config.field`` names, over the scene box ``aabb``."""
    if config.field == "nerf":
        return NeRFField(
            position_encoding=NeRFEncoding(3, 10, 0.0, 8.0, include_input=True),
            direction_encoding=NeRFEncoding(3, 4, 0.0, 4.0, include_input=True),
            base_mlp_num_layers=4,
            base_mlp_layer_width=128,
            head_mlp_num_layers=1,
            head_mlp_layer_width=64,
            skip_connections=(2,),
        )
    if config.field == "nerfacto":
        return NerfactoField(
            aabb, 1, max_res=256, log2_hashmap_size=15, appearance_embedding_dim=0, implementation="torch"
        )
    bases = parse_bases_option(config.bases, 3, "--pipeline.model.")
    return ASMRRadianceField(
        aabb, bases, config.hidden_dim, config.feature_dim, omega0=config.omega0, output_gain=config.output_gain
    )


class ASMRNerfModel(Model):
    """A radiance field model whose field is ``ASMRRadianceField``."""

    config: ASMRNerfModelConfig

    def populate_modules(self) -> None:
        super().populate_modules()
        config = self.config
        self.field = radiance_field(config, self.scene_box.aabb)
        self.collider = AABBBoxCollider(self.scene_box, near_plane=0.05)
        self.sampler_uniform = UniformSampler(num_samples=config.num_coarse_samples)
        self.sampler_pdf = PDFSampler(num_samples=config.num_importance_samples)
        self.renderer_rgb = RGBRenderer(background_color=config.background_color)
        self.renderer_accumulation = AccumulationRenderer()
        self.renderer_depth = DepthRenderer()
        self.rgb_loss = MSELoss()
        if isinstance(self.field, ASMRRadianceField):
            levels = self.field.network.encoding.num_levels
            level = levels - 1 if config.viewer_level is None else config.viewer_level
            if not 0 <= level < levels:
                raise ValueError(f"--pipeline.model.viewer-level {level}: this ASMR has levels 0..{levels - 1}")
            self.gui_level = ViewerSlider("level (output 'level')", level, 0, levels - 1, 1)

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        return {"fields": list(self.field.parameters())}

    def render(self, ray_samples, prefix: str) -> Tuple[Dict[str, Tensor], Tensor]:
        """The field along ``ray_samples``: colour, accumulation and depth (keys with ``prefix``), and the weights."""
        field_outputs = self.field(ray_samples)
        weights = ray_samples.get_weights(field_outputs[FieldHeadNames.DENSITY])
        outputs = {
            f"rgb{prefix}": self.renderer_rgb(rgb=field_outputs[FieldHeadNames.RGB], weights=weights),
            f"accumulation{prefix}": self.renderer_accumulation(weights),
            f"depth{prefix}": self.renderer_depth(weights, ray_samples),
        }
        return outputs, weights

    def get_outputs(self, ray_bundle: RayBundle) -> Dict[str, Tensor]:
        coarse_samples = self.sampler_uniform(ray_bundle)
        coarse, weights = self.render(coarse_samples, "_coarse")
        fine_samples = self.sampler_pdf(ray_bundle, coarse_samples, weights)
        fine, _ = self.render(fine_samples, "")
        return {**coarse, **fine, **self.level_outputs(fine_samples, fine)}

    def level_outputs(self, samples: RaySamples, fine: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """ASMR's 'level' output (not in training): the fine samples rendered as levels 0 .. the viewer's level
        alone make the field; at the finest level, the colour itself."""
        if self.training or not isinstance(self.field, ASMRRadianceField):
            return {}
        level = int(self.gui_level.value)
        if level == self.field.network.encoding.num_levels - 1:
            return {"level": fine["rgb"]}
        self.field.level = level
        try:
            coarse_field, _ = self.render(samples, "_level")
        finally:
            self.field.level = None
        return {"level": coarse_field["rgb_level"]}

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, Tensor]:
        image = batch["image"].to(outputs["rgb"].device)
        losses = {}
        for name, suffix in (("rgb_loss_coarse", "_coarse"), ("rgb_loss_fine", "")):
            prediction, target = self.renderer_rgb.blend_background_for_loss_computation(
                pred_image=outputs[f"rgb{suffix}"], pred_accumulation=outputs[f"accumulation{suffix}"], gt_image=image
            )
            losses[name] = self.config.loss_coefficients[name] * self.rgb_loss(target, prediction)
        if self.training and self.config.smoothness > 0 and isinstance(self.field, ASMRRadianceField):
            losses["smoothness"] = self.config.smoothness * self.field.neighbour_difference(
                self.config.smoothness_cells
            )
        return losses

    def get_metrics_dict(self, outputs, batch) -> Dict[str, Tensor]:
        image = self.renderer_rgb.blend_background(batch["image"].to(outputs["rgb"].device))
        return {"psnr": psnr(outputs["rgb"].detach(), image)}

    def get_image_metrics_and_images(
        self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]
    ) -> Tuple[Dict[str, float], Dict[str, Tensor]]:
        image = self.renderer_rgb.blend_background(batch["image"].to(outputs["rgb"].device))
        rgb = outputs["rgb"].clamp(0, 1)
        metrics = {"psnr": float(psnr(rgb, image))}
        structural = ssim(rgb, image)
        if structural is not None:
            metrics["ssim"] = float(structural)
        depth = colormaps.apply_depth_colormap(outputs["depth"], accumulation=outputs["accumulation"])
        images = {
            "img": torch.cat([image, rgb], dim=1),
            "accumulation": colormaps.apply_colormap(outputs["accumulation"]),
            "depth": depth,
        }
        return metrics, images
