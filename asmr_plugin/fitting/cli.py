"""The shared entry of the experiment scripts: a tyro command line, bad input as one clear line."""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence, Type, TypeVar

import tyro

Config = TypeVar("Config")


def run_cli(
    config_class: Type[Config],
    run: Callable[[Config], Any],
    description: str | None,
    default: Config | None = None,
    args: Sequence[str] | None = None,
) -> None:
    """Parse ``config_class`` from ``args`` (default: the command line) and ``run`` it; a ValueError
    exits with ``error: ...`` and status 1."""
    config = tyro.cli(config_class, description=description, default=default, args=args)
    try:
        run(config)
    except ValueError as error:
        sys.exit(f"error: {error}")
