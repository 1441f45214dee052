"""Console commands of a pip install: ``asmr-fit SIGNAL``, ``asmr-bench KIND``, ``asmr-count-macs``,
``asmr-export``, ``asmr-reproduce`` (the scripts in ``scripts/`` are the same commands)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Sequence, Type

from asmr_plugin import export as export_module
from asmr_plugin.benchmarks import gpu, latency, training
from asmr_plugin.cli import run_cli
from asmr_plugin.fitting import audio, image, megapixel, meta, occupancy, video
from asmr_plugin.reproduce import paper_tables
from asmr_plugin.reproduce import run as reproduce_run


@dataclass(frozen=True)
class Entry:
    """One command: its options (a dataclass parsed by tyro), the function that runs them, its help text and the
    presets of its ``--preset``."""

    options: Type[Any]
    run: Callable[[Any], Any]
    description: str | None
    presets: Dict[str, Any] | None = None


FITS: Dict[str, Entry] = {
    "image": Entry(image.FitImageConfig, image.run, image.__doc__, image.PRESETS),
    "audio": Entry(audio.FitAudioConfig, audio.run, audio.__doc__),
    "video": Entry(video.FitVideoConfig, video.run, video.__doc__),
    "megapixel": Entry(megapixel.FitMegapixelConfig, megapixel.run, megapixel.__doc__),
    "occupancy": Entry(occupancy.FitOccupancyConfig, occupancy.run, occupancy.__doc__),
    "meta": Entry(meta.MetaLearnConfig, meta.run, meta.__doc__),
}
"""``asmr-fit`` subcommands."""
BENCHMARKS: Dict[str, Entry] = {
    "latency": Entry(latency.BenchConfig, latency.main, latency.__doc__),
    "training": Entry(training.BenchTrainingConfig, training.main, training.__doc__),
    "gpu": Entry(gpu.BenchGPUConfig, gpu.main, gpu.__doc__),
}
"""``asmr-bench`` subcommands."""
COUNT_MACS = Entry(paper_tables.CountMacsConfig, paper_tables.main, paper_tables.__doc__)
EXPORT = Entry(export_module.ExportConfig, export_module.export, export_module.__doc__)
REPRODUCE = Entry(reproduce_run.ReproduceConfig, reproduce_run.main, reproduce_run.__doc__)


def run_entry(entry: Entry, args: Sequence[str], prog: str | None = None, description: str | None = None) -> None:
    """Parse ``args`` into the entry's options and run them (``--preset`` where the entry has presets)."""
    default, description = None, description or entry.description
    if entry.presets:
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--preset", choices=sorted(entry.presets))
        known, args = parser.parse_known_args(args)
        default = entry.presets[known.preset] if known.preset else None
        description += f"\n--preset {{{','.join(sorted(entry.presets))}}} sets the defaults below."
    run_cli(entry.options, entry.run, description, default=default, args=args, prog=prog)


def dispatch(command: str, entries: Dict[str, Entry], args: Sequence[str] | None = None) -> None:
    """``command NAME [OPTIONS]``: run the entry NAME; a usage line for anything else."""
    args = list(sys.argv[1:] if args is None else args)
    usage = f"usage: {command} {{{','.join(entries)}}} [OPTIONS]   ({command} NAME --help for the options)"
    if not args or args[0] in ("-h", "--help"):
        print(usage)
        sys.exit(0 if args else 2)
    if args[0] not in entries:
        sys.exit(f"{usage}\nerror: unknown {command} command {args[0]!r}")
    run_entry(entries[args[0]], args[1:], f"{command} {args[0]}")


def fit(args: Sequence[str] | None = None) -> None:
    """``asmr-fit image|audio|video|megapixel|occupancy|meta [OPTIONS]``."""
    dispatch("asmr-fit", FITS, args)


def bench(args: Sequence[str] | None = None) -> None:
    """``asmr-bench latency|training|gpu [OPTIONS]``."""
    dispatch("asmr-bench", BENCHMARKS, args)


def count_macs(args: Sequence[str] | None = None) -> None:
    """``asmr-count-macs [--json]``."""
    run_entry(COUNT_MACS, sys.argv[1:] if args is None else args, "asmr-count-macs")


def export(args: Sequence[str] | None = None) -> None:
    """``asmr-export --checkpoint PT --out TS``."""
    run_entry(EXPORT, sys.argv[1:] if args is None else args, "asmr-export")


def reproduce(args: Sequence[str] | None = None) -> None:
    """``asmr-reproduce [--protocol paper|reduced|smoke] [--only ITEM ...]``."""
    run_entry(REPRODUCE, sys.argv[1:] if args is None else args, "asmr-reproduce")
