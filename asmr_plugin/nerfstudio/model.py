"""A nerfstudio Model that fits one image with any ``GridField`` (ASMR, SIREN, the baselines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Type, Union

import torch
from einops import repeat
from jaxtyping import Float
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackLocation
from nerfstudio.models.base_model import Model, ModelConfig
from nerfstudio.viewer.viewer_elements import ViewerSlider, ViewerText
from torch import Tensor
from torch.nn import Parameter

from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, InitName, channel_mean, initialize_output
from asmr_plugin.fields.registry import ModelName, NetworkShape, check_positive
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.nerfstudio.image_plane import FITTED_CHANNELS, ImagePlane
from asmr_plugin.nerfstudio.inspection import error_map, network_text, unit_image

MODEL_OPTIONS = "--pipeline.model."
"""How ns-train names this model's options in error messages."""
MISS_DEPTH = 1e3
"""Depth of rays that miss the image: far behind everything the viewer composites."""
GUI_EVERY = 100
"""Training steps between updates of the viewer's PSNR."""


@dataclass
class ImageFieldModelConfig(ModelConfig, NetworkShape):
    """Fit the single image of the dataparser with a coordinate network."""

    _target: Type = field(default_factory=lambda: ImageFieldModel)
    enable_collider: bool = False
    network: ModelName = "asmr"
    """Coordinate network."""
    init: InitName = DEFAULT_INIT
    """How the output layer starts: mean (its bias at the image's mean: a fast start, the same end) or paper."""
    batch: Optional[int] = None
    """None: the whole image every step, rendered by activation sharing (the paper, Eq. 2).
    A number: that many random pixels per step through the field's forward (ASMR shares each
    layer's work between the pixels of one cell)."""
    eval_num_rays_per_chunk: int = 1 << 16
    """Viewer rays evaluated at once."""
    viewer_output: str = "rgb"
    """The output the viewer shows when it opens: rgb, error, depth, accumulation, values; ASMR also level, unit."""
    viewer_level: Optional[int] = None
    """ASMR: the viewer's initial level for the 'level' output (0: the coarsest). Default: the finest."""
    viewer_layer: int = 1
    """ASMR: the viewer's initial hidden layer for the 'unit' output (0: the first layer's shared part)."""
    viewer_unit: int = 0
    """ASMR: the viewer's initial hidden unit for the 'unit' output."""

    def field_for(self, image_shape: Tuple[int, int], channels: int) -> GridField:
        """The configured network for an image; a ValueError names a bad option as ns-train spells it."""
        check_positive({"batch": self.batch}, MODEL_OPTIONS)
        field_ = self.build(self.network, image_shape, channels, MODEL_OPTIONS)
        self.check_viewer_settings(field_)
        return field_

    def check_viewer_settings(self, field_: GridField) -> None:
        """A ValueError naming a viewer option the network does not have."""
        outputs = ["rgb", "error", "depth", "accumulation", "values"]
        if isinstance(field_, ASMRField):
            outputs += ["level", "unit"]
            levels, layers = field_.encoding.num_levels, len(field_.sine_layers)
            if layers == 0:
                given = f"num-layers {self.num_layers}" if self.bases is None else f"bases {' '.join(self.bases)}"
                raise ValueError(
                    f"{MODEL_OPTIONS}{given} gives a one-level ASMR, which has no hidden layer for the viewer's "
                    "level and unit outputs; use 2 levels or more (asmr-fit image fits one-level networks)"
                )
            for name, value, top in (
                ("viewer-level", self.viewer_level, levels - 1),
                ("viewer-layer", self.viewer_layer, layers),
                ("viewer-unit", self.viewer_unit, field_.hidden_dim - 1),
            ):
                if value is not None and not 0 <= value <= top:
                    raise ValueError(f"{MODEL_OPTIONS}{name} must be in 0..{top} for this network, got {value}")
        if self.viewer_output not in outputs:
            raise ValueError(
                f"{MODEL_OPTIONS}viewer-output {self.viewer_output!r} is not an output of {self.network}; "
                f"choose one of {', '.join(outputs)}"
            )


class ImageFieldModel(Model):
    """Outputs ``rgb`` (the fitted image shown on its plane), ``depth``, ``accumulation``, the raw ``values``
    and ``error`` (|prediction - target|); for ASMR also ``level`` and ``unit``, set by the viewer's
    Custom Elements (the level, and the hidden layer and unit).

    The training camera's full image is rendered by ``GridField.render``; any other camera
    (the viewer's) intersects its rays with the image plane and evaluates the field there.
    """

    config: ImageFieldModelConfig

    def populate_modules(self) -> None:
        super().populate_modules()
        metadata = self.kwargs["metadata"]
        self.plane: ImagePlane = metadata["image_plane"]
        self.channels: int = metadata["channels"]
        self.field: GridField = self.config.field_for(self.image_shape, self.channels)
        self.counts = {
            "num_params": torch.tensor(float(self.field.num_params())),
            "macs_per_pixel": torch.tensor(self.field.macs(self.image_shape).with_bias),
        }
        own_channels = metadata["image"][..., : self.channels]
        self.register_buffer("target", own_channels.clone(), persistent=False)
        initialize_output(self.field, channel_mean(own_channels), self.config.init)  # checkpoints replace it
        self.last_psnr: Tensor | None = None
        self.gui_network = ViewerText("network", network_text(self.field, self.image_shape, None), disabled=True)
        if isinstance(self.field, ASMRField):
            levels, layers = self.field.encoding.num_levels, len(self.field.sine_layers)
            level = levels - 1 if self.config.viewer_level is None else self.config.viewer_level
            self.gui_level = ViewerSlider("level (output 'level')", level, 0, levels - 1, 1)
            self.gui_layer = ViewerSlider(
                "hidden layer (output 'unit'; 0: layer 1's shared part)", self.config.viewer_layer, 0, layers, 1
            )
            self.gui_unit = ViewerSlider(
                "hidden unit (output 'unit')", self.config.viewer_unit, 0, self.field.hidden_dim - 1, 1
            )

    @property
    def image_shape(self) -> Tuple[int, int]:
        return self.plane.height, self.plane.width

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        """The "fields" group, and "field_<name>" for each subset of the field that may learn at a rate of its own
        (ASMR's "field_output" and "field_modulation"; the method's optimizers set the rates)."""
        subsets = self.field.lr_subsets()
        own = {id(parameter) for subset in subsets.values() for parameter in subset}
        rest = [parameter for parameter in self.field.parameters() if id(parameter) not in own]
        return {"fields": rest, **{f"field_{name}": subset for name, subset in subsets.items()}}

    def to_rgb(self, values: Float[Tensor, "*batch C"]) -> Float[Tensor, "*batch 3"]:
        """Grey (and grey + alpha) repeated to three channels; alpha dropped."""
        if self.channels <= 2:
            return repeat(values[..., :1], "... 1 -> ... 3")
        return values[..., :3]

    def get_outputs(self, ray_bundle: Union[RayBundle, Cameras]) -> Dict[str, Tensor]:
        if isinstance(ray_bundle, RayBundle):
            return self.outputs_for_rays(ray_bundle)
        if not self.training:
            return self.outputs_for_training_view(ray_bundle)
        if self.config.batch is None:
            return {"values": self.field.render(self.image_shape)}
        sizes = torch.tensor(self.image_shape, device=self.device)
        pixels = (torch.rand(self.config.batch, 2, device=self.device) * sizes).floor()
        return {"values": self.field(pixels), "pixel_indices": pixels.long()}

    def outputs_for_training_view(self, camera: Cameras) -> Dict[str, Tensor]:
        """The whole image by ``render``, with the depth of the training camera's rays."""
        values = self.field.render(self.image_shape)
        rays = camera.generate_rays(camera_indices=0, keep_shape=True)
        _, distance, _ = self.plane.intersect(rays.origins, rays.directions)
        return self.viewer_first(
            {
                "rgb": self.to_rgb(values.clamp(0, 1)),
                "depth": distance[..., None],
                "accumulation": torch.ones_like(distance[..., None]),
                "values": values,
                "error": error_map(values, self.target),
                **self.inspection_images(),
            }
        )

    def outputs_for_rays(self, ray_bundle: RayBundle) -> Dict[str, Tensor]:
        pixels, distance, hit = self.plane.intersect(ray_bundle.origins, ray_bundle.directions)
        values = torch.where(hit[..., None], self.field(pixels).clamp(0, 1), 0.0)
        at_pixels = tuple(pixels.long().unbind(-1))
        return self.viewer_first(
            {
                "rgb": self.to_rgb(values),
                "depth": torch.where(hit, distance, MISS_DEPTH)[..., None],
                "accumulation": hit[..., None].float(),
                "values": values,
                "error": torch.where(hit[..., None], error_map(values, self.target[at_pixels]), 0.0),
                **{
                    name: torch.where(hit[..., None], image[at_pixels], 0.0)
                    for name, image in self.inspection_images().items()
                },
            }
        )

    def viewer_first(self, outputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``outputs`` with ``viewer_output`` first: the viewer opens on its first output."""
        first = self.config.viewer_output
        return {first: outputs[first], **{name: value for name, value in outputs.items() if name != first}}

    def inspection_images(self) -> Dict[str, Tensor]:
        """ASMR's ``level`` (RGB) and ``unit`` (one channel) images at the viewer's settings; none for others."""
        if not isinstance(self.field, ASMRField):
            return {}
        level = int(self.gui_level.value)
        layer, unit = int(self.gui_layer.value), int(self.gui_unit.value)
        return {
            "level": self.to_rgb(self.field.render_coarse(level, self.image_shape).clamp(0, 1)),
            "unit": unit_image(self.field, layer, unit, self.image_shape),
        }

    @torch.no_grad()
    def get_outputs_for_camera(self, camera: Cameras, obb_box=None) -> Dict[str, Tensor]:
        if self.plane.is_training_camera(camera):
            return self.outputs_for_training_view(camera.to(self.device))
        return super().get_outputs_for_camera(camera, obb_box)

    def target_values(self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]) -> Tensor:
        """The image's own channels, at the sampled pixels if any: the ``target`` buffer, already on the device,
        when the batch serves the training image (every batch of the single-image dataset), so that an iteration
        copies no image; else the batch's own channels (served as RGB(A))."""
        image = self.target
        if batch["image"].shape[:2] != image.shape[:2]:
            image = batch["image"].to(self.device)[..., FITTED_CHANNELS[self.channels]]
        if "pixel_indices" in outputs:
            return image[tuple(outputs["pixel_indices"].unbind(-1))]
        return image

    def get_metrics_dict(self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        metrics = {
            "psnr": psnr(outputs["values"].detach().clamp(0, 1), self.target_values(outputs, batch)),
            **self.counts,
        }
        self.last_psnr = metrics["psnr"]
        return metrics

    def get_training_callbacks(self, training_callback_attributes) -> List[TrainingCallback]:
        """The GUI's PSNR, every ``GUI_EVERY`` steps (reading it waits for the step's kernels)."""

        def show_psnr(step: int) -> None:
            if self.last_psnr is not None:
                self.gui_network.value = network_text(self.field, self.image_shape, self.last_psnr.item())

        return [
            TrainingCallback(
                [TrainingCallbackLocation.AFTER_TRAIN_ITERATION], show_psnr, update_every_num_iters=GUI_EVERY
            )
        ]

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, Tensor]:
        return {"mse": torch.nn.functional.mse_loss(outputs["values"], self.target_values(outputs, batch))}

    def get_image_metrics_and_images(
        self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]
    ) -> Tuple[Dict[str, float], Dict[str, Tensor]]:
        image = self.target_values(outputs, batch)
        prediction = outputs["values"].clamp(0, 1)
        metrics = {"psnr": psnr(prediction, image).item()}
        similarity = ssim(prediction, image)
        if similarity is not None:  # omitted, not NaN: nerfstudio averages the keys the first image has
            metrics["ssim"] = similarity.item()
        return metrics, {"img": torch.cat([self.to_rgb(image), self.to_rgb(prediction)], dim=1)}
