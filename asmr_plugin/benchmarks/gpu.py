"""What the CUDA-graph step buys on a GPU, measured in one run and written to ``docs/results/gpu.md/.json``:

- every network's full-grid training step on Cameraman 512x512, eager against graphed;
- the Cameraman ASMR (4) fit over 10K full-grid steps, wall time and final PSNR, graphed and eager;
- the 512x768 RGB render of ASMR and SIREN, graphed; ASMR renders of 2048^2 and 8192^2 with peak memory;
- ``ns-train asmr-image`` for 2000 iterations: wall time and ``ns-eval`` PSNR (skipped without nerfstudio).

    asmr-bench gpu                       (needs CUDA; about 5 minutes on an H100/H200)
    asmr-bench gpu --fit-steps 2000 --ns-iterations 0
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import torch
from PIL import Image
from skimage import data as skimage_data
from torch import Tensor

from asmr_plugin.benchmarks.latency import build as build_kodak_network
from asmr_plugin.fields import FIELDS, GridField
from asmr_plugin.fields.registry import build_field
from asmr_plugin.io.files import write_json
from asmr_plugin.paper.networks import IMAGE_PRESETS
from asmr_plugin.training.loop import FitConfig, fit, grid_loss
from asmr_plugin.training.step import record, training_step

CAMERAMAN_NETWORKS: Dict[str, Dict[str, Any]] = {
    options["model"]: {key: value for key, value in options.items() if key != "model"}
    for options in (IMAGE_PRESETS[f"cameraman-{row}"] for row in ("asmr4", "siren4", "kilonerf3", "loe4"))
}
"""The Table 2 rows (``--preset cameraman-*``); every other network at its defaults."""


@dataclass
class BenchGPUConfig:
    """Eager against CUDA-graphed steps and renders on this machine's GPU, written to --out."""

    out: Path = Path("docs/results")
    """Folder of gpu.md and gpu.json (replaced)."""
    step_runs: int = 200
    """Timed steps per network and mode (after the capture)."""
    fit_steps: int = 10_000
    """Steps of the Cameraman ASMR (4) fits."""
    render_runs: int = 100
    """Timed renders per network and size."""
    ns_iterations: int = 2000
    """Iterations of the ns-train asmr-image run (0: skip it)."""


def cameraman(device: torch.device) -> Tensor:
    return torch.from_numpy(skimage_data.camera().astype(np.float32) / 255)[..., None].to(device)


def cameraman_network(model: str, device: torch.device) -> GridField:
    torch.manual_seed(0)
    options = CAMERAMAN_NETWORKS.get(model, {})
    return build_field(model, (512, 512), 1, options.get("bases"), options.get("num_layers")).to(device)


def seconds_per_call(function: Callable[[], object], runs: int) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(runs):
        function()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / runs


def step_times(model: str, target: Tensor, runs: int) -> Dict[str, Any]:
    """One full-grid training step (render, MSE, backward, Adam, schedule), eager and graphed."""
    row: Dict[str, Any] = {"model": model}
    for graphed in (False, True):
        field = cameraman_network(model, target.device)
        obstacle = field.capture_obstacle(full_grid=True)
        if graphed and obstacle:
            row["graphed_ms"], row["note"] = None, obstacle
            continue
        step = training_step(
            grid_loss(field, target, (0.0, 1.0)), field.parameters(), field.paper_lr, 10 * runs, graph=graphed
        )
        try:
            step()  # records the graph
            row["graphed_ms" if graphed else "eager_ms"] = 1e3 * seconds_per_call(step, runs)
        except RuntimeError as error:  # a network whose step cannot be recorded
            row["graphed_ms"], row["note"] = None, f"capture failed: {str(error).splitlines()[0]}"
    row["params"] = field.num_params()
    if row.get("graphed_ms"):
        row["speedup"] = row["eager_ms"] / row["graphed_ms"]
    return row


def fit_times(target: Tensor, steps: int) -> List[Dict[str, Any]]:
    """The Cameraman ASMR (4) fit, graphed and eager: training seconds and final PSNR."""
    rows = []
    for graph in ("on", "off"):
        field = cameraman_network("asmr", target.device)
        history = fit(field, target, FitConfig(steps=steps, progress=False, graph=graph))
        rows.append({"graph": graph, "steps": steps, "seconds": history.seconds, "final_psnr": history.psnr[-1]})
    return rows


def render_times(device: torch.device, runs: int) -> List[Dict[str, Any]]:
    """Graphed renders: 512x768 RGB ASMR against SIREN; ASMR at 2048^2 and 8192^2 with peak memory."""
    rows = []
    for model, shape in [("asmr", (512, 768)), ("siren", (512, 768)), ("asmr", (2048, 2048)), ("asmr", (8192, 8192))]:
        field = build_kodak_network(model, shape).to(device).eval()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        render = record(lambda: field.render(shape))
        milliseconds = 1e3 * seconds_per_call(render, runs)
        rows.append(
            {
                "model": model,
                "shape": list(shape),
                "graphed_ms": milliseconds,
                "peak_memory_mb": torch.cuda.max_memory_allocated() / 2**20,
            }
        )
        del render, field
    return rows


def ns_train(iterations: int) -> Dict[str, Any]:
    """``ns-train asmr-image`` on Cameraman for ``iterations``, then ``ns-eval``."""
    if iterations == 0 or shutil.which("ns-train") is None:
        return {"skipped": "iterations 0" if iterations == 0 else "ns-train is not installed"}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        Image.fromarray(skimage_data.camera()).save(work / "cameraman.png")
        command = ["ns-train", "asmr-image", "--data", str(work / "cameraman.png"), "--vis", "tensorboard"]
        command += [
            "--output-dir",
            str(work / "outputs"),
            "--timestamp",
            "run",
            "--max-num-iterations",
            str(iterations),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=work)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-3:], "seconds": seconds}
        config = next((work / "outputs").rglob("config.yml"))
        evaluation = work / "eval.json"
        done = subprocess.run(
            ["ns-eval", "--load-config", str(config), "--output-path", str(evaluation)],
            capture_output=True,
            text=True,
            cwd=work,
        )
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-3:], "seconds": seconds}
        psnr = json.loads(evaluation.read_text())["results"]["psnr"]
    return {"iterations": iterations, "seconds_with_startup": seconds, "ns_eval_psnr": psnr}


def markdown(results: Dict[str, Any]) -> str:
    lines = [
        "# CUDA graphs on a GPU (`asmr-bench gpu`)",
        "",
        f"Device: {results['device']}; torch {results['torch']}; written {results['date']}.",
        "",
        "## Full-grid training step, Cameraman 512x512 (render, MSE, backward, Adam)",
        "",
        "| Network | #Params | Eager (ms) | Graphed (ms) | Speed-up | Note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in results["steps"]:
        graphed = f"{row['graphed_ms']:.3f}" if row.get("graphed_ms") else "-"
        speedup = f"{row['speedup']:.1f}x" if row.get("speedup") else "-"
        lines.append(
            f"| {row['model']} | {row['params']:,} | {row['eager_ms']:.3f} | {graphed} | {speedup} | {row.get('note', '')} |"
        )
    lines += ["", "## Cameraman ASMR (4) fit, full grid", "", "| Graph | Steps | Training s | Final PSNR (dB) |"]
    lines += ["|---|---:|---:|---:|"]
    lines += [
        f"| {r['graph']} | {r['steps']:,} | {r['seconds']:.2f} | {r['final_psnr']:.2f} |" for r in results["fits"]
    ]
    lines += ["", "## Graphed renders (RGB)", "", "| Network | Grid | ms | Peak memory (MiB) |", "|---|---|---:|---:|"]
    for row in results["renders"]:
        grid = "x".join(map(str, row["shape"]))
        lines.append(f"| {row['model']} | {grid} | {row['graphed_ms']:.3f} | {row['peak_memory_mb']:.0f} |")
    lines += ["", "## ns-train asmr-image", "", f"`{json.dumps(results['ns_train'])}`", ""]
    return "\n".join(lines)


def main(config: BenchGPUConfig) -> None:
    if not torch.cuda.is_available():
        raise ValueError("asmr-bench gpu measures CUDA graphs: it needs a CUDA device, and torch sees none")
    for name in ("step_runs", "fit_steps", "render_runs"):
        if getattr(config, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    device = torch.device("cuda")
    target = cameraman(device)
    results: Dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "steps": [step_times(model, target, config.step_runs) for model in FIELDS],
    }
    print(json.dumps(results["steps"], indent=1), file=sys.stderr)
    results["fits"] = fit_times(target, config.fit_steps)
    print(json.dumps(results["fits"], indent=1), file=sys.stderr)
    results["renders"] = render_times(device, config.render_runs)
    results["ns_train"] = ns_train(config.ns_iterations)
    config.out.mkdir(parents=True, exist_ok=True)
    write_json(config.out / "gpu.json", results)
    (config.out / "gpu.md").write_text(markdown(results))
    print(markdown(results))
