"""Image files as float grids ``[H, W, C]`` in [0, 1], and back."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import cv2
import numpy as np
import torch
from einops import rearrange
from jaxtyping import Float
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from asmr_plugin.io.files import atomic_path, visible_files
from asmr_plugin.memory import check_memory


def default_image() -> Path:
    """The Cameraman photo (512 x 512, grey) that scikit-image ships, used by the paper's Table 2."""
    import skimage.data

    return Path(skimage.data.__file__).parent / "camera.png"


PNG_GREY_ALPHA = 4
"""The colour type of a grey + alpha PNG (its IHDR chunk's byte 25)."""


def _png_colour_type(path: Path) -> int | None:
    with open(path, "rb") as handle:
        header = handle.read(26)
    return header[25] if len(header) == 26 and header.startswith(b"\x89PNG\r\n\x1a\n") else None


def _sixteen_bit_colour(path: Path) -> np.ndarray | None:
    """Pixels of a 16-bit RGB(A) or grey + alpha file, which Pillow would truncate to 8 bits (and turn grey + alpha
    into RGBA); else None."""
    encoded = np.fromfile(path, dtype=np.uint8)  # Python opens any name (cv2.imread crashes on non-UTF-8 ones)
    pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if encoded.size else None
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    if pixels.shape[-1] == 4 and _png_colour_type(path) == PNG_GREY_ALPHA:  # OpenCV reads it as BGRA with B = G = R
        return pixels[..., [0, 3]]
    return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[-1] == 4 else cv2.COLOR_BGR2RGB)


def _to_unit_range(image: Image.Image, path: Path) -> np.ndarray:
    """Pixels of a Pillow image as float32 ``[H, W, C]`` in [0, 1]."""
    mode = image.mode
    if mode == "1":
        return np.asarray(image, dtype=np.float32)[..., None]
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return _to_unit_range(image.convert("RGBA" if has_alpha else "RGB"), path)
    if mode in ("L", "LA", "RGB", "RGBA"):
        pixels = np.asarray(image, dtype=np.float32) / 255.0
    elif mode.startswith("I;16") or mode == "I":
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.min() < 0 or pixels.max() > 65535:
            raise ValueError(f"{path}: 32-bit integer pixels outside the 16-bit range are not supported")
        pixels = pixels / 65535.0
    elif mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.min() < 0 or pixels.max() > 1:
            raise ValueError(
                f"{path}: floating-point pixels must lie in [0, 1], found [{pixels.min()}, {pixels.max()}]"
            )
    else:  # CMYK, YCbCr, LAB, HSV
        return _to_unit_range(image.convert("RGB"), path)
    return pixels if pixels.ndim == 3 else pixels[..., None]


@contextmanager
def larger_than_pillows_limit() -> Iterator[None]:
    """Pillow refuses images of more than 179M pixels as possible decompression bombs; a file of this machine's user
    is read whatever its size, as long as it fits in memory (``load_image`` checks)."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def load_image(path: Path) -> Float[Tensor, "H W C"]:
    """Read a PNG, JPEG, TIFF (or any format Pillow knows) as float32 ``[H, W, C]`` in [0, 1].

    Channels are kept as stored: grey 1, grey + alpha 2, RGB 3, RGBA 4; palette images are
    expanded to RGB(A); 8-bit values are divided by 255 and 16-bit values by 65535. JPEG EXIF
    orientation is applied. Multi-frame files give their first frame.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image {path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise ValueError(f"image {path} is empty (0 bytes)")
    try:
        with larger_than_pillows_limit(), Image.open(path) as image:  # only the header is read here
            check_memory(  # the decoded bytes and their float32 copy
                5 * image.width * image.height * len(image.getbands()),
                f"image {path} ({image.width}x{image.height}, {len(image.getbands())} channel(s))",
            )
            image.load()
            oriented = ImageOps.exif_transpose(image)
            colour16 = _sixteen_bit_colour(path) if oriented.mode in ("RGB", "RGBA") else None
            pixels = colour16.astype(np.float32) / 65535.0 if colour16 is not None else _to_unit_range(oriented, path)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path} is not a readable image (PNG, JPEG, TIFF, ...): {error}") from error
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"image {path} has no pixels ({pixels.shape[1]} x {pixels.shape[0]})")
    if not np.isfinite(pixels).all():
        raise ValueError(f"image {path} holds non-finite pixel values (NaN or infinity)")
    return torch.from_numpy(np.array(pixels, order="C", copy=not pixels.flags.writeable))  # Pillow's may be read-only


def save_image(path: Path, image: Float[Tensor, "H W C"]) -> None:
    """Write ``[H, W, C]`` values in [0, 1] (clamped) as an 8-bit PNG, atomically."""
    channels = image.shape[-1]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"cannot save an image with {channels} channels as PNG (1-4 channels)")
    pixels = (image.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    if channels == 1:
        pixels = rearrange(pixels, "h w 1 -> h w")
    with atomic_path(path) as temporary:
        Image.fromarray(pixels).save(temporary, format="PNG")


def image_files(folder: Path) -> List[Path]:
    """The images in ``folder`` (not recursive, hidden files skipped), sorted by name."""
    files = visible_files(folder, Image.registered_extensions())
    if not files:
        raise ValueError(f"--data {folder} holds no image files (any format Pillow reads: .png, .jpg, .tif, ...)")
    return files
