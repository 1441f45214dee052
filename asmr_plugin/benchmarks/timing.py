"""Wall-clock statistics of a function with ``torch.utils.benchmark``, for the benchmark scripts."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict

import torch


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``runs`` timed calls, after warm-up."""

    mean: float
    std: float
    min: float
    runs: int

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{1e3 * self.mean:.1f} ± {1e3 * self.std:.1f} ms"


def time_calls(function: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    """Call ``function`` ``warmup`` times, then time ``runs`` single calls (CUDA synchronized)."""
    from torch.utils import benchmark  # imported here: it imports cpp_extension, which warns at import without CUDA

    for _ in range(warmup):
        function()
    timer = benchmark.Timer(stmt="function()", globals={"function": function}, num_threads=torch.get_num_threads())
    times = [timer.timeit(1).times[0] for _ in range(runs)]
    return Timing(statistics.fmean(times), statistics.stdev(times) if runs > 1 else 0.0, min(times), runs)
