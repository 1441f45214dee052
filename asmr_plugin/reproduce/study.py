"""ASMR's start: bases orderings and learning rates, at the paper's 10K steps and a 300-step run."""

from __future__ import annotations

from typing import Any

import torch
from matplotlib.figure import Figure

from asmr_plugin.fields import ASMRField
from asmr_plugin.fields.asmr import OUTPUT_LR_SCALE
from asmr_plugin.fitting.image import downscale_image
from asmr_plugin.fitting.loop import FitConfig, fit
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.reproduce.fits import kodak_images
from asmr_plugin.reproduce.protocol import Context, Outcome, markdown_table
from asmr_plugin.schedule import PAPER_STEPS

SHORT_STEPS = 300
"""The short run users start with (``asmr-fit image --steps 300``)."""
Config = tuple[list[int], float, float]
CAMERAMAN_CONFIGS: list[Config] = [
    ([4, 4, 4, 8], 1e-4, 1.0),
    ([4, 4, 4, 8], 3e-4, 1.0),
    ([4, 4, 4, 8], 1e-3, 1.0),
    ([4, 4, 4, 8], 1e-4, 3.0),
    ([4, 4, 4, 8], 1e-4, OUTPUT_LR_SCALE),
    ([4, 4, 4, 8], 1e-4, 30.0),
    ([2, 4, 8, 8], 1e-4, 1.0),
    ([8, 4, 4, 4], 1e-4, 1.0),
]
"""(bases per axis, Adam's initial learning rate, the output layer's multiplier); the paper's is the first."""
REDUCED_CONFIGS = [CAMERAMAN_CONFIGS[i] for i in (0, 2, 4, 7)]


def one_fit(target: torch.Tensor, config: Config, steps: int, progress: bool) -> tuple[ASMRField, list[float]]:
    bases, lr, output_lr_scale = config
    torch.manual_seed(0)
    field = ASMRField(tuple(target.shape[:-1]), out_dim=target.shape[-1], bases=bases)
    history = fit(field, target, FitConfig(steps=steps, lr=lr, output_lr_scale=output_lr_scale, progress=progress))
    return field, history.psnr


def study_rows(context: Context, name: str, target: torch.Tensor, configs, steps: int) -> list[dict[str, Any]]:
    rows = []
    marks = [mark for mark in (SHORT_STEPS, 1000) if mark < steps]
    for bases, lr, output_lr_scale in configs:
        config = (bases if isinstance(bases[0], list) else [bases, bases], lr, output_lr_scale)
        field, curve = one_fit(target, config, steps, context.progress)
        _, short = one_fit(target, config, min(SHORT_STEPS, steps), context.progress)
        row = {
            "image": name,
            "bases": [list(b) for b in field.bases],
            "lr": lr,
            "output_lr_scale": output_lr_scale,
            "macs_with_bias": field.macs().with_bias,
            "params": field.num_params(),
            **{f"psnr_at_{mark}": curve[mark] for mark in marks},
            "final_psnr": curve[-1],
            "short_run_psnr": short[-1],
            "curve": curve,
        }
        context.console.print(f"study {name} bases {row['bases']} lr {lr:g} output x{output_lr_scale:g}: final {curve[-1]:.2f} dB, 300-step run {short[-1]:.2f} dB")
        rows.append(row)
    return rows


def study(context: Context) -> Outcome:
    steps = context.pick(PAPER_STEPS, 1000, 4)
    camera = load_image(default_image())
    configs = context.pick(CAMERAMAN_CONFIGS, REDUCED_CONFIGS, REDUCED_CONFIGS[:2])
    if context.protocol == "smoke":
        camera = downscale_image(camera, 8)
        configs = [([2, 2, 2, 8], lr, scale) for _, lr, scale in configs]
    rows = study_rows(context, "camera", camera, configs, steps)
    if context.kodak is not None and context.protocol == "paper":
        for image in kodak_images(context, 2):
            target = load_image(image)
            bases = [[4, 4, 4, 8], [4, 4, 6, 8]] if target.shape[0] <= target.shape[1] else [[4, 4, 6, 8], [4, 4, 4, 8]]
            rows += study_rows(context, image.stem, target, [(bases, 1e-4, 1.0), (bases, 1e-4, OUTPUT_LR_SCALE)], steps)
    marks = [key for key in rows[0] if key.startswith("psnr_at_")]
    table = markdown_table(
        ["image", "bases", "lr", "output layer lr x", "MACs/px (+bias)", *(f"PSNR at step {key.removeprefix('psnr_at_')}" for key in marks),
         f"final PSNR ({steps} steps)", f"{SHORT_STEPS}-step run, final"],
        [[row["image"], str(row["bases"][0]) if row["bases"][0] == row["bases"][1] else str(row["bases"]), f"{row['lr']:g}", f"{row['output_lr_scale']:g}",
          f"{row['macs_with_bias']:,.0f}", *(row[key] for key in marks), row["final_psnr"], row["short_run_psnr"]] for row in rows],
    )
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for row in rows:
        if row["image"] == "camera":
            axes.plot(range(len(row["curve"])), row["curve"], linewidth=1, label=f"{row['bases'][0]} lr {row['lr']:g} x{row['output_lr_scale']:g}")
    axes.set_xscale("symlog", linthresh=100)
    axes.set_xlabel("step")
    axes.set_ylabel("PSNR of the step's prediction (dB)")
    axes.set_title(f"ASMR (4) on Cameraman, {steps}-step cosine schedules")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    paper = rows[0]
    best_short = max(rows, key=lambda row: row["short_run_psnr"])
    return Outcome(
        body=table,
        data={"rows": [{key: value for key, value in row.items() if key != "curve"} for row in rows], "steps": steps,
              "curves": {f"{row['image']} {row['bases']} {row['lr']:g} x{row['output_lr_scale']:g}": row["curve"][:: max(1, steps // 500)] for row in rows}},
        comparison=f"{SHORT_STEPS}-step run: paper setting {paper['short_run_psnr']:.1f} dB, best "
        f"{best_short['short_run_psnr']:.1f} dB (bases {best_short['bases'][0]}, lr {best_short['lr']:g}, output "
        f"x{best_short['output_lr_scale']:g})",
        reduced="" if context.protocol == "paper" else f"{steps}-step schedules, Cameraman only, {len(configs)} configurations",
        figure=figure,
    )


