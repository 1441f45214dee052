"""ASMR (4) against SIREN (4) at equal parameters per pixel over image sizes (docs/studies/scale.md): both at
width 256 * size / 512 (the paper's Cameraman networks scaled with the image), Cameraman and Kodak images
box-filtered to each size, the same full-image steps, `--init mean`.

python scripts/studies/scale_study.py KODAK_DIR RESULTS.jsonl --sizes 64 128 256 [--steps 2000] [--seeds 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import KODAK_STUDY, Job, fitted, image_corpus, image_target, run_jobs, runner


@runner("scale")
def scale_job(job: Job) -> dict:
    import torch

    from asmr_plugin.fields import FIELDS

    target = image_target(job.settings["path"], job.settings["size"])
    torch.manual_seed(job.seed)
    hidden = job.settings["hidden"]
    options = {"hidden_dim": hidden} | ({"num_layers": 4} if job.setting == "siren" else {})
    field = FIELDS[job.setting](target.shape[:2], target.shape[-1], **options)
    record = fitted(field, target, job, "mean")
    return {**record, "params_per_value": record["params"] / target.numel(), "shape": list(target.shape)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kodak", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--images", nargs="+", default=list(KODAK_STUDY))
    parser.add_argument("--models", nargs="+", default=["asmr", "siren"])
    arguments = parser.parse_args()
    jobs = [
        Job("scale", f"{Path(path).stem}@{size}", model, seed, arguments.steps,
            {"size": size, "hidden": 256 * size // 512, "path": path})
        for size in arguments.sizes
        for seed in arguments.seeds
        for path in image_corpus(arguments.kodak, arguments.images)
        for model in arguments.models
    ]
    run_jobs(jobs, arguments.results)


if __name__ == "__main__":
    main()
