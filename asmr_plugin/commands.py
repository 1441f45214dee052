"""Console commands of a pip install: ``asmr-fit SIGNAL``, ``asmr-bench KIND``, ``asmr-count-macs``,
``asmr-export``, ``asmr-reproduce``, ``asmr-scene``, ``asmr-bake`` (the scripts in ``scripts/`` are the same commands)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Dict, Sequence, Tuple, Type, Union

import tyro

from asmr_plugin import export as export_module
from asmr_plugin.benchmarks import gpu, latency, training
from asmr_plugin.cli import run_cli, run_config
from asmr_plugin.fitting import audio, image, megapixel, meta, occupancy, video
from asmr_plugin.io import scenes
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

    def help(self, description: str | None = None) -> str | None:
        """``description`` (default: the entry's), and what ``--preset`` takes."""
        description = description or self.description
        if not self.presets:
            return description
        return f"{description}\n--preset {{{','.join(sorted(self.presets))}}} sets the defaults below."

    def preset(self, args: Sequence[str], prog: str | None = None) -> Tuple[Any, Sequence[str]]:
        """The options ``--preset NAME`` in ``args`` selects (None without one), and the other arguments."""
        if not self.presets:
            return None, args
        parser = argparse.ArgumentParser(prog=prog, add_help=False, allow_abbrev=False)
        parser.add_argument("--preset", choices=sorted(self.presets))
        known, rest = parser.parse_known_args(args)
        return (self.presets[known.preset] if known.preset else None), rest

    def subcommand(self, name: str, default: Any = None) -> Any:
        """This entry as tyro's subcommand ``name``, starting from ``default`` where given."""
        starts = {} if default is None else {"default": default}
        return Annotated[self.options, tyro.conf.subcommand(name, description=self.help(), **starts)]


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
SCENE = Entry(scenes.SceneConfig, scenes.run, scenes.SceneConfig.__doc__)
REPRODUCE = Entry(reproduce_run.ReproduceConfig, reproduce_run.main, reproduce_run.__doc__)


def run_entry(entry: Entry, args: Sequence[str], prog: str | None = None, description: str | None = None) -> None:
    """Parse ``args`` into the entry's options and run them (``--preset`` where the entry has presets); a script
    gives its own ``description``."""
    default, args = entry.preset(args, prog)
    run_cli(entry.options, entry.run, entry.help(description), default=default, args=args, prog=prog)


def dispatch(command: str, entries: Dict[str, Entry], description: str, args: Sequence[str] | None = None) -> None:
    """``command NAME [OPTIONS]``: tyro's subcommands, one per entry; the entry NAME runs."""
    args = list(sys.argv[1:] if args is None else args)
    if args and not args[0].startswith("-") and args[0] not in entries:
        sys.exit(f"error: unknown {command} command {args[0]!r}; choose one of {', '.join(entries)}")
    chosen = args[0] if args and args[0] in entries else None
    default, args = entries[chosen].preset(args, f"{command} {chosen}") if chosen else (None, args)
    subcommands = [entry.subcommand(name, default if name == chosen else None) for name, entry in entries.items()]
    config = tyro.cli(Union[tuple(subcommands)], prog=command, description=description, args=args)  # type: ignore
    run_config(next(entry.run for entry in entries.values() if type(config) is entry.options), config)


def fit(args: Sequence[str] | None = None) -> None:
    """``asmr-fit image|audio|video|megapixel|occupancy|meta [OPTIONS]``."""
    dispatch("asmr-fit", FITS, "Fit a signal with ASMR or a baseline network.", args)


def bench(args: Sequence[str] | None = None) -> None:
    """``asmr-bench latency|training|gpu [OPTIONS]``."""
    dispatch("asmr-bench", BENCHMARKS, "Measure inference latency, the training step, or everything on a GPU.", args)


def count_macs(args: Sequence[str] | None = None) -> None:
    """``asmr-count-macs [--json]``."""
    run_entry(COUNT_MACS, sys.argv[1:] if args is None else args, "asmr-count-macs")


def bake(args: Sequence[str] | None = None) -> None:
    """``asmr-bake --load-config CONFIG --out GRID.npz``."""
    from asmr_plugin.nerfstudio import bake as bake_module  # nerfstudio's import: only for this command

    entry = Entry(bake_module.BakeConfig, bake_module.run, bake_module.BakeConfig.__doc__)
    run_entry(entry, sys.argv[1:] if args is None else args, "asmr-bake")


def scene(args: Sequence[str] | None = None) -> None:
    """``asmr-scene --out DIR``."""
    run_entry(SCENE, sys.argv[1:] if args is None else args, "asmr-scene")


def export(args: Sequence[str] | None = None) -> None:
    """``asmr-export --checkpoint PT --out TS``."""
    run_entry(EXPORT, sys.argv[1:] if args is None else args, "asmr-export")


def reproduce(args: Sequence[str] | None = None) -> None:
    """``asmr-reproduce [--protocol paper|reduced|smoke] [--only ITEM ...]``."""
    run_entry(REPRODUCE, sys.argv[1:] if args is None else args, "asmr-reproduce")
