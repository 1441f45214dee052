"""Datasets of small images, split into train and held-out test sets: a folder, CIFAR-10, LFW faces."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor

from asmr_plugin.io.images import image_files, load_image
from asmr_plugin.memory import check_memory

CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
CIFAR_SIDE = 32
CIFAR_FOLDER = "cifar-10-batches-py"


@dataclass
class ImageSet:
    """Square images ``[N, S, S, C]`` in [0, 1], split into train and held-out test images."""

    train: Float[Tensor, "N S S C"]
    test: Float[Tensor, "M S S C"]
    description: str


def check_set_memory(count: int, size: int, channels: int) -> None:
    """A ValueError naming ``--size`` when ``count`` images at ``size`` would not fit in memory (twice: resized and
    stacked)."""
    check_memory(
        2 * 4 * count * size * size * channels,
        f"--size {size}: a set of {count:,} images of {size}x{size}",
        "pass a smaller --size",
    )


def resize_square(images: Float[Tensor, "N H W C"], size: int) -> Float[Tensor, "N S S C"]:
    """Centre-crop each image to a square, then resize it to ``size`` (area average down, bicubic up)."""
    height, width = images.shape[1:3]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rearrange(images[:, top : top + side, left : left + side], "n h w c -> n c h w")
    if side != size:
        check_set_memory(images.shape[0], size, images.shape[-1])
        mode = "area" if side > size else "bicubic"
        square = torch.nn.functional.interpolate(square, size=(size, size), mode=mode).clamp(0, 1)
    return rearrange(square, "n c h w -> n h w c").contiguous()


def split(
    images: Float[Tensor, "N S S C"], test_fraction: float, seed: int
) -> tuple[Float[Tensor, "T S S C"], Float[Tensor, "M S S C"]]:
    """A seeded random split; at least one image on each side."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"--test-fraction must lie strictly between 0 and 1, got {test_fraction}")
    if images.shape[0] < 2:
        raise ValueError(f"a train/test split needs at least 2 images, got {images.shape[0]}")
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    test_count = min(max(round(test_fraction * images.shape[0]), 1), images.shape[0] - 1)
    return images[order[test_count:]], images[order[:test_count]]


def lfw_faces() -> Float[Tensor, "N 25 25 1"]:
    """scikit-image's LFW subset: 200 grey 25 x 25 crops (100 faces, 100 other patches)."""
    import skimage.data

    return rearrange(torch.from_numpy(skimage.data.lfw_subset()).float(), "n h w -> n h w 1")


def is_cifar_folder(folder: Path) -> bool:
    return (folder / CIFAR_TEST_BATCH).is_file() and any((folder / name).is_file() for name in CIFAR_TRAIN_BATCHES)


def read_cifar_batch(path: Path) -> Float[Tensor, "N 32 32 3"]:
    """One pickled batch of CIFAR-10's python version (``cifar-10-batches-py``). Unpickling can run
    code: point --data only at batches you trust (the official archive)."""
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        pixels = np.asarray(batch[b"data"], dtype=np.uint8)
        images = rearrange(pixels, "n (c h w) -> n h w c", c=3, h=CIFAR_SIDE, w=CIFAR_SIDE)
    except Exception as error:  # unpickling and reshaping raise many types for a damaged file
        raise ValueError(f"{path} is not a CIFAR-10 python batch (a pickle with b'data' [N, 3072]): {error}") from error
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0


def read_folder(folder: Path, size: int) -> Float[Tensor, "N S S C"]:
    """Every image of ``folder`` as a ``size`` square; grey images are repeated to RGB when the folder mixes them."""
    files, images = image_files(folder), []
    if len(files) < 2:
        raise ValueError(
            f"--data {folder} holds {len(files)} image; meta-learning splits them into train and test, 2 at least"
        )
    check_set_memory(len(files), size, 3)
    for path in files:
        image = load_image(path)
        if image.shape[-1] in (2, 4):
            raise ValueError(f"{path} has an alpha channel; meta-learning fits grey or RGB images, flatten it first")
        images.append(resize_square(image[None], size)[0])
    channels = max(image.shape[-1] for image in images)
    return torch.stack([image.expand(-1, -1, channels) for image in images])


def load_image_set(data: Path | None, size: int, test_fraction: float, seed: int) -> ImageSet:
    """The images of ``data``, resized to ``size`` squares and split.

    ``data`` is None (scikit-image's LFW subset), a CIFAR-10 ``cifar-10-batches-py`` folder or the
    folder holding it (its training batches and its test batch), or a folder of images (a seeded
    ``test_fraction`` split).
    """
    if data is None:
        train, test = split(resize_square(lfw_faces(), size), test_fraction, seed)
        return ImageSet(train, test, f"scikit-image lfw_subset (200 grey 25x25 crops resized to {size}x{size})")
    data = Path(data)
    if not data.is_dir():
        raise ValueError(f"--data {data} is not a folder (a folder of images or CIFAR-10's cifar-10-batches-py)")
    if not is_cifar_folder(data) and is_cifar_folder(data / CIFAR_FOLDER):
        data = data / CIFAR_FOLDER  # the folder the CIFAR-10 archive unpacks into
    if is_cifar_folder(data):
        train_batches = [read_cifar_batch(data / name) for name in CIFAR_TRAIN_BATCHES if (data / name).is_file()]
        train = resize_square(torch.cat(train_batches), size)
        test = resize_square(read_cifar_batch(data / CIFAR_TEST_BATCH), size)
        return ImageSet(train, test, f"CIFAR-10 {data} ({len(train_batches)} training batches, test_batch)")
    train, test = split(read_folder(data, size), test_fraction, seed)
    return ImageSet(train, test, f"{data} ({train.shape[0] + test.shape[0]} images at {size}x{size})")
