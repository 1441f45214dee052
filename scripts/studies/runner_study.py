"""Studies that go through the fit commands themselves (video, megapixel, occupancy): the output layer's start per
signal, and the video study's epochs, batches and rates (docs/studies/init-per-signal.md, docs/studies/video.md).

python scripts/studies/runner_study.py init RESULTS.jsonl [--signals video megapixel occupancy] [--epochs-factor 10]
python scripts/studies/runner_study.py video RESULTS.jsonl
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness import Job, run_jobs, runner

REDUCED = {  # the REDUCED protocol's options of Tables 10, 5 and 6 (asmr_plugin/reproduce/fits.py)
    "video": {"epochs": 10.0, "batch": 32768, "hidden_dim": 128},
    "megapixel": {"epochs": 4.0, "batch": 1 << 16, "hidden_dim": 128},
    "occupancy": {"resolution": 64, "epochs": 20, "points_per_epoch": 100_000, "hidden_dim": 128},
}
METRIC = {"video": "psnr_mean", "megapixel": "final_psnr", "occupancy": "iou_mean"}
EXTRA_INITS = {
    "mean, x0.3": (True, 0.3),
    "mean, x1": (True, 1.0),
    "mean, x3": (True, 3.0),
    "mean, x10": (True, 10.0),
}
"""Starts beyond the --init choices, registered for the study's process only."""
INIT_SETTINGS = ("paper", "mean, x1", "mean, x3", "mean, x10")
VIDEO_SETTINGS = {  # label: options on top of the REDUCED ones
    "reduced (10 epochs, batch 32768)": {},
    "40 epochs": {"epochs": 40.0},
    "batch 8192 (4x the steps)": {"batch": 8192},
    "lr 1e-3": {"lr": 1e-3},
    "bases along time [1,2,3,4]": {"bases": ("1,2,3,4", "4,4,2,4", "4,4,2,5")},
}


def configure(signal: str):
    from asmr_plugin.fitting import megapixel, occupancy, video

    return {
        "video": (video.run, video.FitVideoConfig),
        "megapixel": (megapixel.run, megapixel.FitMegapixelConfig),
        "occupancy": (occupancy.run, occupancy.FitOccupancyConfig),
    }[signal]


@runner("runner")
def runner_job(job: Job) -> dict:
    from rich.console import Console

    from asmr_plugin.fields.initialization import INITS, OutputInit

    for name, (mean_bias, gain) in EXTRA_INITS.items():
        INITS[name] = OutputInit(mean_bias, gain)
    signal = job.settings["signal"]
    run, Config = configure(signal)
    options = {**REDUCED[signal], **job.settings.get("options", {})}
    options.setdefault("init", job.settings.get("init", "mean"))
    with tempfile.TemporaryDirectory() as out:
        config = Config(
            model=job.settings.get("model", "asmr"), seed=job.seed, out=Path(out) / "run", progress=False, **options
        )
        result = run(config, Console(quiet=True))
    value = result[METRIC[signal]]
    return {
        "final": value,
        "metric": METRIC[signal],
        "seconds": result.get("seconds"),
        "params": result.get("params"),
        "device": result.get("device"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", choices=["init", "video"])
    parser.add_argument("results", type=Path)
    parser.add_argument("--signals", nargs="+", default=list(REDUCED))
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (init), 0 (video)")
    parser.add_argument("--models", nargs="+", default=["asmr", "siren"])
    parser.add_argument("--settings", nargs="+", default=list(INIT_SETTINGS), help="init: the starts to fit")
    parser.add_argument(
        "--epochs-factor", type=float, default=1.0, help="init: the REDUCED epochs times this (signals named so)"
    )
    arguments = parser.parse_args()
    arguments.seeds = arguments.seeds or ([0, 1, 2] if arguments.study == "init" else [0])
    if arguments.study == "init":
        factor = arguments.epochs_factor
        jobs = [
            Job(
                "runner",
                signal if factor == 1 else f"{signal}, epochs x{factor:g}",
                init,
                seed,
                0,
                {
                    "signal": signal,
                    "init": init,
                    "options": {"epochs": type(REDUCED[signal]["epochs"])(REDUCED[signal]["epochs"] * factor)},
                },
            )
            for seed in arguments.seeds
            for signal in arguments.signals
            for init in arguments.settings
        ]
    else:
        jobs = [
            Job("runner", f"video-{model}", label, seed, 0, {"signal": "video", "model": model, "options": options})
            for seed in arguments.seeds
            for model in arguments.models
            for label, options in VIDEO_SETTINGS.items()
            if model == "asmr" or "bases" not in options
        ]
    run_jobs(jobs, arguments.results)


if __name__ == "__main__":
    main()
