"""A single image as a nerfstudio scene: a textured plane at z = 0 and one camera above it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Tuple, Type

import torch
from einops import repeat
from jaxtyping import Bool, Float
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.datasets.base_dataset import InputDataset
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification
from torch import Tensor

from asmr_plugin.io.images import default_image, load_image

CAMERA_HEIGHT = 2.0
"""Distance of the training camera above the image plane (the plane's longer side spans [-1, 1])."""


@dataclass(frozen=True)
class ImagePlane:
    """An H x W image on the plane z = 0, centred at the origin, its longer side spanning [-1, 1].

    Row 0 is at the top (+y), column 0 on the left (-x), as seen from the training camera, which
    looks down the -z axis from ``CAMERA_HEIGHT``: each of its pixel rays meets the plane at the
    centre of that pixel.
    """

    height: int
    width: int

    @property
    def pixel_size(self) -> float:
        return 2.0 / max(self.height, self.width)

    def training_camera(self) -> Cameras:
        focal = CAMERA_HEIGHT / self.pixel_size
        camera_to_world = torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, CAMERA_HEIGHT]])
        return Cameras(
            camera_to_worlds=camera_to_world[None],
            fx=focal,
            fy=focal,
            cx=self.width / 2,
            cy=self.height / 2,
            width=self.width,
            height=self.height,
            camera_type=CameraType.PERSPECTIVE,
        )

    def is_training_camera(self, camera: Cameras) -> bool:
        """Whether ``camera`` sees exactly the training view (so the image can be rendered whole)."""
        reference = self.training_camera().to(camera.device)
        if camera.shape != (1,) or camera.camera_type[0].item() != CameraType.PERSPECTIVE.value:
            return False
        same = [
            torch.allclose(camera.camera_to_worlds, reference.camera_to_worlds, atol=1e-5),
            *(
                torch.allclose(getattr(camera, name), getattr(reference, name), atol=1e-3)
                for name in ("fx", "fy", "cx", "cy")
            ),
            bool((camera.width == reference.width).all() and (camera.height == reference.height).all()),
        ]
        distortion = camera.distortion_params
        return all(same) and (distortion is None or bool((distortion == 0).all()))

    def intersect(
        self, origins: Float[Tensor, "*batch 3"], directions: Float[Tensor, "*batch 3"]
    ) -> Tuple[Float[Tensor, "*batch 2"], Float[Tensor, "*batch"], Bool[Tensor, "*batch"]]:
        """Pixel (row, column) hit by each ray (floored, clamped to the image), its ray distance and whether it hits.

        A ray hits when it meets the plane in front of its origin and inside the image.
        """
        dz = directions[..., 2]
        parallel = dz.abs() < 1e-12
        distance = torch.where(
            parallel, torch.zeros_like(dz), -origins[..., 2] / torch.where(parallel, torch.ones_like(dz), dz)
        )
        points = origins + distance[..., None] * directions
        column = points[..., 0] / self.pixel_size + self.width / 2
        row = -points[..., 1] / self.pixel_size + self.height / 2
        hit = ~parallel & (distance > 0) & (row >= 0) & (row < self.height) & (column >= 0) & (column < self.width)
        pixel = torch.stack([row.floor().clamp(0, self.height - 1), column.floor().clamp(0, self.width - 1)], dim=-1)
        return pixel, distance, hit


@dataclass
class SingleImageDataParserConfig(DataParserConfig):
    """One image to fit (PNG, JPEG, TIFF, ...); default: scikit-image's Cameraman."""

    _target: Type = field(default_factory=lambda: SingleImageDataParser)
    data: Path = field(default_factory=default_image)
    """The image file."""


class SingleImageDataParser(DataParser):
    """The image is both the training and the evaluation set: fitting measures reconstruction."""

    config: SingleImageDataParserConfig

    @cached_property
    def image(self) -> Float[Tensor, "H W C"]:
        return load_image(self.config.data)

    def _generate_dataparser_outputs(self, split: str = "train") -> DataparserOutputs:
        height, width, channels = self.image.shape
        plane = ImagePlane(height, width)
        half_width, half_height = width * plane.pixel_size / 2, height * plane.pixel_size / 2
        return DataparserOutputs(
            image_filenames=[self.config.data],
            cameras=plane.training_camera(),
            scene_box=SceneBox(
                aabb=torch.tensor([[-half_width, -half_height, -0.05], [half_width, half_height, 0.05]])
            ),
            metadata={"image": self.image, "image_plane": plane, "channels": channels},
        )


FITTED_CHANNELS = {1: [0], 2: [0, 3], 3: [0, 1, 2], 4: [0, 1, 2, 3]}
"""Which channels of the served RGB(A) image hold an image's own channels (grey, grey + alpha, ...)."""


class SingleImageDataset(InputDataset):
    """Serves the dataparser's image, as loaded by ``asmr_plugin.io.images``, as RGB(A).

    nerfstudio's own loader would fail on grey + alpha, read palette indices and truncate
    16-bit images. Grey is served repeated to RGB and grey + alpha as RGBA, as the viewer
    needs; the model fits only the image's own channels (``FITTED_CHANNELS``).
    """

    def get_image_float32(self, image_idx: int) -> Float[Tensor, "H W C"]:
        image = self.metadata["image"]
        if image.shape[-1] <= 2:
            grey = repeat(image[..., :1], "h w 1 -> h w 3")
            return torch.cat([grey, image[..., 1:]], dim=-1)
        return image

    def get_image_uint8(self, image_idx: int) -> Tensor:
        return (self.get_image_float32(image_idx) * 255).round().to(torch.uint8)


single_image_dataparser = DataParserSpecification(
    config=SingleImageDataParserConfig(), description="A single image (any size or mode) as a plane to fit"
)
