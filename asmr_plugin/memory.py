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
