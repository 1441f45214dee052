"""ASMR's start: output-layer initializations at the paper's 10K steps and in a 300-step run, with SIREN (4) and
KiloNeRF (3) started the same ways."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from asmr_plugin.fields import ASMRField, GridField, KiloNeRFField, SIRENField
from asmr_plugin.fields.initialization import DEFAULT_INIT, INITS, OutputInit, channel_mean
from asmr_plugin.fields.registry import parse_bases_option
from asmr_plugin.fitting.image import downscale_image
from asmr_plugin.fitting.results import mean_std
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.paper.networks import IMAGE_PRESETS, KODAK_BASES
from asmr_plugin.reproduce.fits import kodak_images
from asmr_plugin.reproduce.protocol import Context, Outcome, markdown_table
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.loop import FitConfig, fit

SHORT_STEPS = 300
"""The short run users start with (``asmr-fit image --steps 300``)."""
MARKS = (100, 300, 1000)
"""Steps of the long schedule whose PSNR the table shows."""


@dataclass(frozen=True)
class Candidate:
    """One way to start the output layer."""

    label: str
    init: OutputInit


PAPER = Candidate("paper", INITS["paper"])
CANDIDATES = [
    PAPER,
    Candidate("bias = mean", OutputInit(True, 1.0)),
    Candidate("weights x3", OutputInit(False, 3.0)),
    Candidate("weights x10", OutputInit(False, 10.0)),
    Candidate("weights x30", OutputInit(False, 30.0)),
    Candidate("bias = mean, weights x3", OutputInit(True, 3.0)),
    Candidate("bias = mean, weights x10", OutputInit(True, 10.0)),
    Candidate("bias = mean, weights x30", OutputInit(True, 30.0)),
]
"""ASMR's candidates; the weight gains scale the SIREN bound sqrt(6/h)/omega0 of the output weights."""
DEFAULT = next(
    candidate for candidate in CANDIDATES if candidate.init == OutputInit(True, ASMRField.mean_start_gain("image"))
)
"""ASMR's candidate that ``--init mean`` is."""
BASELINE_CANDIDATES = {
    "SIREN (4)": (
        PAPER,
        Candidate("--init mean", INITS["mean"]),
        Candidate("bias = mean, weights x10", OutputInit(True, 10.0)),
    ),
    "KiloNeRF (3)": (PAPER, Candidate("--init mean", INITS["mean"])),
}
"""The baselines' candidates: the paper's, the default's, and for SIREN ASMR's gain."""


@dataclass(frozen=True)
class Signal:
    """One image of the study and how ASMR (4) covers it."""

    name: str
    target: torch.Tensor
    bases: list[list[int]]


CAMERAMAN_BASES = IMAGE_PRESETS["cameraman-asmr4"]["bases"]


def cameraman_signal(downscale: int) -> Signal:
    image = load_image(default_image())
    if downscale > 1:
        return Signal("camera", downscale_image(image, downscale), [[2, 2, 2, 8]] * 2)
    return Signal("camera", image, [list(axis) for axis in parse_bases_option(CAMERAMAN_BASES, 2)])


def kodak_signal(path: Path) -> Signal:
    """A Kodak image at 512x768 (or 768x512) with the paper's bases for it."""
    image = load_image(path)
    landscape = image.shape[0] <= image.shape[1]
    rows, columns = (list(axis) for axis in parse_bases_option(KODAK_BASES, 2))
    bases = [rows, columns] if landscape else [columns, rows]
    return Signal(path.stem, image, bases)


def asmr(signal: Signal) -> Callable[[], ASMRField]:
    """A builder of ASMR (4) for ``signal`` with its bases."""
    return lambda: ASMRField(tuple(signal.target.shape[:-1]), signal.target.shape[-1], bases=signal.bases)


def history(
    build: Callable[[], GridField], signal: Signal, candidate: Candidate, steps: int, seed: int, context: Context
) -> tuple[GridField, list[float]]:
    """The PSNR of every step's prediction of a fit of ``steps`` steps at the network's paper rate."""
    torch.manual_seed(seed)
    field = build()
    candidate.init.apply(field, channel_mean(signal.target))
    fitted = fit(field, signal.target, FitConfig(steps=steps, lr=field.paper_lr, progress=context.progress))
    return field, fitted.psnr


def measure(
    context: Context,
    signal: Signal,
    network: str,
    build: Callable[[], GridField],
    candidate: Candidate,
    seed: int,
    steps: int | None,
    short_steps: int,
) -> dict[str, Any]:
    """One row: the ``steps``-step schedule (None: not run) and the separate short run."""
    row: dict[str, Any] = {"image": signal.name, "network": network, "init": candidate.label, "seed": seed}
    field, short = history(build, signal, candidate, short_steps, seed, context)
    row.update(params=field.num_params(), macs_with_bias=field.macs().with_bias, short_run_psnr=short[-1])
    if steps is not None:
        _, psnr = history(build, signal, candidate, steps, seed, context)
        row.update({f"psnr_at_{mark}": psnr[mark] for mark in MARKS if mark < steps})
        row.update(final_psnr=psnr[-1], steps=steps, curve=psnr)
    context.console.print(
        f"study {signal.name} {network} init {candidate.label} seed {seed}: {short_steps}-step run "
        f"{short[-1]:.2f} dB" + (f", {steps}-step final {row['final_psnr']:.2f} dB" if steps else "")
    )
    return row


@dataclass(frozen=True)
class Plan:
    """What one protocol measures."""

    steps: int
    seeds: Sequence[int]
    long_candidates: Sequence[Candidate]
    """Candidates also run over the whole schedule (all of them get the short run)."""
    kodak_images: int
    kodak_candidates: Sequence[Candidate]
    kodak_steps: int | None
    """The Kodak images' schedule (None: the short run only)."""
    baseline_downscale: int
    baseline_steps: int | None
    short_steps: int = SHORT_STEPS
    """The separate short run (``asmr-fit image --steps 300``)."""


def plan(context: Context) -> Plan:
    every = CANDIDATES
    return context.pick(
        Plan(PAPER_STEPS, (0, 1, 2), every, 4, every, PAPER_STEPS, 1, PAPER_STEPS),
        Plan(1000, (0,), (PAPER, DEFAULT), 1, (PAPER, DEFAULT), None, 4, None),
        Plan(4, (0,), (PAPER, DEFAULT), 0, (), None, 32, 4, short_steps=4),
    )


def study(context: Context) -> Outcome:
    run = plan(context)
    camera = cameraman_signal(context.pick(1, 1, 16))
    rows = []
    for seed in run.seeds:
        for candidate in CANDIDATES:
            long = candidate in run.long_candidates
            rows.append(
                measure(
                    context,
                    camera,
                    "ASMR (4)",
                    asmr(camera),
                    candidate,
                    seed,
                    run.steps if long else None,
                    run.short_steps,
                )
            )
    if context.kodak is not None:
        for path in kodak_images(context, run.kodak_images):
            signal = kodak_signal(path)
            for candidate in run.kodak_candidates:
                rows.append(
                    measure(context, signal, "ASMR (4)", asmr(signal), candidate, 0, run.kodak_steps, run.short_steps)
                )
    small = cameraman_signal(run.baseline_downscale)
    shape = tuple(small.target.shape[:-1])
    baselines = {"SIREN (4)": lambda: SIRENField(shape, num_layers=4), "KiloNeRF (3)": lambda: KiloNeRFField(shape)}
    for network, build in baselines.items():
        for candidate in BASELINE_CANDIDATES[network]:
            rows.append(measure(context, small, network, build, candidate, 0, run.baseline_steps, run.short_steps))
    return outcome(context, run, rows, tuple(small.target.shape[:-1]))


def outcome(context: Context, run: Plan, rows: list[dict[str, Any]], baseline_shape: tuple[int, ...]) -> Outcome:
    marks = [mark for mark in MARKS if mark < run.steps]
    table = markdown_table(
        [
            "image",
            "network",
            "output init",
            "seed",
            *(f"step {mark}" for mark in marks),
            f"final ({run.steps} steps)",
            f"{run.short_steps}-step run",
        ],
        [
            [
                row["image"]
                if row["network"] == "ASMR (4)"
                else f"{row['image']} {'×'.join(map(str, baseline_shape))}",
                row["network"],
                row["init"],
                row["seed"],
                *(row.get(f"psnr_at_{mark}") for mark in marks),
                row.get("final_psnr"),
                row["short_run_psnr"],
            ]
            for row in rows
        ],
    )
    summary = summary_rows(rows)
    summary_table = markdown_table(
        ["output init (ASMR (4))", "fits", "mean final PSNR", f"mean {run.short_steps}-step run"],
        [[label, values["fits"], values["final"], values["short"]] for label, values in summary.items()],
    )
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for row in rows:
        if row["image"] == "camera" and row["network"] == "ASMR (4)" and row["seed"] == 0 and "curve" in row:
            axes.plot(row["curve"], linewidth=1, label=row["init"])
    axes.set_xscale("symlog", linthresh=100)
    axes.set_xlabel("step")
    axes.set_ylabel("PSNR of the step's prediction (dB)")
    axes.set_title(f"ASMR (4) on Cameraman, {run.steps}-step cosine schedules, seed 0")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    paper, default = summary[PAPER.label], summary[DEFAULT.label]
    every = max(1, run.steps // 500)
    curves = {
        f"{row['image']} {row['network']} {row['init']} seed {row['seed']}": row["curve"][::every]
        for row in rows
        if "curve" in row
    }
    return Outcome(
        body="Every fit: full-image steps of Adam at the network's paper rate (ASMR, SIREN: 1e-4; KiloNeRF: 5e-4), "
        f"cosine to 1e-6; the step columns are the PSNR of that step's prediction in the {run.steps}-step schedule, "
        f"the last column a separate {run.short_steps}-step schedule. `--init mean` is, per network, the bias at the "
        f"mean and the output weights times its `mean_start_gain` (ASMR on images {ASMRField.mean_start_gain('image'):g}, the others 1)."
        "\n\n"
        + table
        + "\n\nMeans over the ASMR (4) fits (Cameraman seeds and Kodak images): the final PSNR over those run the "
        "whole schedule (fits), the short run over all of them:\n\n" + summary_table,
        data={
            "rows": [{key: value for key, value in row.items() if key != "curve"} for row in rows],
            "steps": run.steps,
            "summary": summary,
            "curves": curves,
        },
        comparison=f"ASMR (4) `--init {DEFAULT_INIT}` ({DEFAULT.label}) against the paper's: {run.short_steps}-step run "
        f"{default['short']:.1f} / {paper['short']:.1f} dB (mean of {default['short_runs']} images), {run.steps}-step "
        f"final {default['final']:.2f} / {paper['final']:.2f} dB (mean of {default['fits']} fits)",
        reduced=""
        if context.protocol == "paper"
        else f"{run.steps}-step schedules for {', '.join(c.label for c in run.long_candidates)} (every candidate's "
        f"{run.short_steps}-step run), seed {', '.join(map(str, run.seeds))}; {run.kodak_images} Kodak image(s) and "
        f"SIREN and KiloNeRF (on Cameraman at {'×'.join(map(str, baseline_shape))}) in the short run"
        + ("" if run.baseline_steps is None else f" and {run.baseline_steps} steps"),
        figure=figure,
    )


def summary_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per candidate, the mean final PSNR of its ASMR (4) fits over the whole schedule and the mean short run of all."""
    summary = {}
    for candidate in CANDIDATES:
        fits = [row for row in rows if row["network"] == "ASMR (4)" and row["init"] == candidate.label]
        finals = [row["final_psnr"] for row in fits if "final_psnr" in row]
        summary[candidate.label] = {
            "fits": len(finals),
            "final": mean_std(finals)[0] if finals else None,
            "short": mean_std([row["short_run_psnr"] for row in fits])[0],
            "short_runs": len(fits),
        }
    return summary
