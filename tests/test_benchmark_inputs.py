"""The benchmarks check their sizes before any measurement."""

import pytest

from asmr_plugin.commands import bench


@pytest.mark.parametrize(
    "module, args, message",
    [
        ("latency", ["--sizes", "0x0"], "error: --sizes 0x0: height and width must be at least 1"),
        ("latency", ["--sizes", "100000x100000"], "error: --sizes 100000x100000: a render needs at least"),
        ("latency", ["--sizes", "big"], "error: --sizes big: expected HxW, e.g. 512x768"),
        ("training", ["--size", "0"], "error: --size must be at least 1, got 0"),
        ("training", ["--grid", "100000"], "error: --grid 100000: a per-point step over 10,000,000,000 pixels needs"),
        ("training", ["--batch", "10000000000"], "error: --batch 10000000000: a per-point step needs at least"),
    ],
)
def test_benchmark_sizes_are_checked_before_any_measurement(module, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench([module, *args])
    assert str(exit_info.value.code).startswith(message) and "\n" not in str(exit_info.value.code)
    assert capsys.readouterr().out == ""  # nothing measured
