"""The paper's figures: Fig. 2 (analytic), Fig. 3, 7, 8 (fits on Cameraman) and Fig. 9 (Kodak crops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from asmr_plugin.decomposition import auto_bases
from asmr_plugin.fields import ASMRField, SIRENField
from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, channel_mean, initialize_output
from asmr_plugin.fitting.image import downscale_image
from asmr_plugin.fitting.results import params_per_sample
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.macs import mlp_macs
from asmr_plugin.metrics import psnr
from asmr_plugin.paper.tables import ROWS, PaperRow, grid_row
from asmr_plugin.reproduce.fits import kodak_fit, kodak_folder, kodak_images
from asmr_plugin.reproduce.paper_tables import measure
from asmr_plugin.reproduce.protocol import Context, Outcome, markdown_table
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.loop import FitConfig, fit
from asmr_plugin.training.step import training_step

FAMILIES = {"SIREN": "tab:gray", "ASMR": "tab:red", "KiloNeRF": "tab:blue", "LoE": "tab:green", "Grid": "tab:purple"}


def family(model: str) -> str:
    return model.split(" ")[0]


def fig2(context: Context) -> Outcome:
    """MACs against parameters of the Table 7 configurations (analytic, no fit)."""
    results = [measure(row) for row in ROWS if row.table == "7"]
    figure = Figure(figsize=(6.5, 4.5))
    axes = figure.subplots()
    for name, colour in FAMILIES.items():
        points = [result for result in results if family(result["model"]) == name]
        if not points:
            continue
        axes.plot(
            [point["params"] / 1e3 for point in points],
            [point["macs_with_bias"] / 1e3 for point in points],
            "o-",
            color=colour,
            label=name,
        )
    limit = mlp_macs([2, 32, 1]).with_bias  # one hidden layer of 32 units on 2-D coordinates
    axes.axhline(limit / 1e3, color="red", linestyle=":", linewidth=1, label="MLP, one hidden layer of 32")
    axes.set_xlabel("#params (K)")
    axes.set_ylabel("MACs per pixel (K, with biases)")
    axes.set_yscale("log")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    rows = [
        [
            r["model"],
            r["config"],
            r["params"],
            f"{r['macs_with_bias']:,.1f}",
            f"{r['paper_params'] / 1e3:g}K",
            f"{r['paper_macs'] / 1e3:g}K",
        ]
        for r in results
    ]
    macs = {result["model"]: result["macs_with_bias"] for result in results}
    ratios = [macs[f"SIREN ({depth})"] / macs[f"ASMR ({depth})"] for depth in range(3, 8)]
    return Outcome(
        body=markdown_table(
            ["model", "configuration", "params", "MACs/px (+bias)", "paper params", "paper MACs"], rows
        ),
        data={"rows": results, "siren_over_asmr_macs_at_3_to_7_layers": ratios},
        comparison=f"ASMR needs {min(ratios):.0f}-{max(ratios):.0f}x fewer MACs than the SIREN of the same depth "
        "at 3-7 layers (paper: 50-200x)",
        figure=figure,
    )


def cameraman(context: Context, downscale: int = 1) -> torch.Tensor:
    image = load_image(default_image())
    return downscale_image(image, downscale) if downscale > 1 else image


def fig3(context: Context) -> Outcome:
    """MAC-PSNR of the Table 9 configurations (KiloNeRF, LoE, ASMR at 3-7 layers) fitted on Cameraman."""
    steps = context.pick(PAPER_STEPS, 300, 3)
    rows = [row for row in ROWS if row.table == "9"] if context.protocol != "smoke" else smoke_rows()
    rows += [grid_beside(row) for row in rows if family(row.model) == "ASMR"]
    target = cameraman(context)
    results: list[dict[str, Any]] = []
    for row in rows:
        torch.manual_seed(0)
        field = row.build()
        config = FitConfig(steps=steps, lr=field.paper_lr, init=context.init, progress=context.progress)
        history = fit(field, target, config)
        macs = field.macs()
        results.append(
            {
                "model": row.model,
                "config": row.config,
                "params": field.num_params(),
                "params_per_sample": params_per_sample(field.num_params(), field.grid_shape, field.out_dim),
                "macs_with_bias": macs.with_bias,
                "final_psnr": history.psnr[-1],
                "lr": field.paper_lr,
                "output_init": field.initialization,
                "seconds": history.seconds,
            }
        )
        context.console.print(f"fig3 {row.model}: {history.psnr[-1]:.2f} dB")
    figure = Figure(figsize=(6.5, 4.5))
    axes = figure.subplots()
    largest = max(result["params"] for result in results)
    for name, colour in FAMILIES.items():
        points = [result for result in results if family(result["model"]) == name]
        if points:
            axes.scatter(
                [point["macs_with_bias"] / 1e3 for point in points],
                [point["final_psnr"] for point in points],
                s=[600 * point["params"] / largest for point in points],
                color=colour,
                alpha=0.5,
                label=name,
            )
    axes.set_xlabel("MACs per pixel (K, with biases)")
    axes.set_ylabel("final PSNR (dB)")
    axes.set_title(f"Cameraman, {steps} steps; area ∝ #params")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    table = markdown_table(
        ["model", "configuration", "params", "params/sample", "MACs/px (+bias)", "lr", "final PSNR (dB)", "fit time"],
        [
            [
                r["model"],
                r["config"],
                r["params"],
                f"{r['params_per_sample']:.3g}",
                f"{r['macs_with_bias']:,.0f}",
                f"{r['lr']:g}",
                r["final_psnr"],
                f"{r['seconds']:.0f} s",
            ]
            for r in results
        ],
    )
    best = {
        name: max((r["final_psnr"] for r in results if family(r["model"]) == name), default=None)
        for name in ("ASMR", "KiloNeRF", "LoE", "Grid")
    }
    return Outcome(
        body=table,
        data={"rows": results, "steps": steps},
        comparison=", ".join(f"best {name} {value:.2f} dB" for name, value in best.items() if value is not None),
        reduced="" if context.protocol == "paper" else f"{steps} steps per configuration (cosine over them)",
        figure=figure,
    )


def grid_beside(row: PaperRow) -> PaperRow:
    """The dense grid at ``row``'s parameters (the baseline at equal parameters; not in the paper)."""
    return grid_row(row.table, row.build, "512x512 grey", model=f"Grid ({row.model}'s params)")


def smoke_rows() -> list[Any]:
    """One configuration of each family (the smoke protocol)."""
    table9 = [row for row in ROWS if row.table == "9"]
    return [next(row for row in table9 if family(row.model) == name) for name in ("ASMR", "LoE", "KiloNeRF")]


FIG7_STEPS = (200, 400, 600, 800)


def snapshots(field: GridField, target: torch.Tensor, init: str, at: list[int]) -> list[torch.Tensor]:
    """The field's renders after each step count in ``at``, started as ``init`` says, within a 10K-step cosine
    schedule at its paper rate."""
    initialize_output(field, channel_mean(target), init)
    shape, images = tuple(target.shape[:-1]), []

    def loss() -> tuple[torch.Tensor, torch.Tensor]:
        mse = torch.nn.functional.mse_loss(field.render(shape), target)
        return mse, mse.detach()

    train_step = training_step(loss, field.parameters(), field.paper_lr, PAPER_STEPS)
    for step in range(1, max(at) + 1):
        train_step()
        if step in at:
            with torch.no_grad():
                images.append(field.render(shape).clamp(0, 1))
    return images


def fig7(context: Context) -> Outcome:
    """Early reconstructions of ASMR (4) and SIREN (4), each as the paper initializes it and with this package's
    default initialization (the output layer started at the image's mean)."""
    downscale = context.pick(1, 4, 32)
    at = list(FIG7_STEPS) if context.protocol != "smoke" else [1, 2]
    target = cameraman(context, downscale)
    shape = tuple(target.shape[:-1])
    paper_bases = [list(bases) for bases in auto_bases(shape, 4)]  # [4,4,4,8] at 512
    networks = {
        "ASMR (4), --init paper": (lambda: asmr4(shape, paper_bases), "paper"),
        f"ASMR (4), --init {DEFAULT_INIT}": (lambda: asmr4(shape, paper_bases), DEFAULT_INIT),
        "SIREN (4), --init paper": (lambda: SIRENField(shape, num_layers=4), "paper"),
        f"SIREN (4), --init {DEFAULT_INIT}": (lambda: SIRENField(shape, num_layers=4), DEFAULT_INIT),
    }
    figure = Figure(figsize=(2.2 * len(at), 2.4 * len(networks)))
    grid = figure.subplots(len(networks), len(at), squeeze=False)
    data: dict[str, dict[int, float]] = {}
    for row, (label, (build, init)) in enumerate(networks.items()):
        torch.manual_seed(0)
        images = snapshots(build(), target, init, at)
        data[label] = {step: psnr(image, target).item() for step, image in zip(at, images)}
        for column, (step, image) in enumerate(zip(at, images)):
            axes = grid[row][column]
            axes.imshow(image[..., 0].numpy(), cmap="gray", vmin=0, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(f"step {step}: {data[label][step]:.1f} dB", fontsize=8)
            if column == 0:
                axes.set_ylabel(label, fontsize=7)
        context.console.print(f"fig7 {label}: {data[label]}")
    figure.tight_layout()
    rows = [[label, *values.values()] for label, values in data.items()]
    return Outcome(
        body=markdown_table(["network", *(f"PSNR at step {step}" for step in at)], rows),
        data={"psnr": data, "shape": list(shape)},
        comparison="; ".join(f"{label}: {values[at[-1]]:.1f} dB at step {at[-1]}" for label, values in data.items()),
        reduced=""
        if context.protocol == "paper"
        else f"Cameraman box-filtered by {downscale}, ASMR bases {paper_bases[0]}",
        figure=figure,
    )


def asmr4(shape, bases) -> ASMRField:
    return ASMRField(shape, bases=bases)


def fig8(context: Context) -> Outcome:
    """One hidden unit of a trained 3-layer ASMR with bases [8,8,8], at each layer's own resolution."""
    steps = context.pick(PAPER_STEPS, 500, 3)
    target = cameraman(context)
    torch.manual_seed(0)
    field = ASMRField(tuple(target.shape[:-1]), bases=[[8, 8, 8]] * 2)
    config = FitConfig(steps=steps, lr=ASMRField.paper_lr, init=context.init, progress=context.progress)
    history = fit(field, target, config)
    with torch.no_grad():
        unit = max(range(field.hidden_dim), key=lambda index: field.unit_map(1, index).std().item())
        maps = [field.unit_map(layer, unit) for layer in range(len(field.sine_layers) + 1)]
        output = field.render().clamp(0, 1)[..., 0]
    titles = ["layer 1, shared part ω0(W x0 + b)"] + [f"layer {layer}" for layer in range(1, len(maps))]
    figure = Figure(figsize=(3 * (len(maps) + 1), 3.4))
    panels = figure.subplots(1, len(maps) + 1)
    for axes, title, image in zip(panels, titles + ["output"], maps + [output]):
        axes.imshow(image.numpy(), cmap="gray" if title == "output" else "coolwarm", interpolation="nearest")
        axes.set_title(title, fontsize=9)
        axes.set_xlabel(f"{image.shape[0]}×{image.shape[1]}")
        axes.set_xticks([])
        axes.set_yticks([])
    figure.tight_layout()
    sizes = [f"{image.shape[0]}×{image.shape[1]}" for image in maps]
    return Outcome(
        body=markdown_table(["panel", "resolution"], [[title, size] for title, size in zip(titles, sizes)])
        + f"\n\nUnit {unit} (the unit whose layer-1 map varies most), after {steps} steps "
        f"({history.psnr[-1]:.2f} dB).",
        data={"unit": unit, "resolutions": sizes, "steps": steps, "final_psnr": history.psnr[-1]},
        comparison=f"unit {unit} at {', '.join(sizes)}",
        reduced="" if context.protocol == "paper" else f"{steps} training steps",
        figure=figure,
    )


def fig9(context: Context) -> Outcome:
    """Kodak reconstructions of ASMR, SIREN and KiloNeRF with their error maps (crops)."""
    images = kodak_images(context, context.pick(3, 3, 1))
    models = ("asmr", "siren", "kilonerf")
    figure = Figure(figsize=(2.4 * (1 + 2 * len(models)), 2.6 * len(images)))
    grid = figure.subplots(len(images), 1 + 2 * len(models), squeeze=False)
    data: dict[str, dict[str, float]] = {}
    for row, image in enumerate(images):
        fits = {model: kodak_fit(context, model, image) for model in models}
        target = load_image(Path(fits["asmr"]["data"]))
        downscale = fits["asmr"]["downscale"]
        target = downscale_image(target, downscale) if downscale > 1 else target
        crop = crop_box(tuple(target.shape[:2]))
        panels = [("target", target, None)]
        data[image.name] = {}
        for model in models:
            reconstruction = load_image(kodak_folder(context, model, image) / "reconstruction.png")
            data[image.name][model] = fits[model]["final_psnr"]
            panels += [
                (f"{model} {fits[model]['final_psnr']:.1f} dB", reconstruction, None),
                (f"{model} |error|", (reconstruction - target).abs().mean(-1, keepdim=True), "inferno"),
            ]
        for column, (title, picture, cmap) in enumerate(panels):
            axes = grid[row][column]
            cropped = picture[crop]
            axes.imshow(
                cropped.numpy() if cmap is None else cropped[..., 0].numpy(),
                cmap=cmap,
                vmin=0,
                vmax=1 if cmap is None else 0.25,
            )
            axes.set_title(title, fontsize=8)
            axes.set_xticks([])
            axes.set_yticks([])
            if column == 0:
                axes.set_ylabel(image.name, fontsize=8)
    figure.tight_layout()
    rows = [[name, *(values[model] for model in models)] for name, values in data.items()]
    return Outcome(
        body=markdown_table(["image", *(f"{model} PSNR" for model in models)], rows)
        + "\n\nError maps: mean absolute error over the channels, 0 (black) to 0.25 (white); crops of the central third.",
        data={"psnr": data},
        comparison="; ".join(
            f"{name}: " + ", ".join(f"{m} {v:.1f}" for m, v in values.items()) for name, values in data.items()
        ),
        reduced="" if context.protocol == "paper" else "the reduced Table 3 fits (shared)",
        figure=figure,
    )


def crop_box(shape) -> tuple:
    """The central third of an image (the whole image below 96 pixels a side)."""
    height, width = shape
    if min(height, width) < 96:
        return (slice(None), slice(None))
    return (slice(height // 3, 2 * height // 3), slice(width // 3, 2 * width // 3))
