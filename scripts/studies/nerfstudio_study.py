"""`ns-train asmr-image` started as the paper does and as `--pipeline.model.init mean` does (the default): final
PSNR by `ns-eval` after short and longer schedules (docs/studies/init-per-signal.md).

python scripts/studies/nerfstudio_study.py KODAK_DIR RESULTS.jsonl [--iterations 300 2000] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Job, image_corpus, run_jobs, runner

BIN = Path(sys.executable).parent


@runner("nerfstudio")
def nerfstudio_job(job: Job) -> dict:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    with tempfile.TemporaryDirectory() as folder:
        command = [
            str(BIN / "ns-train"), "asmr-image", "--data", job.settings["path"], "--output-dir", folder,
            "--timestamp", "run", "--max-num-iterations", str(job.steps), "--machine.seed", str(job.seed),
            "--pipeline.model.init", job.setting, "--vis", "tensorboard", "--machine.device-type", "cpu",
        ]
        subprocess.run(command, check=True, env=environment, capture_output=True)
        config = next(Path(folder).rglob("config.yml"))
        scores = Path(folder) / "eval.json"
        subprocess.run([str(BIN / "ns-eval"), "--load-config", str(config), "--output-path", str(scores)],
                       check=True, env=environment, capture_output=True)
        results = json.loads(scores.read_text())["results"]
    return {"final": results["psnr"], "ssim": results.get("ssim"), "marks": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kodak", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--iterations", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--images", nargs="+", default=[], help="Kodak names (Cameraman always)")
    arguments = parser.parse_args()
    jobs = [
        Job("nerfstudio", Path(path).stem, init, seed, iterations, {"path": path})
        for iterations in arguments.iterations
        for seed in arguments.seeds
        for path in image_corpus(arguments.kodak, arguments.images)
        for init in ("paper", "mean")
    ]
    run_jobs(jobs, arguments.results)


if __name__ == "__main__":
    main()
