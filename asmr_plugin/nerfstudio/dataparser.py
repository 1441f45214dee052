"""A single image as a nerfstudio scene: a textured plane at z = 0 and one camera above it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Type

import torch
from einops import repeat
from jaxtyping import Float
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.datasets.base_dataset import InputDataset
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification
from torch import Tensor

from asmr_plugin.io.files import content_hash, readable
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.nerfstudio.image_plane import ImagePlane


@functools.lru_cache(maxsize=1)
def _image_at(path: Path, modified_ns: int) -> Float[Tensor, "H W C"]:
    return load_image(path)


def read_image(path: Path) -> Float[Tensor, "H W C"]:
    """The image at ``path``, read once per process while the file is unchanged (ns-train's input
    check and the dataparser share it)."""
    path = Path(path)
    if not path.is_file():
        return load_image(path)  # it names the problem
    return _image_at(path.resolve(), path.stat().st_mtime_ns)


@dataclass
class SingleImageDataParserConfig(DataParserConfig):
    """One image to fit (PNG, JPEG, TIFF, ...); default: scikit-image's Cameraman."""

    _target: Type = field(default_factory=lambda: SingleImageDataParser)
    data: Path = field(default_factory=default_image)
    """The image file."""
    data_sha256: str | None = None
    """The image's SHA-256, recorded by ns-train: ns-eval, ns-render and ns-viewer refuse an image that changed."""


class SingleImageDataParser(DataParser):
    """The image is both the training and the evaluation set: fitting measures reconstruction."""

    config: SingleImageDataParserConfig

    @cached_property
    def image(self) -> Float[Tensor, "H W C"]:
        """The image, once it is checked to be the one the run was trained on (else one line, exit 1)."""
        path, recorded = Path(self.config.data), self.config.data_sha256
        try:
            image = read_image(path)
        except ValueError as error:
            raise SystemExit(f"error: {readable(str(error))}") from None
        if recorded is not None and content_hash(path) != recorded:
            raise SystemExit(
                f"error: {readable(path)} is not the image this run was trained on (its content changed since "
                "ns-train); put the original back, or train a new run"
            )
        return image

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
