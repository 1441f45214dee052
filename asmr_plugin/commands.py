"""Console commands of a pip install: ``asmr-fit SIGNAL``, ``asmr-bench KIND``, ``asmr-count-macs``,
``asmr-export``, ``asmr-reproduce`` (the scripts in ``scripts/`` are the same commands)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Dict, Sequence, Tuple

from asmr_plugin.cli import run_cli

FITS: Dict[str, Tuple[str, str, str]] = {
    "image": ("asmr_plugin.fitting.image", "FitImageConfig", "run"),
    "audio": ("asmr_plugin.fitting.audio", "FitAudioConfig", "run"),
    "video": ("asmr_plugin.fitting.video", "FitVideoConfig", "run"),
    "megapixel": ("asmr_plugin.fitting.megapixel", "FitMegapixelConfig", "run"),
    "occupancy": ("asmr_plugin.fitting.occupancy", "FitOccupancyConfig", "run"),
    "meta": ("asmr_plugin.fitting.meta", "MetaLearnConfig", "run"),
}
"""``asmr-fit`` subcommands: the module, its options (a dataclass) and the function that runs them."""
BENCHMARKS: Dict[str, Tuple[str, str, str]] = {
    "latency": ("asmr_plugin.benchmarks.latency", "BenchConfig", "main"),
    "training": ("asmr_plugin.benchmarks.training", "BenchTrainingConfig", "main"),
    "gpu": ("asmr_plugin.benchmarks.gpu", "BenchGPUConfig", "main"),
}
"""``asmr-bench`` subcommands."""
COUNT_MACS = ("asmr_plugin.reproduce.paper_tables", "CountMacsConfig", "main")
EXPORT = ("asmr_plugin.export", "ExportConfig", "export")
REPRODUCE = ("asmr_plugin.reproduce.run", "ReproduceConfig", "main")


def run_entry(
    entry: Tuple[str, str, str], args: Sequence[str], prog: str | None = None, description: str | None = None
) -> None:
    """Parse ``args`` into the entry's options and run them (``--preset`` where the module has presets)."""
    module = importlib.import_module(entry[0])
    config_class, run = getattr(module, entry[1]), getattr(module, entry[2])
    default, presets = None, getattr(module, "PRESETS", None)
    description = description or module.__doc__
    if presets:
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--preset", choices=sorted(presets))
        known, args = parser.parse_known_args(args)
        default = presets[known.preset] if known.preset else None
        description += f"\n--preset {{{','.join(sorted(presets))}}} sets the defaults below."
    run_cli(config_class, run, description, default=default, args=args, prog=prog)


def dispatch(command: str, entries: Dict[str, Tuple[str, str, str]], args: Sequence[str] | None = None) -> None:
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
