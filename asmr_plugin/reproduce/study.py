"""ASMR's start: bases orderings and learning rates, at the paper's 10K steps and in a 300-step run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from matplotlib.figure import Figure

from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.asmr import FAST_START
from asmr_plugin.fitting.image import downscale_image
from asmr_plugin.fitting.loop import FitConfig, fit
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.reproduce.fits import kodak_images
from asmr_plugin.reproduce.protocol import Context, Outcome, markdown_table
from asmr_plugin.schedule import PAPER_STEPS

SHORT_STEPS = 300
"""The short run users start with (``asmr-fit image --steps 300``)."""


@dataclass(frozen=True)
class Setting:
    """How one ASMR (4) is trained: bases per axis (one list: both axes), Adam's rate, the subsets' multipliers."""

    bases: tuple
    lr: float
    lr_scales: dict[str, float] = field(default_factory=dict)

    @property
    def rates(self) -> str:
        scaled = ", ".join(f"{name} x{scale:g}" for name, scale in self.lr_scales.items())
        return f"{self.lr:g}" + (f" ({scaled})" if scaled else "")


PAPER = Setting((4, 4, 4, 8), 1e-4)
FAST = Setting((4, 4, 4, 8), 1e-4, FAST_START)
SETTINGS = [
    PAPER,
    Setting((4, 4, 4, 8), 3e-4),
    Setting((4, 4, 4, 8), 1e-3),
    Setting((4, 4, 4, 8), 1e-4, {"output": 10.0}),
    Setting((4, 4, 4, 8), 1e-4, {"output": 30.0}),
    FAST,
    Setting((4, 4, 4, 8), 2e-4, {"output": 10.0}),
    Setting((4, 4, 4, 8), 2e-4, FAST_START),
    Setting((2, 4, 8, 8), 1e-4),
    Setting((8, 4, 4, 4), 1e-4),
]
"""Cameraman settings of the paper protocol; the paper's first, the --fast-start rates (``FAST_START``) beside it."""
REDUCED_SETTINGS = [PAPER, Setting((4, 4, 4, 8), 1e-3), FAST, Setting((8, 4, 4, 4), 1e-4)]


def curve(target: torch.Tensor, bases, setting: Setting, steps: int, progress: bool) -> tuple[ASMRField, list[float]]:
    """The PSNR of every step's prediction of a fit of ``steps`` steps (seed 0), and the field."""
    torch.manual_seed(0)
    asmr = ASMRField(tuple(target.shape[:-1]), out_dim=target.shape[-1], bases=bases)
    history = fit(asmr, target, FitConfig(steps=steps, lr=setting.lr, lr_scales=setting.lr_scales, progress=progress))
    return asmr, history.psnr


def study_rows(context: Context, name: str, target: torch.Tensor, settings: list[Setting], steps: int) -> list[dict]:
    rows = []
    marks = [mark for mark in (SHORT_STEPS, 1000) if mark < steps]
    for setting in settings:
        bases = setting.bases if isinstance(setting.bases[0], (list, tuple)) else [setting.bases] * 2
        asmr, psnr = curve(target, bases, setting, steps, context.progress)
        _, short = curve(target, bases, setting, min(SHORT_STEPS, steps), context.progress)
        row: dict[str, Any] = {
            "image": name,
            "bases": [list(axis) for axis in asmr.bases],
            "lr": setting.lr,
            "lr_scales": setting.lr_scales,
            "rates": setting.rates,
            "macs_with_bias": asmr.macs().with_bias,
            "params": asmr.num_params(),
            **{f"psnr_at_{mark}": psnr[mark] for mark in marks},
            "final_psnr": psnr[-1],
            "short_run_psnr": short[-1],
            "curve": psnr,
        }
        context.console.print(
            f"study {name} {row['bases'][0]} lr {setting.rates}: final {psnr[-1]:.2f} dB, "
            f"{SHORT_STEPS}-step run {short[-1]:.2f} dB"
        )
        rows.append(row)
    return rows


def bases_text(bases: list[list[int]]) -> str:
    return str(bases[0]) if all(axis == bases[0] for axis in bases) else str(bases)


def study(context: Context) -> Outcome:
    steps = context.pick(PAPER_STEPS, 1000, 4)
    camera = load_image(default_image())
    settings = context.pick(SETTINGS, REDUCED_SETTINGS, [PAPER, FAST])
    if context.protocol == "smoke":
        camera = downscale_image(camera, 8)
        settings = [Setting((2, 2, 2, 8), setting.lr, setting.lr_scales) for setting in settings]
    rows = study_rows(context, "camera", camera, settings, steps)
    if context.kodak is not None and context.protocol == "paper":
        for image in kodak_images(context, 2):
            target = load_image(image)
            landscape = target.shape[0] <= target.shape[1]
            bases = ((4, 4, 4, 8), (4, 4, 6, 8)) if landscape else ((4, 4, 6, 8), (4, 4, 4, 8))
            kodak_settings = [Setting(bases, PAPER.lr), Setting(bases, FAST.lr, FAST.lr_scales)]
            rows += study_rows(context, image.stem, target, kodak_settings, steps)
    marks = [key for key in rows[0] if key.startswith("psnr_at_")]
    table = markdown_table(
        [
            "image",
            "bases",
            "lr (multipliers)",
            "MACs/px (+bias)",
            *(f"PSNR at step {key.removeprefix('psnr_at_')}" for key in marks),
            f"final PSNR ({steps} steps)",
            f"{SHORT_STEPS}-step run, final",
        ],
        [
            [
                row["image"],
                bases_text(row["bases"]),
                row["rates"],
                f"{row['macs_with_bias']:,.0f}",
                *(row[key] for key in marks),
                row["final_psnr"],
                row["short_run_psnr"],
            ]
            for row in rows
        ],
    )
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for row in rows:
        if row["image"] == "camera":
            axes.plot(row["curve"], linewidth=1, label=f"{bases_text(row['bases'])} lr {row['rates']}")
    axes.set_xscale("symlog", linthresh=100)
    axes.set_xlabel("step")
    axes.set_ylabel("PSNR of the step's prediction (dB)")
    axes.set_title(f"ASMR (4) on Cameraman, {steps}-step cosine schedules")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    paper, fast = rows[0], rows[1] if context.protocol == "smoke" else rows[settings.index(FAST)]
    every = max(1, steps // 500)
    return Outcome(
        body=table,
        data={
            "rows": [{key: value for key, value in row.items() if key != "curve"} for row in rows],
            "steps": steps,
            "curves": {
                f"{row['image']} {bases_text(row['bases'])} {row['rates']}": row["curve"][::every] for row in rows
            },
        },
        comparison=f"{SHORT_STEPS}-step run: the paper's training {paper['short_run_psnr']:.1f} dB, --fast-start "
        f"{fast['short_run_psnr']:.1f} dB; after {steps} steps {paper['final_psnr']:.2f} / {fast['final_psnr']:.2f} dB",
        reduced=""
        if context.protocol == "paper"
        else f"{steps}-step schedules, Cameraman only, {len(settings)} settings",
        figure=figure,
    )
