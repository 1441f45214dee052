"""ASMR, SIREN and a dense grid over parameters per sample (docs/studies/grid-baseline.md): each network sized to a
fraction of the signal's values (samples x channels), from 1/64 to 1, on images, speech and occupancy.

python scripts/studies/grid_study.py image KODAK_DIR RESULTS.jsonl [--size 128] [--ratios ...] [--models ...]
python scripts/studies/grid_study.py audio CLIPS_DIR RESULTS.jsonl [--clips speech-counting-m speech-sentence-f]
python scripts/studies/grid_study.py occupancy - RESULTS.jsonl [--resolution 64]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

from harness import KODAK_STUDY, Job, fitted, image_corpus, image_target, run_jobs, runner

RATIOS = (1 / 64, 1 / 16, 1 / 4, 1.0)
MODELS = ("asmr", "siren", "grid")


def sized(model: str, shape: tuple[int, ...], channels: int, ratio: float, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` for ``model`` with the width (the grid: the budget) whose parameters come closest to ``ratio`` of
    the signal's values."""
    from asmr_plugin.fields.registry import build_field, checking_only

    budget = round(ratio * math.prod(shape) * channels)
    if model == "grid":
        return {"params": budget}

    def params(width: int) -> int:
        with checking_only():
            return build_field(model, shape, channels, hidden_dim=width, defaults=options).num_params()

    low, high = 2, 1024  # parameters grow with the width: the first width at or above the budget, or the one before
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if params(middle) < budget else (low, middle)
    width = min({max(low - 1, 2), low}, key=lambda width: abs(params(width) - budget))
    return {**options, "hidden_dim": width}


def build(job: Job, shape: tuple[int, ...], channels: int, options: dict[str, Any]):
    import torch

    from asmr_plugin.fields.registry import build_field

    torch.manual_seed(job.seed)
    model = job.setting.split("@")[0]
    sizes = sized(model, shape, channels, job.settings["ratio"], options.get(model, {}))
    params = sizes.pop("params", None)
    return build_field(model, shape, channels, defaults=sizes, params=params)


def ratio_record(record: dict[str, Any], values: int) -> dict[str, Any]:
    return {**record, "params_per_sample": record["params"] / values}


@runner("grid-image")
def image_job(job: Job) -> dict:
    target = image_target(job.settings["path"], job.settings["size"])
    field = build(job, tuple(target.shape[:2]), target.shape[-1], {"siren": {"num_layers": 4}})
    return {**ratio_record(fitted(field, target, job, "mean"), target.numel()), "shape": list(target.shape)}


@runner("grid-audio")
def audio_job(job: Job) -> dict:
    from asmr_plugin.io.audio import load_audio
    from asmr_plugin.paper.networks import AUDIO_NETWORKS

    target = load_audio(Path(job.settings["path"]), 16_000, 2.0)
    options = {name: {k: v for k, v in AUDIO_NETWORKS[name].items() if k != "hidden_dim"} for name in ("siren",)}
    field = build(job, tuple(target.shape[:1]), 1, options)
    return ratio_record(fitted(field, target, job, "mean", (-1.0, 1.0)), target.numel())


@runner("grid-occupancy")
def occupancy_job(job: Job) -> dict:
    """The three default shapes by ``asmr-fit occupancy`` at the REDUCED protocol's sampling; IoU averaged."""
    from asmr_plugin.fitting import occupancy

    resolution = job.settings["resolution"]
    model = job.setting.split("@")[0]
    levels = round(math.log2(resolution))
    options = {"siren": {"num_layers": levels}, "asmr": {"bases": [[2] * levels] * 3}}
    sizes = sized(model, (resolution,) * 3, 1, job.settings["ratio"], options.get(model, {}))
    sizes.pop("bases", None)
    sizes.pop("num_layers", None)
    with tempfile.TemporaryDirectory() as out:
        config = occupancy.FitOccupancyConfig(
            model=model,
            resolution=resolution,
            epochs=job.steps,
            points_per_epoch=100_000,
            seed=job.seed,
            out=Path(out),
            progress=False,
            **sizes,
        )
        summary = occupancy.run(config)
    return {
        "final": summary["iou_mean"],
        "iou": {run["data"]: run["iou"] for run in summary["runs"]},
        "params": summary["params"][0],
        "macs": summary["macs_with_bias"][0],
        "seconds": summary["seconds"],
        "params_per_sample": summary["params"][0] / resolution**3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("signal", choices=["image", "audio", "occupancy"])
    parser.add_argument("data", help="Kodak folder (images), clips folder (audio), '-' (occupancy)")
    parser.add_argument("results", type=Path)
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=2000, help="occupancy: epochs of 100K points")
    parser.add_argument("--size", type=int, default=128, help="images: the longer side after box-filtering")
    parser.add_argument("--images", nargs="*", default=list(KODAK_STUDY), help="Kodak names (Cameraman always)")
    parser.add_argument("--clips", nargs="+", default=["speech-counting-m", "speech-sentence-f"])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2)
    arguments = parser.parse_args()
    if arguments.signal == "image":
        signals = {
            f"{Path(path).stem}@{arguments.size}": {"path": path, "size": arguments.size}
            for path in image_corpus(Path(arguments.data), arguments.images)
        }
    elif arguments.signal == "audio":
        signals = {clip: {"path": str(Path(arguments.data) / f"{clip}.wav")} for clip in arguments.clips}
    else:
        signals = {f"shapes@{arguments.resolution}": {"resolution": arguments.resolution}}
    jobs = [
        Job(f"grid-{arguments.signal}", name, f"{model}@{ratio:g}", seed, arguments.steps, {**settings, "ratio": ratio})
        for ratio in arguments.ratios
        for name, settings in signals.items()
        for seed in arguments.seeds
        for model in arguments.models
    ]
    run_jobs(jobs, arguments.results, arguments.processes)


if __name__ == "__main__":
    main()
