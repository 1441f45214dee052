"""This machine's memory, and checks that what an option asks for fits in it."""

from __future__ import annotations

import math
import os
from typing import Sequence


def memory_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(estimate: int, what: str, remedy: str | None = None) -> None:
    """A ValueError when ``what`` needs ``estimate`` bytes (at least), more than this machine's memory; ``remedy``
    says what to do instead."""
    if estimate > memory_bytes():
        raise ValueError(
            f"{what} needs at least {estimate / 2**30:,.0f} GiB, more than this machine's {memory_bytes() / 2**30:.0f} GiB"
            + (f"; {remedy}" if remedy else "")
        )


ACTIVATION_BYTES = 2 * 4
"""What a network's forward pass holds at least for each point and hidden unit: two float32 activations."""


def check_points_memory(points: int, width: int, what: str, remedy: str | None = None) -> None:
    """A ValueError when a forward pass over ``points`` through hidden layers of ``width`` would not fit in memory."""
    check_memory(ACTIVATION_BYTES * points * width, what, remedy)


IMAGE_FIT_BYTES_PER_VALUE = 140
"""What fitting an image holds at least per pixel and channel, with or without random batches (its full renders,
PSNR and SSIM), measured for ASMR, the most frugal network, on this project's CPU: asmr-fit image 146-265 bytes at
2048^2 and 4096^2 (SIREN: 1,600), ns-train asmr-image 165 at 2048^2."""


def check_render_memory(grid: Sequence[int], channels: int, what: str, remedy: str | None = None) -> None:
    """A ValueError when fitting a network by full renders of its ``grid`` (ASMR's is padded where its bases' product
    exceeds the image) would not fit in memory."""
    check_memory(IMAGE_FIT_BYTES_PER_VALUE * math.prod(grid) * channels, what, remedy)
