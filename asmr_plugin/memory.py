"""This machine's memory, and checks that what an option asks for fits in it."""

from __future__ import annotations

import os


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
