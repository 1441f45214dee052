"""Full-frame render latency of every network at the paper's ~130K-parameter Kodak configurations.

Each (network, size) runs in its own process: warm-up renders, then ``--runs`` timed renders with
``torch.utils.benchmark``; peak memory is that process's peak RSS growth while rendering (CPU) or
``torch.cuda.max_memory_allocated`` (CUDA). The ratio to SIREN is measured in the same run. The
fast paths (activation sharing, tile grouping by reshape) are checked against the per-point
network on random grid points. Per-point networks are timed only up to ``--per-point-max-pixels``.

    asmr-bench latency                       # 512x768 RGB and larger grids, Markdown table
    asmr-bench latency --sizes 8192x8192 --models asmr --runs 3
    asmr-bench latency --json                (or: python scripts/bench_latency.py ...)
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

import torch

from asmr_plugin.benchmarks.timing import time_calls
from asmr_plugin.fields import FIELDS, GridField
from asmr_plugin.fields.base import grid_coords
from asmr_plugin.fields.registry import build_field
from asmr_plugin.fitting.options import require_positive
from asmr_plugin.memory import check_memory
from asmr_plugin.paper.networks import KODAK_BASES
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.step import record

FAST_PATHS = ("asmr", "kilonerf", "loe")
"""Networks whose render is not the per-point forward; the others are checked trivially."""
CHECK_POINTS = 1 << 14


@dataclass
class BenchConfig:
    """Render latency of every network, ratio to SIREN, peak memory and exactness of the fast paths."""

    models: Tuple[str, ...] = tuple(FIELDS)
    sizes: Tuple[str, ...] = ("512x768", "1024x1024", "2048x2048", "4096x4096")
    """Grids as HxW; RGB output."""
    runs: int = 10
    """Timed renders per network and size (after 2 warm-up renders)."""
    threads: int | None = None
    """CPU threads (default: torch's default on this machine)."""
    device: str | None = None
    """Default: cuda when available, else cpu."""
    per_point_max_pixels: int = 512 * 768
    """Networks without a fast path are timed only on grids up to this many pixels."""
    graph: bool = False
    """On CUDA, time the render recorded once as a CUDA graph and replayed (no kernel-launch overhead)."""
    json: bool = False
    """Print JSON instead of a Markdown table."""
    worker: str | None = None
    """Internal: measure one 'model:HxW' in this process and print its JSON."""


RENDER_BYTES_PER_PIXEL = 4 * 3 * 3
"""A render's output (3 float32 channels) and about as much again twice over for the activations of its finest layer
(ASMR's fused output layer), per pixel: the floor of what any network needs."""


def parse_size(size: str) -> Tuple[int, int]:
    """HxW as given to --sizes; a ValueError for anything else, a size below 1, or a grid whose render alone would
    not fit in this machine's memory."""
    try:
        height, width = (int(part) for part in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--sizes {size}: expected HxW, e.g. 512x768") from None
    if height < 1 or width < 1:
        raise ValueError(f"--sizes {size}: height and width must be at least 1")
    check_memory(height * width * RENDER_BYTES_PER_PIXEL, f"--sizes {size}: a render")
    return height, width


def build(model: str, shape: Tuple[int, int]) -> GridField:
    torch.manual_seed(0)
    bases = KODAK_BASES if model == "asmr" and shape == (512, 768) else None
    return build_field(model, shape, 3, bases)


def max_abs_diff_from_per_point(field: GridField, rendered: torch.Tensor, shape: Tuple[int, int]) -> float:
    """Largest |render - forward| over random grid points (all points of small grids)."""
    coords = grid_coords(shape, rendered.device).flatten(0, 1)
    if coords.shape[0] > CHECK_POINTS:
        coords = coords[torch.randperm(coords.shape[0], device=coords.device)[:CHECK_POINTS]]
    index = coords.long()
    per_point = getattr(field, "forward_per_point", field)  # ASMR's forward shares work too: compare with Eq. 1
    return (per_point(coords) - rendered[index[:, 0], index[:, 1]]).abs().max().item()


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def measure(model: str, shape: Tuple[int, int], config: BenchConfig) -> Dict[str, Any]:
    device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    field = build(model, shape).to(device).eval()
    macs = field.macs(shape)
    with torch.no_grad():
        before = rss_bytes()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        rendered = field.render(shape)
        render = record(lambda: field.render(shape)) if config.graph else lambda: field.render(shape)
        timing = time_calls(render, config.runs)
        peak = (
            torch.cuda.max_memory_allocated()
            if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
        )
        difference = max_abs_diff_from_per_point(field, rendered, shape) if model in FAST_PATHS else None
    return {
        "model": model,
        "shape": list(shape),
        "params": field.num_params(),
        "macs_with_bias": macs.with_bias,
        "mean_ms": 1e3 * timing.mean,
        "std_ms": 1e3 * timing.std,
        "min_ms": 1e3 * timing.min,
        "runs": timing.runs,
        "peak_memory_mb": peak / 2**20,
        "max_abs_diff_per_point": difference,
        "device": str(device) + ("" if device.type == "cuda" else f" ({torch.get_num_threads()} threads)"),
        "graphed": config.graph,
        "torch": torch.__version__,
    }


def run_worker(model: str, size: str, config: BenchConfig) -> Dict[str, Any]:
    command = [
        sys.executable,
        "-c",
        "from asmr_plugin.commands import bench; bench()",
        "latency",
        "--worker",
        f"{model}:{size}",
        "--runs",
        str(config.runs),
    ]
    command += ["--threads", str(config.threads)] if config.threads else []
    command += ["--device", config.device] if config.device else []
    command += ["--graph"] if config.graph else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"model": model, "shape": list(parse_size(size)), "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(results: List[Dict[str, Any]]) -> str:
    lines = [
        "| Network | Grid | #Params | MACs/px (+bias) | Render ms (mean ± std) | vs SIREN | Peak memory | Max abs diff (fast vs per-point) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    siren = {tuple(r["shape"]): r["mean_ms"] for r in results if r["model"] == "siren" and "mean_ms" in r}
    for r in results:
        grid = "x".join(map(str, r["shape"]))
        if "error" in r:
            lines.append(f"| {r['model']} | {grid} | failed: {' '.join(r['error'])} | | | | | |")
            continue
        siren_ms = siren.get(tuple(r["shape"]))
        speedup = f"{siren_ms / r['mean_ms']:.1f}x" if siren_ms else "-"
        difference = r["max_abs_diff_per_point"]
        difference = "not compared" if difference is None else f"{difference:.1e}"
        lines.append(
            f"| {r['model']} | {grid} | {r['params']:,} | {r['macs_with_bias']:,.1f} | {r['mean_ms']:.1f} ± {r['std_ms']:.1f} "
            f"| {speedup} | {r['peak_memory_mb']:,.0f} MB | {difference} |"
        )
    devices = sorted({r["device"] for r in results if "device" in r})
    lines.append(
        f"\n{results[0].get('runs', '?')} timed renders after warm-up; device: {', '.join(devices)}; torch {torch.__version__}."
    )
    return "\n".join(lines)


def main(config: BenchConfig) -> None:
    if config.worker:
        model, size = config.worker.split(":")
        print(json.dumps(measure(model, parse_size(size), config)))
        return
    require_positive(config, "runs", "threads", "per_point_max_pixels")
    if config.graph and resolve_device(config.device).type != "cuda":
        raise ValueError("--graph records the render as a CUDA graph: it needs a CUDA device")
    for size in config.sizes:
        parse_size(size)  # every size checked before the first measurement
    unknown = set(config.models) - FIELDS.keys()
    if unknown:
        raise SystemExit(f"error: --models {' '.join(sorted(unknown))}: expected some of {', '.join(FIELDS)}")
    results = []
    for size in config.sizes:
        pixels = math.prod(parse_size(size))
        for model in config.models:
            if model in FAST_PATHS or pixels <= config.per_point_max_pixels:
                results.append(run_worker(model, size, config))
                print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results, indent=2) if config.json else markdown(results))
