"""Each benchmark runs for real on a small problem and reports what it measured."""

import json
import subprocess
import sys

import pytest

from asmr_plugin.benchmarks import latency


def bench(*args: str) -> subprocess.CompletedProcess:
    code = "from asmr_plugin.commands import bench; bench()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_latency_renders_and_compares_the_fast_paths():
    done = bench("latency", "--sizes", "16x24", "--models", "asmr", "siren", "--runs", "2", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    by_model = {row["model"]: row for row in rows}
    assert by_model["asmr"]["max_abs_diff_per_point"] < 1e-4 and by_model["asmr"]["mean_ms"] > 0
    assert by_model["siren"]["max_abs_diff_per_point"] is None
    assert "not compared" in latency.markdown(rows)


@pytest.mark.slow
def test_training_steps_with_and_without_sharing_agree():
    done = bench(
        "training", "--grid", "64", "--size", "64", "--batch", "512", "--runs", "2", "--per-point-runs", "1", "--json"
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert len(results) == 2
    for result in results:
        assert result["max_abs_grad_diff"] <= 1e-4 * max(result["max_abs_grad"], 1.0) and result["speedup"] > 0
