"""The paper's tables re-run through the fit runners (Tables 2, 3, 4, 5, 6, 10 and Fig. 5)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from asmr_plugin.fields import FIELDS
from asmr_plugin.fields.registry import build_field, checking_only
from asmr_plugin.fitting import audio, megapixel, meta, occupancy, video
from asmr_plugin.fitting.image import PRESETS, FitImageConfig
from asmr_plugin.fitting.image import run as run_image
from asmr_plugin.fitting.results import mean_std
from asmr_plugin.paper import values as paper_values
from asmr_plugin.paper.networks import KODAK_BASES, OCCUPANCY_NETWORKS
from asmr_plugin.reproduce.protocol import GRID_ROW, Context, Outcome, markdown_table
from asmr_plugin.schedule import PAPER_STEPS

TABLE2_PRESETS = {  # the rows of Table 2 and their presets, with ASMR's levels
    "KiloNeRF (3)": ("cameraman-kilonerf3", None),
    "LoE (4)": ("cameraman-loe4", None),
    "SIREN (3)": ("cameraman-siren3", None),
    "SIREN (4)": ("cameraman-siren4", None),
    "ASMR (3)": ("cameraman-asmr3", 3),
    "ASMR (4)": ("cameraman-asmr4", 4),
}
FIG9_IMAGES = ("kodim03.png", "kodim15.png", "kodim23.png")
"""The images of the paper's Fig. 9, also the reduced Table 3's subset."""


def fit_image_once(context: Context, out: Path, config: FitImageConfig) -> dict[str, Any]:
    """``config`` fitted into ``out``, or the results already there (items share fits, e.g. Fig. 9 and Table 3)."""
    finished = (out / "checkpoint.pt").is_file() and (out / "results.json").is_file()
    options = {**context.run_options(out), "overwrite": not finished, "resume": finished}
    return run_image(replace(config, **options), context.console)


def psnr_text(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" + ("" if std is None else f" ± {std:.2f}")


def narrowed(config: FitImageConfig, downscale: int, channels: int = 1) -> FitImageConfig:
    """``config`` with its network's hidden width divided by ``downscale``, or narrower until its parameters are at
    most the paper network's over ``downscale``^2: an image box-filtered by ``downscale`` has ``downscale``^2 fewer
    pixels, so the network keeps the paper's parameters per pixel and compresses the image as the paper's does
    instead of memorizing it. Width /``downscale`` does that for networks whose parameters grow as the width
    squared (ASMR, SIREN, MFN); FFN's Fourier features grow only linearly, so its width falls further."""
    width = inspect.signature(FIELDS[config.model]).parameters["hidden_dim"].default
    hidden = max(4, width // downscale)
    if config.model in TILED:
        return replace(config, hidden_dim=hidden)
    budget = parameters(config.model, channels, width) / downscale**2 * MATCH_TOLERANCE
    while hidden > 4 and parameters(config.model, channels, hidden) > budget:
        hidden -= 1
    return replace(config, hidden_dim=hidden)


TILED = ("kilonerf", "loe", "ngp")
"""Networks whose parameters follow their tile grids or tables, not their width alone: width /downscale only."""
MATCH_TOLERANCE = 1.1
"""How far over the paper's parameters per pixel a narrowed network may be (width /downscale puts SIREN (4) 3%
over)."""


def parameters(model: str, channels: int, hidden_dim: int) -> int:
    """Parameters of ``model`` at ``hidden_dim`` on a 512x512 grid (built on the meta device: no weights)."""
    with checking_only():
        return build_field(model, (512, 512), channels, hidden_dim=hidden_dim).num_params()


def table2(context: Context) -> Outcome:
    steps = context.pick(PAPER_STEPS, 2000, 5)
    downscale = context.pick(1, 4, 16)
    rows, data = [], {}
    for name, (preset, levels) in TABLE2_PRESETS.items():
        paper = paper_values.TABLE2[name]
        config = replace(PRESETS[preset], steps=steps, downscale=downscale, init=context.init)
        if downscale > 1:
            config = narrowed(config, downscale)
        if (
            downscale > 1 and levels is not None
        ):  # the paper's bases cover 512: auto_bases chooses for the smaller image
            config = replace(config, bases=None, num_layers=levels)
        if downscale > 1 and config.model == "loe":
            config = replace(config, bases=None)
        result = fit_image_once(context, context.work / "table2" / preset, config)
        data[name] = {"row": name, "preset": preset, **pick_keys(result), "paper_psnr": paper["psnr"]}
        rows.append(table2_row(name, result, f"{paper['params_k']:g}K / {paper['macs_k']:g}K", paper["psnr"]))
    grid = FitImageConfig(model="grid", params=data["ASMR (4)"]["params"], steps=steps, downscale=downscale)
    result = fit_image_once(context, context.work / "table2" / "grid", replace(grid, init=context.init))
    data[GRID_ROW] = {"row": GRID_ROW, "preset": None, **pick_keys(result), "paper_psnr": None}
    rows.append(table2_row(GRID_ROW, result, "not in the paper", None))
    body = markdown_table(
        [
            "model",
            "params",
            "params/sample",
            "MACs/px (+bias)",
            "final PSNR",
            "best PSNR",
            "fit time",
            "paper params / MACs",
            "paper PSNR",
        ],
        rows,
    )
    asmr4 = data["ASMR (4)"]
    return Outcome(
        body=body,
        data={"rows": list(data.values()), "steps": steps, "downscale": downscale},
        comparison=f"ASMR (4) {asmr4['final_psnr']:.2f} dB (paper {asmr4['paper_psnr']:.2f})",
        reduced=""
        if context.protocol == "paper"
        else f"Cameraman box-filtered by {downscale} and every network's hidden width divided by {downscale} (about "
        f"the paper's parameters per pixel), {steps} steps (cosine over them); ASMR's bases and LoE's tiles chosen for "
        "the smaller image (`auto_bases`, docs/studies/bases.md)",
    )


def table2_row(name: str, result: dict[str, Any], paper_size: str, paper_psnr: float | None) -> list[Any]:
    return [
        name,
        result["params"],
        ratio_text(result.get("params_per_sample")),
        f"{result['macs_with_bias']:,.0f}",
        result["final_psnr"],
        result["best_psnr"],
        f"{result['seconds']:.0f} s",
        paper_size,
        paper_psnr,
    ]


def ratio_text(value: float | None) -> str:
    """Parameters per sample (params / (samples x channels)) as a table cell."""
    return "–" if value is None else f"{value:.3g}"


def pick_keys(result: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "final_psnr",
        "best_psnr",
        "ssim",
        "params",
        "params_per_sample",
        "macs_with_bias",
        "macs_weights",
        "seconds",
        "lr",
        "shape",
    )
    return {key: result.get(key) for key in keys}


def kodak_images(context: Context, count: int) -> list[Path]:
    """The first ``count`` Kodak images, Fig. 9's first (the caller has checked ``context.kodak``)."""
    assert context.kodak is not None
    files = sorted(path for path in context.kodak.iterdir() if path.suffix.lower() == ".png")
    chosen = [path for path in files if path.name in FIG9_IMAGES]
    return (chosen + [path for path in files if path not in chosen])[:count]


def kodak_fit(context: Context, model: str, image: Path, params: int | None = None) -> dict[str, Any]:
    """``model`` fitted to one Kodak image at this protocol (shared by Table 3 and Fig. 9); ``params``: the grid's
    budget."""
    config = FitImageConfig(
        data=image,
        model=model,
        params=params,
        bases=KODAK_BASES if model == "asmr" and context.protocol == "paper" else None,
        steps=kodak_steps(context),
        downscale=kodak_downscale(context),
        init=context.init,
    )
    if config.downscale > 1 and model != "grid":
        config = narrowed(config, config.downscale, channels=3)
    return fit_image_once(context, kodak_folder(context, model, image), config)


def kodak_steps(context: Context) -> int:
    return context.pick(PAPER_STEPS, 2000, 5)


def kodak_downscale(context: Context) -> int:
    """128x192 under the REDUCED protocol: at 64x96 and width /8 every network is too small for the paper's
    comparison to hold (docs/studies/scale.md)."""
    return context.pick(1, 4, 16)


def kodak_folder(context: Context, model: str, image: Path) -> Path:
    """Where ``kodak_fit`` writes (reconstruction.png, results.json, checkpoint.pt)."""
    return context.work / "kodak" / model / image.stem


def kodak_models(context: Context) -> tuple[str, ...]:
    return context.pick(tuple(paper_values.TABLE3), ("ffn", "siren", "asmr"), ("siren", "asmr"))


def table3(context: Context) -> Outcome:
    images = kodak_images(context, context.pick(24, 3, 1))
    rows, data = [], {}
    for model in (*kodak_models(context), "grid"):
        asmr_params = [run["params"] for run in data["asmr"]["images"].values()] if model == "grid" else None
        runs = [
            kodak_fit(context, model, image, None if asmr_params is None else asmr_params[index])
            for index, image in enumerate(images)
        ]
        psnr, psnr_std = mean_std([run["final_psnr"] for run in runs])
        ssim, ssim_std = mean_std([run["ssim"] for run in runs])
        paper = paper_values.TABLE3.get(model, {})
        paper_psnr, paper_ssim = paper.get("psnr"), paper.get("ssim")
        data[model] = {
            "psnr_mean": psnr,
            "psnr_std": psnr_std,
            "ssim_mean": ssim,
            "ssim_std": ssim_std,
            "params": runs[0]["params"],
            "params_per_sample": runs[0].get("params_per_sample"),
            "macs_with_bias": runs[0]["macs_with_bias"],
            "images": {Path(run["data"]).name: pick_keys(run) for run in runs},
            "paper_psnr": paper_psnr,
            "paper_ssim": paper_ssim,
        }
        rows.append(
            [
                {"siren": "SIREN", "grid": GRID_ROW}.get(model, model.upper()),
                runs[0]["params"],
                ratio_text(runs[0].get("params_per_sample")),
                f"{runs[0]['macs_with_bias']:,.0f}",
                psnr_text(psnr, psnr_std),
                psnr_text(ssim, ssim_std) if ssim is None else f"{ssim:.3f} ± {ssim_std:.3f}",
                f"{sum(run['seconds'] for run in runs):.0f} s",
                paper_psnr,
                paper_ssim,
            ]
        )
    body = markdown_table(
        [
            "model",
            "params",
            "params/sample",
            "MACs/px (+bias)",
            "PSNR (final)",
            "SSIM",
            f"fit time, {len(images)} images",
            "paper PSNR",
            "paper SSIM",
        ],
        rows,
    )
    asmr = data["asmr"]
    return Outcome(
        body=body + f"\n\nImages: {', '.join(path.name for path in images)}.",
        data={"models": data, "images": [path.name for path in images]},
        comparison=f"ASMR {asmr['psnr_mean']:.2f} dB over {len(images)} image(s) (paper {asmr['paper_psnr']:.2f} over 24)",
        reduced=""
        if context.protocol == "paper"
        else f"{len(images)} of the 24 images, box-filtered by {kodak_downscale(context)}, every network narrowed to the "
        f"paper's parameters per pixel (`narrowed`), {kodak_steps(context)} steps, auto bases for the smaller images; models "
        f"{', '.join(kodak_models(context))} (WIRE left out: 10x SIREN's cost on a CPU; MFN left out for time: the paper has "
        "it 5.5 dB under ASMR)",
    )


def runner_table(
    context: Context,
    item: str,
    runs: Sequence[tuple[str, Any, Any, float | None]],
    metric: str,
    metric_label: str,
) -> tuple[str, list[dict[str, Any]]]:
    """Run ``(label, run function, config, paper value)`` rows into work/<item>/<label>, and after the "asmr" row the
    dense grid at its parameters (``GRID_ROW``, into work/<item>/grid); a table of ``metric``."""
    rows, data = [], []
    asmr = next((entry for entry in runs if entry[0] == "asmr"), None)
    if asmr is not None:
        label, run, config, _ = asmr
        shape = {name: None for name in ("bases", "hidden_dim", "num_layers", "omega0") if hasattr(config, name)}
        runs = [*runs, ("grid", run, replace(config, model="grid", **shape), None)]
    for label, run, config, paper in runs:
        options = {**context.run_options(context.work / item / label), "init": context.init}
        if label == "grid":
            options["params"] = row(data, "asmr")["params"]
        result = run(replace(config, **options), context.console)
        keys = ("params", "params_per_sample", "macs_with_bias", "seconds")
        record = {key: single(result.get(key)) for key in keys}
        data.append({"row": label, metric: result[metric], **record, "paper": paper})
        rows.append(
            [
                GRID_ROW if label == "grid" else label,
                record["params"],
                ratio_text(record["params_per_sample"]),
                macs_text(record["macs_with_bias"]),
                result[metric],
                seconds_text(record["seconds"]),
                "not in the paper" if label == "grid" else paper,
            ]
        )
    headers = ["model", "params", "params/sample", "MACs/sample (+bias)", metric_label, "fit time", "paper"]
    return markdown_table(headers, rows), data


def row(data: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The row of ``runner_table``'s data named ``name``."""
    return next(entry for entry in data if entry["row"] == name)


def single(value: Any) -> Any:
    """A summary's one-element list (e.g. the params of every shape) as its element."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def macs_text(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def seconds_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


def table4(context: Context) -> Outcome:
    # the paper's 2 s (about one parameter per sample): 1 s would let the ~33K-parameter networks memorize the clip
    steps, seconds = context.pick(PAPER_STEPS, 2000, 5), context.pick(2.0, 2.0, 0.05)
    paper = paper_values.TABLE4
    runs = [
        (model, audio.run, audio.FitAudioConfig(model=model, steps=steps, seconds=seconds), paper[model])
        for model in context.pick(tuple(paper), tuple(paper), ("siren", "asmr"))
    ]
    body, data = runner_table(context, "table4", runs, "final_psnr", "final PSNR (dB)")
    asmr = row(data, "asmr")
    return Outcome(
        body=body + "\n\nData: the generated speech-like clip (LibriSpeech is not bundled); the paper's values are "
        "LibriSpeech means over 100 clips.\n\n" + MEMORIZATION_NOTE,
        data={"rows": data, "steps": steps, "seconds": seconds},
        comparison=f"ASMR {asmr['final_psnr']:.2f} dB on the generated clip (paper {paper['asmr']:.2f} on LibriSpeech)",
        reduced="" if context.protocol == "paper" else f"{steps} steps",
    )


MEMORIZATION_NOTE = (
    "Parameters per sample near 1 (params / (samples x channels)): the paper's audio networks have about as many "
    "parameters as the clip has samples, so a table of the samples themselves (the grid row at one value per sample) "
    "is exact. Above about 1/2 a network can store the clip rather than compress it; this table measures fitting "
    "capacity, not compression (docs/studies/grid-baseline.md)."
)


def table5(context: Context) -> Outcome:
    paper = paper_values.TABLE5
    # batches of 8,192: 970 steps in 4 epochs (65,536 gave 121: ASMR 17.1 dB, SIREN 30.9; 8,192: 29.7 and 35.9)
    options = context.pick({}, {"epochs": 4.0, "batch": 8192}, {"epochs": 0.01, "batch": 4096})
    width = context.pick({}, {"hidden_dim": 128}, {"hidden_dim": 16})  # of the sine networks (the paper: 512)
    runs = [
        (
            model,
            megapixel.run,
            megapixel.FitMegapixelConfig(model=model, **options, **sine_width(model, width)),
            paper[model],
        )
        for model in context.pick(tuple(paper), tuple(paper), ("asmr",))
    ]
    body, data = runner_table(context, "table5", runs, "final_psnr", "final PSNR (dB)")
    asmr = row(data, "asmr")
    return Outcome(
        body=body + "\n\nData: retina.jpg (1411×1411, scikit-image); the paper fits the 8192×8192 Pluto image.",
        data={"rows": data, "options": options},
        comparison=f"ASMR {asmr['final_psnr']:.2f} dB on retina (paper {paper['asmr']:.2f} on Pluto)",
        reduced="" if context.protocol == "paper" else f"{options_text(options)}; ASMR and SIREN {options_text(width)}",
    )


def options_text(options: dict[str, Any]) -> str:
    """Options as the command line spells them: --epochs 1.0 --batch 65536."""
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in options.items())


def sine_width(model: str, width: dict[str, Any]) -> dict[str, Any]:
    """``width`` for ASMR and SIREN (the reduced protocols shrink them; the other networks are small already)."""
    return width if model in ("asmr", "siren") else {}


def model_width(model: str, widths: dict[str, int]) -> dict[str, Any]:
    """The --hidden-dim of ``model`` in ``widths``, if it has one there."""
    return {"hidden_dim": widths[model]} if model in widths else {}


def table6(context: Context) -> Outcome:
    paper = paper_values.TABLE6
    options = context.pick(
        OCCUPANCY_NETWORKS,
        {"resolution": 64, "epochs": 20, "points_per_epoch": 100_000, "hidden_dim": 128},
        {"resolution": 8, "epochs": 1, "points_per_epoch": 2048, "hidden_dim": 16},
    )
    runs = [
        (model, occupancy.run, occupancy.FitOccupancyConfig(model=model, **options), paper[model]) for model in paper
    ]
    body, data = runner_table(context, "table6", runs, "iou_mean", "IoU (mean over shapes)")
    return Outcome(
        body=body + "\n\nData: the three default shapes (torus, arrow, sphere); the paper: 55 ShapeNet objects.",
        data={"rows": data, "options": options},
        comparison=f"IoU ASMR {row(data, 'asmr')['iou_mean']:.3f}, SIREN {row(data, 'siren')['iou_mean']:.3f} "
        f"(paper {paper['asmr']:.3f} / {paper['siren']:.3f})",
        reduced="" if context.protocol == "paper" else options_text(options),
    )


def table10(context: Context) -> Outcome:
    paper = paper_values.TABLE10
    # batches of 8,192: 600 steps in 10 epochs (32,768 gave 150, too few for ASMR at 1e-4: docs/studies/video.md)
    options = context.pick({}, {"epochs": 10.0, "batch": 8192}, {"epochs": 0.05, "batch": 4096, "frames": 4})
    # every width /4 with the frames (512 -> 128 px): KiloNeRF keeps the paper's 16x16 tiles over the frame
    widths = context.pick({}, {"asmr": 128, "siren": 128, "kilonerf": 8}, {"asmr": 16, "siren": 16, "kilonerf": 4})
    runs = [
        (model, video.run, video.FitVideoConfig(model=model, **options, **model_width(model, widths)), paper[model])
        for model in paper
    ]
    body, data = runner_table(context, "table10", runs, "psnr_mean", "per-frame PSNR (mean)")
    return Outcome(
        body=body
        + "\n\nData: the generated 24-frame pan across chelsea (128×160); the paper fits the 300-frame cat video.",
        data={"rows": data, "options": options, "widths": widths},
        comparison=f"ASMR {row(data, 'asmr')['psnr_mean']:.2f} dB, SIREN {row(data, 'siren')['psnr_mean']:.2f} "
        f"(paper {paper['asmr']:.2f} / {paper['siren']:.2f})",
        reduced=""
        if context.protocol == "paper"
        else f"{options_text(options)}; widths " + ", ".join(f"{model} {width}" for model, width in widths.items()),
    )


def fig5(context: Context) -> Outcome:
    options = context.pick(
        {},
        {"steps": 150, "hidden_dim": 64, "eval_every": 50, "outer_lr": 1e-4},
        {"steps": 2, "hidden_dim": 8, "eval_every": 1, "eval_images": 4, "batch": 4},
    )
    out = context.work / "fig5"
    result = meta.run(replace(meta.MetaLearnConfig(**options), **context.run_options(out)), context.console)
    rows = [[name, model.get("test_psnr_mean"), model.get("test_psnr_std")] for name, model in result["models"].items()]
    figure_path = out / "reconstructions.png"
    return Outcome(
        body=markdown_table(["model", "held-out PSNR after 3 steps (dB)", "std"], rows)
        + "\n\nData: scikit-image's LFW subset at 32×32 (CIFAR-10 is not bundled). The paper shows reconstructions "
        "only (no number).",
        data={"result": result, "options": options},
        comparison=", ".join(
            f"{name} {model.get('test_psnr_mean', float('nan')):.2f} dB" for name, model in result["models"].items()
        ),
        reduced="" if context.protocol == "paper" else options_text(options),
        figure=figure_path if figure_path.is_file() else None,
    )
