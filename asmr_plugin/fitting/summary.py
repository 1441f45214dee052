"""Folder runs summarized like the paper's tables: mean ± std of each metric, as Markdown and JSON."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
from rich.console import Console

from asmr_plugin.fields import GridField
from asmr_plugin.io.files import atomic_path, write_json
from asmr_plugin.training.resume import content_hash

METRICS = {
    "final_psnr": ("PSNR (dB)", ".3f"),
    "ssim": ("SSIM", ".4f"),
    "iou": ("IoU", ".4f"),
    "sdf_mae": ("SDF mean abs error", ".5f"),
}
"""Per-run result keys that can be summarized: label and number format."""


def mean_std(values: Sequence[float | None]) -> Tuple[float | None, float | None]:
    """Mean and population standard deviation (ddof 0) of the defined values (None: not defined,
    e.g. SSIM of a tiny image); (None, None) when none is."""
    array = np.asarray([value for value in values if value is not None], dtype=np.float64)
    if array.size == 0:
        return None, None
    return float(array.mean()), float(array.std())


def formatted(value: float | None, spec: str) -> str:
    """``value`` in ``spec``, or n/a where it is not defined."""
    return "n/a" if value is None else f"{value:{spec}}"


def params_per_sample(params: int, shape: Sequence[int], channels: int) -> float:
    """Parameters over the signal's values (samples x channels): near 1 or above, a network can store the signal
    itself (memorization, not compression)."""
    return params / (math.prod(shape) * channels)


def run_record(
    field: GridField, shape: Sequence[int], device: torch.device | str, config: Any, data: Path | str | None = None
) -> Dict[str, Any]:
    """What every results.json says about the network and the run: its arguments, size, MACs
    (both conventions), device, threads, the run's options (a dataclass; paths absolute) and the SHA-256 of the
    ``data`` it fitted (None for a generated signal), which ``--resume`` checks."""
    macs = field.macs(tuple(shape))
    return {
        "init_kwargs": field.init_kwargs,
        "output_init": field.initialization or "paper",
        "params": field.num_params(),
        "params_per_sample": params_per_sample(field.num_params(), shape, field.out_dim),
        "macs_weights": macs.weights_only,
        "macs_with_bias": macs.with_bias,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "config": {
            key: str(Path(value).resolve()) if isinstance(value, Path) else value
            for key, value in asdict(config).items()
        },
        "data_sha256": None if data is None else content_hash(Path(data)),
    }


def write_summary(
    out: Path,
    model: str,
    folder: Path,
    protocol: str,
    runs: List[Dict[str, Any]],
    metrics: Sequence[str],
    console: Console,
) -> Dict[str, Any]:
    """Write summary.json and summary.md into ``out`` for the per-signal ``runs`` and return the summary."""
    statistics = {key: mean_std([run[key] for run in runs]) for key in metrics}
    summary = {
        "data": str(folder),
        "model": model,
        "signals": len(runs),
        "protocol": protocol,
        **{
            f"{key.removeprefix('final_')}_{stat}": value
            for key, pair in statistics.items()
            for stat, value in zip(("mean", "std"), pair)
        },
        "params": sorted({run["params"] for run in runs}),
        "params_per_sample": sorted({run["params_per_sample"] for run in runs if "params_per_sample" in run}),
        "macs_with_bias": sorted({run["macs_with_bias"] for run in runs}),
        "macs_weights": sorted({run["macs_weights"] for run in runs}),
        "seconds": sum(run["seconds"] for run in runs),
        "device": runs[0]["device"],
        "torch_threads": runs[0]["torch_threads"],
        "notes": "Metrics are final values (after the last step); std is the population std (ddof 0) over "
        "signals; a metric that is not defined for a signal (null, e.g. SSIM below 6 pixels) is left out of both.",
        "runs": [
            {key: run[key] for key in ("data", "shape", "best_psnr", "seconds", *metrics) if key in run} for run in runs
        ],
    }
    labels = [METRICS[key][0] for key in metrics]
    lines = [
        f"# {model} on {folder} ({len(runs)} signals)",
        "",
        f"Protocol: {protocol}. Device: {summary['device']} ({summary['torch_threads']} threads).",
        "",
        "| Method | #Params | MACs/sample (+bias) | " + " | ".join(labels) + " |",
        "|---|---|---|" + "---|" * len(labels),
        f"| {model} | {', '.join(f'{p:,}' for p in summary['params'])} | "
        f"{', '.join(f'{m:,.1f}' for m in summary['macs_with_bias'])} | "
        + " | ".join(
            f"{formatted(mean, METRICS[key][1])} ± {formatted(std, METRICS[key][1])}"
            for key, (mean, std) in statistics.items()
        )
        + " |",
        "",
        "| Signal | Shape | " + " | ".join(labels) + " | Seconds |",
        "|---|---|" + "---|" * (len(labels) + 1),
        *(
            f"| {Path(run['data']).name} | {'x'.join(map(str, run['shape']))} | "
            + " | ".join(formatted(run[key], METRICS[key][1]) for key in metrics)
            + f" | {run['seconds']:.1f} |"
            for run in runs
        ),
        "",
        summary["notes"],
        "",
    ]
    write_json(out / "summary.json", summary)
    with atomic_path(out / "summary.md") as temporary:
        temporary.write_text("\n".join(lines))
    console.print(
        f"{len(runs)} signals: "
        + ", ".join(
            f"{METRICS[key][0]} {formatted(mean, METRICS[key][1])} ± {formatted(std, METRICS[key][1])}"
            for key, (mean, std) in statistics.items()
        )
        + f" -> {out}"
    )
    return summary
