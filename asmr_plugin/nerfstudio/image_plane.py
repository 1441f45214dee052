"""An image as a plane in 3-D: where its pixels lie, the camera that sees it whole, and which served
channels hold the image's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from jaxtyping import Bool, Float
from nerfstudio.cameras.cameras import Cameras, CameraType
from torch import Tensor

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


FITTED_CHANNELS = {1: [0], 2: [0, 3], 3: [0, 1, 2], 4: [0, 1, 2, 3]}
"""Which channels of the served RGB(A) image hold an image's own channels (grey, grey + alpha, ...)."""
