"""The command layer's entry: a tyro command line, every expected user error as one line."""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence, Type, TypeVar

import tyro
from rich.console import Console

from asmr_plugin.errors import MissingDependencyError
from asmr_plugin.io.files import readable
from asmr_plugin.training.interrupts import INTERRUPTED_STATUS, Interrupted, terminate_as_interrupt

Config = TypeVar("Config")


def describe(error: BaseException) -> str:
    """One line for an expected error: the message, or an OSError's reason and file."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)


def run_cli(
    config_class: Type[Config],
    run: Callable[[Config], Any],
    description: str | None,
    default: Config | None = None,
    args: Sequence[str] | None = None,
    prog: str | None = None,
) -> None:
    """Parse ``config_class`` from ``args`` (default: the command line) and ``run`` it (see ``run_config``)."""
    run_config(run, tyro.cli(config_class, prog=prog, description=description, default=default, args=args))


def run_config(run: Callable[[Config], Any], config: Config) -> None:
    """``run(config)`` as a command.

    Bad input or options (ValueError), a file that cannot be written or read (OSError) and a
    missing system library exit with ``error: ...`` and status 1; SIGINT or SIGTERM exits with
    status 130 after saying where the work was saved. Anything else is a bug and keeps its traceback.
    """
    try:
        with terminate_as_interrupt():
            run(config)
    except KeyboardInterrupt as interruption:
        saved = interruption.saved if isinstance(interruption, Interrupted) else None
        Console(stderr=True).print(f"interrupted{f'; {saved}' if saved else ''}", highlight=False)
        sys.exit(INTERRUPTED_STATUS)
    except (ValueError, OSError, MissingDependencyError) as error:
        sys.exit(readable(f"error: {describe(error)}"))  # file names that are not UTF-8 as \\xNN
