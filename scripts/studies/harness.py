"""What every study here shares: a job (one network, one signal, one start, one seed, one schedule) run on one
thread, two at a time, each result appended to a JSON-lines file so that a stopped study resumes where it stopped.
STUDY_PROCESSES sets how many jobs run at a time, STUDY_DEVICE where they fit (cpu, or cuda: gpu_unmeasured.sh)."""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KODAK_STUDY = ("kodim03.png", "kodim05.png", "kodim15.png", "kodim23.png")
"""The Kodak images of the studies: Fig. 9's three and kodim05 (detailed, unlike the three)."""
MARKS = (100, 300, 1000, 3000)
"""Steps of a schedule whose PSNR each job records (those inside it)."""


@dataclass(frozen=True)
class Job:
    """One fit: ``study`` names the function (in ``RUNNERS``) that runs it with ``settings``."""

    study: str
    signal: str
    setting: str
    seed: int
    steps: int
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.study}|{self.signal}|{self.setting}|{self.seed}|{self.steps}"


RUNNERS: dict[str, Callable[[Job], dict[str, Any]]] = {}


def runner(name: str) -> Callable[[Callable[[Job], dict[str, Any]]], Callable[[Job], dict[str, Any]]]:
    def register(function: Callable[[Job], dict[str, Any]]) -> Callable[[Job], dict[str, Any]]:
        RUNNERS[name] = function
        return function

    return register


def fitted(
    field: Any, target: Any, job: Job, init: str, value_range: tuple[float, float] = (0.0, 1.0)
) -> dict[str, Any]:
    """``field`` fitted to ``target`` for the job's steps and seed (Adam at the network's rate: 1e-4 for ASMR and
    SIREN; cosine to 1e-6) on the device STUDY_DEVICE names (default cpu): final and best PSNR, the PSNR at
    ``MARKS``, seconds, the device, and the network's parameters and MACs per sample."""
    import torch

    from asmr_plugin.training.loop import FitConfig, fit

    device = torch.device(os.environ.get("STUDY_DEVICE", "cpu"))
    config = FitConfig(
        steps=job.steps, lr=field.paper_lr, value_range=value_range, seed=job.seed, progress=False, init=init
    )
    history = fit(field.to(device), target.to(device), config)
    by_step = dict(zip(history.steps, history.psnr))
    return {
        "final": history.psnr[-1],
        "best": max(history.psnr),
        "marks": {str(mark): by_step[mark] for mark in MARKS if mark in by_step},
        "seconds": history.seconds,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "torch": torch.__version__,
        "params": field.num_params(),
        "macs": field.macs().with_bias,
    }


def _run(job: Job) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    record = RUNNERS[job.study](job)
    return {**asdict(job), "key": job.key, **record, "wall": time.perf_counter() - start}


def done_keys(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip()}


def run_jobs(jobs: Sequence[Job], path: Path, processes: int = int(os.environ.get("STUDY_PROCESSES", "2"))) -> None:
    """Run the jobs not yet in ``path`` (JSON lines), ``processes`` at a time (STUDY_PROCESSES, default 2), appending
    each result as it ends."""
    done = done_keys(path)
    todo = [job for job in jobs if job.key not in done]
    print(f"{len(todo)} of {len(jobs)} jobs to run -> {path}", flush=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with multiprocessing.get_context("fork").Pool(processes) as pool, path.open("a") as results:
        for record in pool.imap_unordered(_run, todo):
            results.write(json.dumps(record) + "\n")
            results.flush()
            print(
                f"{record['signal']:>22} {record['setting']:>28} seed {record['seed']} {record['steps']:>6} steps: "
                f"{record['final']:7.2f} dB ({record['wall']:.0f} s)",
                flush=True,
            )


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mean_spread(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def image_target(path: str, size: int):
    """The image at ``path`` box-filtered so that its longer side is ``size`` (a whole factor of it)."""
    from asmr_plugin.fitting.image import downscale_image
    from asmr_plugin.io.images import load_image

    image = load_image(Path(path))
    factor = max(image.shape[:2]) // size
    return downscale_image(image, factor) if factor > 1 else image


def image_corpus(kodak: Path, names: Sequence[str]) -> list[str]:
    """Cameraman (scikit-image's) and the named Kodak images."""
    from asmr_plugin.io.images import default_image

    return [str(default_image())] + [str(kodak / name) for name in names]
