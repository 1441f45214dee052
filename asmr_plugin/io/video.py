"""Videos as float grids ``[T, H, W, C]`` in [0, 1]: a folder of frames, a GIF, or MP4/AVI (pyav); and back."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Tuple

import imageio.v3 as iio
import numpy as np
import torch
from einops import rearrange, repeat
from jaxtyping import Float
from PIL import Image
from torch import Tensor

from asmr_plugin.io.files import atomic_path, check_input, visible_files
from asmr_plugin.io.images import load_image
from asmr_plugin.memory import check_memory

FRAME_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"}
FRAME_COPIES = 3
"""Float copies of the frames a fit holds at least: the frames read, the video and its flattened pixels."""
MAX_FPS = {".gif": 100, ".mp4": 1000}
"""The highest frame rate written: GIF stores frame delays in hundredths of a second; H.264 in pyav refuses rates
above about 87,000, and no display shows more than a few hundred."""


def check_frame_rate(fps: int, suffix: str) -> None:
    """A ValueError naming ``--fps`` when a video of ``suffix`` cannot be written at ``fps`` frames per second."""
    if not 1 <= fps <= MAX_FPS[suffix]:
        raise ValueError(f"--fps {fps}: {suffix[1:].upper()} videos take 1 to {MAX_FPS[suffix]} frames per second")


def natural_order(path: Path) -> Tuple[Any, ...]:
    """Sort key of file names with their numbers compared as numbers: frame2 before frame10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", path.name))


def _read_frames(path: Path, stride: int, frames: int | None) -> Iterator[Float[np.ndarray, "H W C"]]:
    """Every ``stride``-th frame in [0, 1], at most ``frames``, decoded one at a time (nothing beyond is read)."""
    kept = slice(None, None if frames is None else (frames - 1) * stride + 1, stride)
    if path.is_dir():
        files = sorted(visible_files(path, FRAME_SUFFIXES), key=natural_order)
        yield from (load_image(file).numpy() for file in files[kept])
        return
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"--data {path}: expected a folder of frames or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
    try:
        decoded = iio.imiter(path, plugin="pillow" if path.suffix.lower() == ".gif" else "pyav")
        for frame in islice(decoded, kept.start, kept.stop, kept.step):
            yield (frame[..., None] if frame.ndim == 2 else frame).astype(np.float32) / 255
    except Exception as error:  # imageio and av raise many types for damaged files
        raise ValueError(f"{path} is not a readable video: {error}") from error


def load_video(
    path: Path, frames: int | None = None, stride: int = 1, resize: Tuple[int, int] | None = None
) -> Float[Tensor, "T H W C"]:
    """Every ``stride``-th frame (at most ``frames`` of them), optionally resized to ``resize`` = (H, W)."""
    path = check_input(Path(path))
    if stride < 1 or (frames is not None and frames < 1):
        raise ValueError(f"--stride and --frames must be positive, got {stride} and {frames}")
    read, kept_bytes = [], 0
    for frame in _read_frames(path, stride, frames):
        read.append(frame if resize is None else _resized(frame, resize))
        kept_bytes += read[-1].nbytes
        check_memory(
            FRAME_COPIES * kept_bytes,
            f"--data {path}: fitting the first {len(read):,} frames ({read[-1].shape[0]}x{read[-1].shape[1]})",
            "pass --frames, --stride or --resize",
        )
    if not read:
        raise ValueError(f"--data {path} holds no frames")
    channels = {frame.shape[-1] for frame in read}
    if channels == {1, 3}:  # grey frames among colour ones
        read = [np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame for frame in read]
    elif len(channels) != 1:
        raise ValueError(
            f"--data {path}: frames differ in channels ({sorted(channels)}: grey, grey + alpha, RGB, RGBA); "
            "save them in one mode"
        )
    sizes = {frame.shape[:2] for frame in read}
    if len(sizes) != 1:
        raise ValueError(f"--data {path}: frames differ in size ({sorted(sizes)}); pass --resize H W")
    return torch.from_numpy(np.stack(read).astype(np.float32, copy=False))


def _resized(frame: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    pixels = (frame * 255).round().astype(np.uint8)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    resized = np.asarray(image.resize((size[1], size[0]), Image.Resampling.LANCZOS), dtype=np.float32) / 255
    return resized[..., None] if resized.ndim == 2 else resized


def pan_across_chelsea(
    frames: int = 24, height: int = 128, width: int = 160, step: int = 12
) -> Float[Tensor, "T H W 3"]:
    """A short default video: a window panning across the ``chelsea`` cat photo that scikit-image ships."""
    import skimage.data

    cat = torch.from_numpy(skimage.data.chelsea().astype(np.float32) / 255)  # 300 x 451
    top = (cat.shape[0] - height) // 2
    if (frames - 1) * step + width > cat.shape[1]:
        raise ValueError(f"a pan of {frames} frames of width {width} by {step} pixels does not fit the 451-pixel photo")
    return torch.stack([cat[top : top + height, t * step : t * step + width] for t in range(frames)])


def default_video(
    frames: int | None = None, stride: int = 1, resize: Tuple[int, int] | None = None
) -> Float[Tensor, "T H W 3"]:
    """The pan across chelsea with ``load_video``'s frame selection and resizing."""
    clip = pan_across_chelsea()[::stride][:frames]
    if resize is None:
        return clip
    return torch.from_numpy(np.stack([_resized(frame.numpy(), resize) for frame in clip]))


def save_video(path: Path, video: Float[Tensor, "T H W C"], fps: int = 10) -> None:
    """MP4 (H.264 via pyav) or GIF, by the suffix of ``path``, written atomically; grey (+ alpha) becomes RGB, alpha
    is dropped. H.264 needs even sizes: an MP4 of odd height or width repeats the last row or column once."""
    check_frame_rate(fps, ".gif" if path.suffix.lower() == ".gif" else ".mp4")
    frames = (video.clamp(0, 1) * 255).round().to(torch.uint8)
    frames = repeat(frames[..., :1], "t h w 1 -> t h w 3") if frames.shape[-1] <= 2 else frames[..., :3]
    frames = frames.cpu().numpy()
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".gif":
            iio.imwrite(temporary, frames, plugin="pillow", duration=1000 // fps, loop=0)
        else:
            padding = ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0))
            iio.imwrite(temporary, np.pad(frames, padding, mode="edge"), plugin="pyav", codec="libx264", fps=fps)


def side_by_side(target: Float[Tensor, "H W C"], reconstruction: Float[Tensor, "H W C"]) -> Float[Tensor, "H W2 C"]:
    """The target frame and its reconstruction next to each other."""
    return rearrange([target, reconstruction.clamp(0, 1)], "n h w c -> h (n w) c")
