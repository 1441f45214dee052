"""ASMR's bases (docs/studies/bases.md): orderings and level counts at 128, 256 and 512 px on Cameraman and four
Kodak images, seeds 0-2, widths 256 * size / 512 (the paper's parameters per pixel), 2K full-image steps.

python scripts/studies/bases_study.py KODAK_DIR RESULTS.jsonl --size 128 [--rules ...] [--steps 2000]
python scripts/studies/bases_study.py KODAK_DIR RESULTS.jsonl --table12      # Cameraman 512, the paper's Table 12
python scripts/studies/bases_study.py KODAK_DIR RESULTS.jsonl --audio CLIPS --rules "L4 ascending" "L4 smallest third"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import KODAK_STUDY, Job, fitted, image_corpus, image_target, run_jobs, runner

RULES = {  # name: (levels, order of the balanced factors sorted ascending f0 <= f1 <= ...)
    "L4 ascending": (4, (0, 1, 2, 3)),
    "L4 descending": (4, (3, 2, 1, 0)),
    "L4 smallest second": (4, (1, 0, 2, 3)),
    "L4 smallest third": (4, (1, 2, 0, 3)),
    "L4 smallest last": (4, (1, 2, 3, 0)),
    "L3 ascending": (3, (0, 1, 2)),
    "L3 smallest second": (3, (1, 0, 2)),
    "L5 ascending": (5, (0, 1, 2, 3, 4)),
    "L5 smallest fourth": (5, (1, 2, 3, 0, 4)),
    "L4 eight last": (4, None),  # the REDUCED protocol's until now: auto_bases of size/8 in 3 levels, then 8
}
TABLE12 = {"[4,4,4,8]": (4, 4, 4, 8), "[4,4,8,4]": (4, 4, 8, 4), "[4,8,4,4]": (4, 8, 4, 4), "[8,4,4,4]": (8, 4, 4, 4)}


def rule_bases(shape: tuple[int, ...], rule: str) -> list[list[int]]:
    """Per axis, the balanced factors of ``auto_bases`` put in the rule's order."""
    from asmr_plugin.decomposition import auto_bases

    if rule in TABLE12:
        return [list(TABLE12[rule])] * len(shape)
    levels, order = RULES[rule]
    if order is None:
        return [[*auto_bases((-(-size // 8),), levels - 1)[0], 8] for size in shape]
    return [[sorted(factors)[index] for index in order] for factors in auto_bases(shape, levels)]


@runner("bases")
def bases_job(job: Job) -> dict:
    import torch

    from asmr_plugin.fields import FIELDS
    from asmr_plugin.fields.initialization import OutputInit, channel_mean

    target = image_target(job.settings["path"], job.settings["size"])
    bases = rule_bases(tuple(target.shape[:2]), job.setting)
    torch.manual_seed(job.seed)
    field = FIELDS["asmr"](target.shape[:2], target.shape[-1], hidden_dim=job.settings["hidden"], bases=bases)
    init = job.settings["init"]
    if "gain" in job.settings:  # the mean start at a stated output gain (the 128-px grid: x1, the default of its day)
        OutputInit(True, job.settings["gain"]).apply(field, channel_mean(target))
        init = "paper"
    return {**fitted(field, target, job, init), "bases": bases}


@runner("bases-audio")
def audio_bases_job(job: Job) -> dict:
    import torch

    from asmr_plugin.fields import FIELDS
    from asmr_plugin.io.audio import load_audio

    target = load_audio(Path(job.settings["path"]), 16_000, 2.0)
    bases = rule_bases(tuple(target.shape[:1]), job.setting)
    torch.manual_seed(job.seed)
    field = FIELDS["asmr"](target.shape[:1], 1, hidden_dim=128, bases=bases)
    return {**fitted(field, target, job, "paper", (-1.0, 1.0)), "bases": bases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kodak", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rules", nargs="+", default=list(RULES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--images", nargs="*", default=list(KODAK_STUDY), help="Kodak names (Cameraman always)")
    parser.add_argument("--init", default="mean")
    parser.add_argument(
        "--gain", type=float, help="with --init mean: ASMR's output weights times this (default: the signal's)"
    )
    parser.add_argument("--table12", action="store_true", help="Cameraman at 512 with the paper's permutations")
    parser.add_argument("--audio", type=Path, help="a folder of clips: the rules on 2 s at 16 kHz instead of images")
    arguments = parser.parse_args()
    if arguments.audio:
        clips = sorted(arguments.audio.glob("*.wav"))
        jobs = [
            Job("bases-audio", clip.stem, rule, seed, arguments.steps, {"path": str(clip)})
            for seed in arguments.seeds
            for clip in clips
            for rule in arguments.rules
        ]
        return run_jobs(jobs, arguments.results)
    if arguments.table12:
        arguments.size, arguments.rules, arguments.images = 512, list(TABLE12), []
    settings = {"size": arguments.size, "hidden": 256 * arguments.size // 512, "init": arguments.init}
    if arguments.gain is not None:
        settings["gain"] = arguments.gain
    jobs = []
    for path in image_corpus(arguments.kodak, arguments.images):
        shape = tuple(image_target(path, arguments.size).shape[:2])
        distinct = {}  # rules giving the same bases on this image are one fit (the first rule's)
        for rule in arguments.rules:
            distinct.setdefault(str(rule_bases(shape, rule)), rule)
        signal = f"{Path(path).stem}@{arguments.size}"
        jobs += [
            Job("bases", signal, rule, seed, arguments.steps, {**settings, "path": path})
            for seed in arguments.seeds
            for rule in distinct.values()
        ]
    run_jobs(sorted(jobs, key=lambda job: job.seed), arguments.results)


if __name__ == "__main__":
    main()
