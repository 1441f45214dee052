"""Stopping a fit cleanly: SIGINT/SIGTERM finish the current step, save, and raise ``Interrupted``
saying where the work went."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator

from asmr_plugin.training.heap import TRIM_EVERY, release_free_heap

INTERRUPTED_STATUS = 128 + signal.SIGINT
"""Exit status of a run stopped by SIGINT or SIGTERM (the shell's 128 + SIGINT)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM; ``saved`` says where the work was saved, if anywhere."""

    def __init__(self, saved: str | None = None) -> None:
        super().__init__(saved)
        self.saved = saved


@contextmanager
def resume_hint(out: Path) -> Iterator[None]:
    """An ``Interrupted`` that saved work leaves the block saying how to continue the run in ``out``."""
    try:
        yield
    except Interrupted as stop:
        if stop.saved is None:
            raise
        raise Interrupted(f"{stop.saved}; continue with --resume --out {out}") from None


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt inside the block, as Ctrl-C does, so work can be saved."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def stop_requests() -> Iterator[Callable[[], bool]]:
    """Within the block the first SIGINT or SIGTERM is only noted, so a loop can finish its step,
    save and stop; a second one interrupts at once. Yields whether a stop was requested."""
    if threading.current_thread() is not threading.main_thread():  # signals reach only the main thread
        yield lambda: False
        return
    requested = threading.Event()

    def note(signum: int, frame: Any) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = {number: signal.signal(number, note) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested.is_set
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def after_each_step(
    save: Callable[[int], str] | None, every: int, total: int, on_signals: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yields ``after_step(finished)`` for a loop of ``total`` steps: it calls ``save(finished)``
    every ``every`` steps and after the last (so a failure after training loses no step) and, when SIGINT/SIGTERM asked to stop (``on_signals``), saves and raises
    ``Interrupted`` saying where (``save`` returns where it saved; None saves nothing); every
    ``TRIM_EVERY`` steps it gives the freed heap back (see ``heap``)."""
    with stop_requests() if on_signals else nullcontext(lambda: False) as stop_requested:

        def after_step(finished: int) -> None:
            if stop_requested():
                raise Interrupted(save(finished) if save is not None else None)
            if save is not None and (finished % every == 0 or finished == total):
                save(finished)
            if finished % TRIM_EVERY == 0:
                release_free_heap()

        yield after_step
