"""Beyond the paper: PSNR against seconds of training on the machine at hand, every network given the same time."""

from __future__ import annotations

import time
from typing import Any

import torch
from matplotlib.figure import Figure

from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, channel_mean, initialize_output
from asmr_plugin.fields.registry import build_field
from asmr_plugin.fitting.results import params_per_sample
from asmr_plugin.metrics import psnr
from asmr_plugin.paper.networks import IMAGE_PRESETS
from asmr_plugin.reproduce.figures import cameraman
from asmr_plugin.reproduce.protocol import GRID_ROW, Context, Outcome, markdown_table
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.step import training_step

NETWORKS: dict[str, tuple[str, dict[str, Any]]] = {
    label: (options["model"], {key: value for key, value in options.items() if key != "model"})
    for label, options in (
        ("ASMR (4)", IMAGE_PRESETS["cameraman-asmr4"]),
        ("SIREN (4)", IMAGE_PRESETS["cameraman-siren4"]),
        ("KiloNeRF (3)", IMAGE_PRESETS["cameraman-kilonerf3"]),
        ("LoE (4)", IMAGE_PRESETS["cameraman-loe4"]),
    )
}
NETWORKS |= {
    "Instant-NGP": ("ngp", {}),
    GRID_ROW: ("grid", {}),
}
"""Table 2's networks (the paper's configurations for Cameraman), Instant-NGP (nerfstudio's hash grid) and the dense
grid (its default budget: ASMR's parameters on the image)."""
SCHEDULE_RESOLUTION = 1000
"""The cosine schedule runs over seconds, in this many increments."""


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_fit(field: GridField, target: torch.Tensor, seconds: float, lr: float) -> tuple[list[float], list[float]]:
    """The engine's full-image steps for ``seconds`` of training, the learning rate annealed by a cosine over the
    seconds (from ``lr`` to 1e-6). Returns the seconds spent when each step's prediction was made, and its PSNR."""
    device, shape = target.device, tuple(target.shape[:-1])
    predictions: list[torch.Tensor] = []

    def loss() -> tuple[torch.Tensor, torch.Tensor]:
        prediction = field.render(shape)
        predictions.append(prediction.detach())
        mse = torch.nn.functional.mse_loss(prediction, target)
        return mse, mse.detach()

    step = training_step(loss, field.parameters(), lr, SCHEDULE_RESOLUTION)
    elapsed, times, psnrs = 0.0, [], []
    while elapsed < seconds:
        step.optimization.anneal_to(elapsed / seconds)
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(elapsed)
        elapsed += time.perf_counter() - start
        with torch.no_grad():  # the PSNR of the step's prediction, outside the timed part
            psnrs.append(psnr(predictions.pop().clamp(0, 1), target).item())
    return times, psnrs


def wallclock(context: Context) -> Outcome:
    """Cameraman (512x512) fitted by each network of ``NETWORKS`` for the same number of seconds."""
    seconds = context.pick(300.0, 45.0, 1.0)
    downscale = context.pick(1, 1, 16)
    device = torch.device(resolve_device(context.device))
    target = cameraman(context, downscale).to(device)
    shape = tuple(target.shape[:-1])
    rows, curves = [], {}
    for label, (model, options) in NETWORKS.items():
        if downscale > 1:
            options = {key: value for key, value in options.items() if key != "bases"}
        torch.manual_seed(0)
        field = build_field(model, shape, 1, **options).to(device)
        initialize_output(field, channel_mean(target), DEFAULT_INIT)
        times, psnrs = timed_fit(field, target, seconds, field.paper_lr)
        curves[label] = {"seconds": times, "psnr": psnrs}
        rows.append(
            {
                "network": label,
                "params": field.num_params(),
                "params_per_sample": params_per_sample(field.num_params(), shape, 1),
                "macs_with_bias": field.macs().with_bias,
                "lr": field.paper_lr,
                "output_init": field.initialization,
                "steps": len(psnrs),
                "seconds_per_step": seconds / len(psnrs),
                "final_psnr": psnrs[-1],
                "best_psnr": max(psnrs),
            }
        )
        context.console.print(f"wallclock {label}: {len(psnrs)} steps in {seconds:g} s, {psnrs[-1]:.2f} dB")
    figure = Figure(figsize=(6.5, 4.5))
    axes = figure.subplots()
    for label, curve in curves.items():
        axes.plot(curve["seconds"], curve["psnr"], label=label, linewidth=1.2)
    axes.set_xlabel("training seconds (evaluation excluded)")
    axes.set_ylabel("PSNR of the step's prediction (dB)")
    axes.set_title(f"Cameraman {shape[0]}×{shape[1]}, {seconds:g} s per network")
    axes.set_ylim(bottom=0)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    table = markdown_table(
        [
            "network",
            "params",
            "params/sample",
            "MACs/px (+bias)",
            "lr",
            "steps in the time",
            "s/step",
            "final PSNR",
            "best PSNR",
        ],
        [
            [
                row["network"],
                row["params"],
                f"{row['params_per_sample']:.3g}",
                f"{row['macs_with_bias']:,.0f}",
                f"{row['lr']:g}",
                row["steps"],
                f"{row['seconds_per_step']:.3g}",
                row["final_psnr"],
                row["best_psnr"],
            ]
            for row in rows
        ],
    )
    every = max(1, max(len(curve["psnr"]) for curve in curves.values()) // 500)
    best = max(rows, key=lambda row: row["final_psnr"])
    return Outcome(
        body=table
        + f"\n\nEach network: full-image Adam steps at its paper learning rate, annealed by a cosine over the "
        f"{seconds:g} seconds to 1e-6, output layer started at the image's mean (`--init {DEFAULT_INIT}`), seed 0. "
        "Not in the paper: its tables compare networks at equal steps; this one at equal time on this machine.",
        data={"rows": rows, "seconds": seconds, "shape": list(shape), "curves": thin(curves, every)},
        comparison=f"in {seconds:g} s: "
        + ", ".join(f"{row['network']} {row['final_psnr']:.2f} dB ({row['steps']} steps)" for row in rows)
        + f"; best {best['network']}",
        reduced="" if context.protocol == "paper" else f"{seconds:g} s per network",
        figure=figure,
    )


def thin(curves: dict[str, dict[str, list[float]]], every: int) -> dict[str, dict[str, list[float]]]:
    return {label: {key: values[::every] for key, values in curve.items()} for label, curve in curves.items()}
