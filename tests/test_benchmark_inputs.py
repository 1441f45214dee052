"""The benchmarks check their sizes before any measurement."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module, args, message",
    [
        ("latency", ["--sizes", "0x0"], "error: --sizes 0x0: height and width must be at least 1"),
        ("latency", ["--sizes", "100000x100000"], "error: --sizes 100000x100000: a render needs at least"),
        ("latency", ["--sizes", "big"], "error: --sizes big: expected HxW, e.g. 512x768"),
        ("training", ["--size", "0"], "error: --size must be at least 1, got 0"),
    ],
)
def test_benchmark_sizes_are_checked_before_any_measurement(module, args, message):
    done = subprocess.run(
        [sys.executable, "-c", f"from asmr_plugin.commands import bench; bench(['{module}', *{args!r}])"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith(message)
