"""``asmr-reproduce``: run the chosen items and write docs/results/<item>.md/.json/.png and the index."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch
from rich.console import Console

from asmr_plugin.fields.initialization import INITS
from asmr_plugin.io.files import atomic_path, save_figure, write_json
from asmr_plugin.reproduce import claims, figures, fits, headline, study, wallclock
from asmr_plugin.reproduce.protocol import Context, Outcome, Protocol, markdown_table
from asmr_plugin.training.distributed import resolve_device

KODAK_NAMES = tuple(f"kodim{index:02d}.png" for index in range(1, 25))
"""The files --kodak must hold: the 24 images of the paper's Table 3."""


@dataclass(frozen=True)
class Item:
    title: str
    run: Callable[[Context], Outcome]
    claim: str
    """What the paper claims with this item, and how much of it the REDUCED protocol can test."""
    needs_kodak: bool = False
    after: tuple[str, ...] = ()
    """Items whose fits this one reuses: with --jobs it starts once they are done (when they run too)."""
    short_of: str = ""
    """Why a reduced run can fall short of the claim (what a study measured), shown beside a verdict other than
    "confirms"."""


ITEMS: dict[str, Item] = {
    "table2": Item(
        "Table 2: ultra-low-MAC fits of Cameraman",
        fits.table2,
        "ASMR (4) above SIREN (3)/(4), KiloNeRF and LoE at about 1% of SIREN's MACs. Tested at 128×128 with every "
        "width /4 (the paper's parameters per pixel), bases chosen for 128 (docs/studies/bases.md), at equal steps but "
        "2K instead of 10K",
    ),
    "table3": Item(
        "Table 3: the Kodak images",
        fits.table3,
        "ASMR above FFN, SIREN, MFN and WIRE on Kodak. Tested against FFN and SIREN on 3 images at 128×192, each "
        "network at the paper's parameters per pixel, 2K steps",
        needs_kodak=True,
        short_of="at 128 px and the paper's parameters per pixel SIREN fits colour photographs better than ASMR: in the "
        "[scale study](../studies/scale.md) ASMR is 1.8 dB under SIREN on four Kodak images at 85×128, level with it "
        "at 170×256 (+0.04 dB) and ahead at the paper's 512×768 (+0.7 dB); SIREN at 512×768 takes GPU-hours here. Not for "
        "lack of steps: at the paper's 10K steps the same kodim03 fits end at SIREN 36.80, ASMR 32.58 dB (2K: 33.50 "
        "and 30.03; one seed, scripts/studies/table3_steps.py)",
    ),
    "table4": Item(
        "Table 4: audio",
        fits.table4,
        "ASMR far above SIREN, KiloNeRF and Instant-NGP on audio. Tested on the paper's 2 s (about one parameter per "
        "sample) of a generated clip, 2K steps",
    ),
    "table5": Item(
        "Table 5: a megapixel image",
        fits.table5,
        "ASMR near Instant-NGP and above SIREN and KiloNeRF on a megapixel image. Weakly: retina (1411²), 4 epochs of "
        "8,192-pixel batches, ASMR and SIREN at width 128 (the paper: 512 on 8192²)",
        short_of="970 steps where the paper takes 500 epochs; ASMR gains most from steps (in the same 4 epochs, "
        "121 steps of 65,536 pixels: ASMR 17.1 dB, SIREN 30.9; 970 of 8,192: 29.7 and 35.9, measured on this "
        "machine), as on video ([video study](../studies/video.md)); a longer schedule was not run",
    ),
    "table6": Item(
        "Table 6: 3-D occupancy",
        fits.table6,
        "ASMR's IoU equal to SIREN's at a fraction of the MACs. Tested on 3 generated shapes at 64³, 20 epochs",
    ),
    "table10": Item(
        "Table 10: video",
        fits.table10,
        "ASMR above KiloNeRF, below SIREN on video (3.1 dB). Tested on a 24-frame 128×160 pan, 10 epochs of "
        "8,192-pixel batches, every width /4 (KiloNeRF on the paper's 16×16 tiles of the frame)",
        short_of="600 steps where the paper takes about 100,000: the gap narrows with steps ([video study]"
        "(../studies/video.md): 6.2 dB at 150 steps, 3.7 at 600, 3.4 at 4× the epochs)",
    ),
    "fig2": Item(
        "Fig. 2: MACs against parameters (Table 7 configurations, analytic)",
        figures.fig2,
        "ASMR's MACs nearly flat in its parameters. Exact (analytic counts, no training)",
    ),
    "fig3": Item(
        "Fig. 3: MAC-PSNR of KiloNeRF, LoE and ASMR at 3-7 layers (Table 9)",
        figures.fig3,
        "ASMR's PSNR rises with depth at nearly constant MACs. Tested on Cameraman at 300 steps per network",
    ),
    "fig5": Item(
        "Fig. 5: meta-learned ASMR and Instant-NGP",
        fits.fig5,
        "A meta-learned ASMR fits new images in 3 steps (no number in the paper). Tested on LFW 32×32, 150 outer steps",
    ),
    "fig7": Item(
        "Fig. 7: early reconstructions of ASMR and SIREN",
        figures.fig7,
        "ASMR converges faster than SIREN. Tested on Cameraman at 128×128, both initializations",
    ),
    "fig8": Item(
        "Fig. 8: one hidden unit of a 3-layer ASMR at each layer's resolution",
        figures.fig8,
        "Each layer's units live on that layer's grid. Exact (the maps are by construction), after 500 steps",
    ),
    "fig9": Item(
        "Fig. 9: Kodak crops of ASMR, SIREN and KiloNeRF with error maps",
        figures.fig9,
        "ASMR's errors smaller and less blocky than SIREN's and KiloNeRF's. Qualitatively, on the reduced Table 3 fits",
        needs_kodak=True,
        after=("table3",),
    ),
    "study": Item(
        "ASMR's start: how the output layer is initialized",
        study.study,
        "Not in the paper: which initialization starts fast and ends high (this package's default). Reduced: seed 0, "
        "1K-step schedules",
    ),
    "wallclock": Item(
        "Beyond the paper: PSNR against seconds of training, Cameraman",
        wallclock.wallclock,
        "Not in the paper: what the cheap step buys in time on the machine at hand. Reduced: 45 s per network",
    ),
}
ItemName = Literal[
    "table2", "table3", "table4", "table5", "table6", "table10", "fig2", "fig3", "fig5", "fig7", "fig8", "fig9", "study",
    "wallclock",
]  # fmt: skip
"""The names of ``ITEMS``, for --only (a test holds the two equal)."""


@dataclass
class ReproduceConfig:
    """Re-run the paper's tables and figures (and the bases/learning-rate study) into docs/results."""

    protocol: Protocol = "reduced"
    """paper: the paper's protocols (GPU-hours for the ~130K-MAC baselines); reduced: every item on 2 CPU cores in
    about an hour (--jobs 2), each file saying what was reduced; smoke: seconds per item, for tests (numbers meaningless)."""
    only: tuple[ItemName, ...] = ()
    """Items to run (default: all)."""
    out: Path = Path("docs/results")
    """Where <item>.md/.json/.png and the index README.md go."""
    work: Path = Path("outputs/reproduce")
    """Scratch folder for the fits (per commit and protocol; fits shared by items are reused)."""
    kodak: Path | None = None
    """Folder of the 24 Kodak PNGs (Table 3, Fig. 9; skipped without it)."""
    device: str | None = None
    """Torch device. Default: cuda when available, else cpu."""
    overwrite: bool = False
    """Re-run items already written for this commit and protocol."""
    readme: Path | None = Path("README.md")
    """The front page whose results block (between its markers) is rewritten from --out's records after the run;
    None: none. A file without the block, or one whose folder does not hold --out, is left alone, with a note."""
    progress: bool = True
    """Show progress bars (not with --jobs above 1)."""
    jobs: int = 1
    """Items run at once, each in its own process with this machine's threads shared among them (2 on 2 cores: one
    thread per item, the longest items first). Each record names the threads its item had."""

    def check_options(self) -> None:
        resolve_device(self.device)
        if not 1 <= self.jobs <= 64:
            raise ValueError(f"--jobs must be 1 to 64 items at once, got {self.jobs}")
        if self.kodak is not None and not Path(self.kodak).is_dir():
            raise ValueError(f"--kodak {self.kodak} is not a folder")
        if self.kodak is not None:
            missing = [name for name in KODAK_NAMES if not (Path(self.kodak) / name).is_file()]
            if missing:
                raise ValueError(
                    f"--kodak {self.kodak} lacks {len(missing)} of the 24 Kodak images the paper's numbers are of "
                    f"(kodim01.png .. kodim24.png): {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
                )
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"--out {self.out} is not a folder")
        if self.readme is not None and Path(self.readme).exists() and not Path(self.readme).is_file():
            raise ValueError(f"--readme {self.readme} is not a file")


def commit() -> str:
    """The checkout's commit (short), '+modified' when the package differs from it; 'unknown' outside git."""
    package = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=package, capture_output=True, text=True, check=True
        )
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=package, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+modified" if changed.stdout.strip() else "")


def device_name(device: str | None) -> str:
    resolved = torch.device(resolve_device(device))
    if resolved.type == "cuda":
        return torch.cuda.get_device_name(resolved)
    return f"cpu ({torch.get_num_threads()} threads)"


def skip_reason(config: ReproduceConfig, name: str, revision: str) -> str | None:
    """Why ``name`` is not run now, or None."""
    if ITEMS[name].needs_kodak and config.kodak is None:
        return "needs the Kodak images (--kodak DIR)"
    record = config.out / f"{name}.json"
    if config.overwrite or not record.is_file() or revision.endswith("+modified") or revision == "unknown":
        return None
    written = json.loads(record.read_text())
    if written.get("commit") == revision and written.get("protocol") == config.protocol:
        return f"already written for commit {revision} and protocol {config.protocol} (--overwrite to re-run)"
    return None


def write_item(config: ReproduceConfig, name: str, outcome: Outcome, record: dict[str, Any]) -> None:
    """<name>.png, <name>.json, then <name>.md (each atomically; the .md last, so it names files that exist)."""
    out = config.out
    picture = None
    if outcome.figure is not None:
        picture = out / f"{name}.png"
        if isinstance(outcome.figure, Path):
            with atomic_path(picture) as temporary:
                shutil.copyfile(outcome.figure, temporary)
        else:
            save_figure(picture, outcome.figure, dpi=110)
    write_json(out / f"{name}.json", {**record, "data": outcome.data})
    if config.protocol == "paper" or not outcome.reduced:
        protocol_line = "the paper's" + (
            "" if config.protocol == "paper" else f" (nothing to reduce: the same under --protocol {config.protocol})"
        )
    else:
        protocol_line = f"**{config.protocol.upper()}** ({outcome.reduced})"
    lines = [
        f"# {ITEMS[name].title}",
        "",
        f"Protocol: {protocol_line}. Commit {record['commit']}, {record['device']}, torch {record['torch']}, "
        f"{record['seconds']:.0f} s. Written by `asmr-reproduce --protocol {config.protocol} --only {name}`.",
        "",
        f"Output layers: `--init {record['output_init']}`, {INITS[record['output_init']].description} (every network "
        "with an output bias).",
        "",
        outcome.body,
        "",
        f"Ours against the paper: {outcome.comparison}.",
    ]
    if picture is not None:
        lines += ["", f"![{ITEMS[name].title}]({picture.name})"]
    with atomic_path(out / f"{name}.md") as temporary:
        temporary.write_text("\n".join(lines) + "\n")


def write_index(config: ReproduceConfig, skipped: dict[str, str]) -> None:
    """docs/results/README.md: one row per item, from the records on disk (items of earlier runs included), and
    the runs of ``runs.json``."""
    rows = []
    seconds: dict[str, float] = {}
    for name, item in ITEMS.items():
        path = config.out / f"{name}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            seconds[record["protocol"]] = seconds.get(record["protocol"], 0.0) + record["seconds"]
            verdict, why = claims.verdict(name, record["data"])
            if verdict != "confirms" and item.short_of and record["protocol"] != "paper":
                why += f". Why a reduced run falls short: {item.short_of}"
            rows.append(
                [
                    f"[{name}]({name}.md)",
                    item.title,
                    item.claim,
                    f"**{verdict}**: {why}",
                    record["protocol"],
                    record.get("output_init", "paper"),
                    record["commit"],
                    record["device"],
                    record["torch"],
                    f"{record['seconds']:.0f} s",
                    record["comparison"],
                ]
            )
        else:
            not_written = f"not written: {skipped.get(name, 'not run yet')}"
            rows.append([name, item.title, item.claim, "–", "–", "–", "–", "–", "–", "–", not_written])
    text = (
        "# Results, re-run by `asmr-reproduce`\n\n"
        "Each item's file says its protocol (REDUCED or SMOKE protocols say what they reduced), the commit, device and "
        "torch it ran with, and sets our numbers beside the paper's. `--protocol paper` trains every network as the "
        "paper does (`--init paper`); the REDUCED protocol starts every network's output layer at the signal's mean "
        "(`--init mean`, this package's default, see the study item), gives every network of an item the same steps, "
        "and shrinks the networks with the images they fit (to the paper's parameters per pixel), so that its "
        "numbers test the paper's claims rather than a slow start or memorization. The claim column says, per item, "
        "what the paper claims and how much of it a REDUCED run can test; the next says whether our numbers confirm "
        "it, contradict it, or cannot test it, computed from the record (`asmr_plugin/reproduce/claims.py`). Beyond "
        "the paper, every table written since the dense-grid baseline has a row for a grid of values at ASMR's "
        "parameters and a column of parameters per sample (params / (samples x channels); near 1 a network can store "
        "the signal instead of compressing it): the verdicts test the paper's claims and report the grid beside "
        "them ([the grid study](../studies/grid-baseline.md)).\n\n"
        + markdown_table(
            [
                "item",
                "what",
                "claim, and what a REDUCED run tests",
                "our numbers",
                "protocol",
                "init",
                "commit",
                "device",
                "torch",
                "wall time",
                "ours against the paper",
            ],
            rows,
        )
        + "\n\n"
        + "Wall time of the items, added up per protocol (each item as recorded, on its own device): "
        + ", ".join(f"{protocol} {total / 60:.0f} minutes" for protocol, total in sorted(seconds.items()))
        + ".\n"
        + runs_section(config.out)
    )
    with atomic_path(config.out / "README.md") as temporary:
        temporary.write_text(text)


@dataclass(frozen=True)
class Run:
    """One invocation of asmr-reproduce that ran items, and its wall time (items run with --jobs overlap, so their
    seconds add to more)."""

    commit: str
    protocol: str
    items: list[str]
    jobs: int
    seconds: float
    note: str = ""

    def text(self) -> str:
        return (
            f"asmr-reproduce --protocol {self.protocol}: {len(self.items)} items ({', '.join(self.items)}), "
            f"{self.jobs} at a time, {self.seconds / 60:.0f} minutes wall."
        )


RUNS = "runs.json"
"""The log of runs in --out, newest last: a partial re-run does not hide the wall time of the last complete one."""


def read_runs(out: Path) -> list[Run]:
    """The runs logged in ``out``; a ValueError naming the file when it is not a list of runs."""
    path = out / RUNS
    if not path.is_file():
        return []
    try:
        return [Run(**entry) for entry in json.loads(path.read_text())]
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{path}: expected a JSON list of runs as asmr-reproduce writes them ({error})") from None


def log_run(out: Path, run: Run) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / RUNS, [dataclasses.asdict(logged) for logged in [*read_runs(out), run]])


def runs_section(out: Path) -> str:
    """The runs of ``runs.json``, newest first; the last one per protocol that ran every item is named."""
    runs = read_runs(out)
    if not runs:
        return ""
    complete = {run.protocol: run for run in runs if set(run.items) >= set(ITEMS)}
    lines = [
        "",
        "## Runs",
        "",
        *(
            f"The last run of every item, {protocol}: commit {run.commit}, {run.jobs} at a time, "
            f"{run.seconds / 60:.0f} minutes wall."
            for protocol, run in sorted(complete.items())
        ),
        "",
        markdown_table(
            ["commit", "protocol", "items", "at a time", "wall", "note"],
            [
                [run.commit, run.protocol, ", ".join(run.items), run.jobs, f"{run.seconds / 60:.0f} min", run.note]
                for run in reversed(runs)
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def run_item(config: ReproduceConfig, name: str, revision: str, console: Console) -> dict[str, Any]:
    """Run item ``name`` and write its files; returns its record."""
    work = config.work / f"{revision}-{config.protocol}"
    context = Context(config.protocol, config.device, work, config.kodak, console, config.progress)
    start = time.perf_counter()
    outcome = ITEMS[name].run(context)
    record = {
        "item": name,
        "title": ITEMS[name].title,
        "protocol": config.protocol,
        "reduced": outcome.reduced,
        "commit": revision,
        "device": device_name(config.device),
        "torch": torch.__version__,
        "seconds": time.perf_counter() - start,
        "output_init": context.init,
        "comparison": outcome.comparison,
    }
    write_item(config, name, outcome, record)
    return record


def run_item_in_worker(config: ReproduceConfig, name: str, revision: str, threads: int) -> dict[str, Any]:
    """``run_item`` in a worker process of ``threads`` threads, printing without progress bars."""
    torch.set_num_threads(threads)
    return run_item(replace(config, progress=False), name, revision, Console())


def longest_first(config: ReproduceConfig, names: list[str]) -> list[str]:
    """``names`` by the seconds their last records took, longest first (unrecorded items last, in order)."""

    def recorded(name: str) -> float:
        path = config.out / f"{name}.json"
        try:
            return float(json.loads(path.read_text())["seconds"]) if path.is_file() else 0.0
        except (ValueError, KeyError, TypeError):
            return 0.0

    return sorted(names, key=recorded, reverse=True)


def run_in_parallel(config: ReproduceConfig, names: list[str], revision: str, console: Console) -> None:
    """The items in ``config.jobs`` worker processes, each starting once the items it reuses are done."""
    threads = max(1, torch.get_num_threads() // config.jobs)
    waiting, running = longest_first(config, names), {}
    with ProcessPoolExecutor(config.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while waiting or running:
            for name in [name for name in waiting if not set(ITEMS[name].after) & {*waiting, *running.values()}]:
                if len(running) < config.jobs:
                    waiting.remove(name)
                    running[pool.submit(run_item_in_worker, config, name, revision, threads)] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                record = future.result()  # an item's error ends the run (the running items finish first)
                console.print(
                    f"{name}: {record['comparison']} ({record['seconds']:.0f} s) -> {config.out / (name + '.md')}"
                )


def main(config: ReproduceConfig, console: Console | None = None) -> dict[str, str]:
    """Run the chosen items; returns each item's status ('written' or why it was skipped)."""
    config.check_options()
    read_runs(config.out)  # a broken run log is refused before any item runs
    console = console or Console()
    revision = commit()
    names: list[str] = list(config.only) or list(ITEMS)
    status: dict[str, str] = {}
    for name in names:
        reason = skip_reason(config, name, revision)
        if reason is not None:
            console.print(f"[yellow]{name}: skipped, {reason}")
            status[name] = reason
    to_run = [name for name in names if name not in status]
    start = time.perf_counter()
    if config.jobs > 1 and len(to_run) > 1:
        console.print(f"{len(to_run)} items, {config.jobs} at a time: {', '.join(longest_first(config, to_run))}")
        run_in_parallel(config, to_run, revision, console)
    else:
        for name in to_run:
            console.rule(f"{name}: {ITEMS[name].title} ({config.protocol})")
            record = run_item(config, name, revision, console)
            console.print(
                f"{name}: {record['comparison']} ({record['seconds']:.0f} s) -> {config.out / (name + '.md')}"
            )
    status.update({name: "written" for name in to_run})
    if to_run:
        run = Run(revision, config.protocol, to_run, config.jobs, time.perf_counter() - start)
        log_run(config.out, run)
        console.print(run.text())
    write_index(config, {name: reason for name, reason in status.items() if reason != "written"})
    if config.readme is not None and Path(config.readme).is_file():
        if not Path(config.out).resolve().is_relative_to(Path(config.readme).resolve().parent):
            console.print(f"[yellow]{config.readme} left alone: --out {config.out} lies outside its folder")
        elif headline.update_readme(Path(config.readme), config.out):
            console.print(f"{config.readme}: results block rewritten from {config.out}")
        else:
            console.print(f"[yellow]{config.readme} has no results block ({headline.BEGIN}); left alone")
    return status
