"""Output-layer initialization per signal (docs/studies/init-per-signal.md): ASMR started five ways on an audio
corpus and an image corpus, short and full schedules, seeds 0-2.

python scripts/studies/init_study.py audio CORPUS_DIR RESULTS.jsonl [--steps 300 2000 10000]
python scripts/studies/init_study.py image KODAK_DIR RESULTS.jsonl [--size 256] [--steps 300 2000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import KODAK_STUDY, Job, fitted, image_corpus, image_target, run_jobs, runner

CANDIDATES = {  # setting: (bias at the mean, output-weight gain: a number or "match")
    "paper": (False, 1.0),
    "mean": (True, 1.0),
    "mean, x0.1": (True, 0.1),
    "mean, x0.3": (True, 0.3),
    "mean, x0.5": (True, 0.5),
    "mean, x3": (True, 3.0),
    "mean, x10": (True, 10.0),
    "mean, matched": (True, "match"),
}
"""'matched': the output weights scaled so that the first prediction varies as much as the signal (its std)."""
SEEDS = (0, 1, 2)


def matched_gain(network, target, points: int = 2**14) -> float:
    """The output-weight gain at which ``network``'s first prediction varies as much as ``target`` does: the
    signal's standard deviation over that of the prediction without its bias, on up to ``points`` grid points
    drawn with a generator of its own."""
    import torch

    with torch.no_grad():
        shape = tuple(target.shape[:-1])
        flat = target.reshape(-1, target.shape[-1])
        picked = torch.randperm(flat.shape[0], generator=torch.Generator().manual_seed(0))[:points]
        coords = torch.stack(torch.unravel_index(picked, shape), dim=-1).float()
        spread = (network(coords) - network.output_layer()[1]).std().item()
    return flat.std().item() / spread if spread > 0 else 1.0


def start(field, target, setting: str) -> float:
    """Apply ``setting`` to ``field``; returns the gain used."""
    from asmr_plugin.fields.initialization import OutputInit, channel_mean

    mean_bias, gain = CANDIDATES[setting]
    if gain == "match":
        gain = matched_gain(field, target)
    OutputInit(mean_bias, gain).apply(field, channel_mean(target), setting)
    return float(gain)


@runner("init-audio")
def audio_job(job: Job) -> dict:
    import torch

    from asmr_plugin.fields import FIELDS
    from asmr_plugin.io.audio import load_audio
    from asmr_plugin.paper.networks import AUDIO_NETWORKS

    target = load_audio(Path(job.settings["path"]), 16_000, 2.0)
    torch.manual_seed(job.seed)
    field = FIELDS["asmr"](target.shape[:1], 1, **AUDIO_NETWORKS["asmr"])
    gain = start(field, target, job.setting)
    return {**fitted(field, target, job, "paper", (-1.0, 1.0)), "gain": gain, "signal_std": target.std().item()}


@runner("init-image")
def image_job(job: Job) -> dict:
    import torch

    from asmr_plugin.decomposition import auto_bases
    from asmr_plugin.fields import FIELDS

    target = image_target(job.settings["path"], job.settings["size"])
    torch.manual_seed(job.seed)
    hidden = job.settings["hidden"]
    field = FIELDS["asmr"](target.shape[:2], target.shape[-1], hidden_dim=hidden, bases=auto_bases(target.shape[:2]))
    gain = start(field, target, job.setting)
    return {**fitted(field, target, job, "paper"), "gain": gain, "signal_std": target.std().item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("signal", choices=["audio", "image"])
    parser.add_argument("data", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--size", type=int, default=256, help="images: the longer side after box-filtering")
    parser.add_argument("--images", nargs="*", default=list(KODAK_STUDY), help="images: Kodak names (Cameraman always)")
    parser.add_argument("--settings", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    arguments = parser.parse_args()
    if arguments.signal == "audio":
        files = sorted(path for path in arguments.data.iterdir() if path.suffix == ".wav")
    else:
        files = [Path(path) for path in image_corpus(arguments.data, arguments.images)]
    settings = {"hidden": 256 * arguments.size // 512, "size": arguments.size} if arguments.signal == "image" else {}
    size = f"@{arguments.size}" if arguments.signal == "image" else ""
    jobs = [
        Job(f"init-{arguments.signal}", f"{path.stem}{size}", setting, seed, steps, {**settings, "path": str(path)})
        for steps in arguments.steps
        for path in files
        for seed in arguments.seeds
        for setting in arguments.settings
    ]
    run_jobs(jobs, arguments.results)


if __name__ == "__main__":
    main()
