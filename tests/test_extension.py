"""The design's two extension promises: (a) a network defined in one new module and registered through the entry-point
group is fitted by ``asmr-fit``, benchmarked and counted with no other file touched; (b) a signal defined in one module
runs through ``run_experiment`` with --out, --resume, the folder lock and results.json written last."""

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Tuple, Type

import numpy as np
import pytest
import torch
from helpers import smooth_rgb_image, stop_after
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import ModelName
from asmr_plugin.fitting.options import ExperimentOptions, require_positive
from asmr_plugin.fitting.results import FitResult, Metrics, PsnrMetrics, RunRecord
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.files import save_figure
from asmr_plugin.metrics import psnr
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.interrupts import Interrupted
from asmr_plugin.training.loop import FitHistory
from asmr_plugin.training.resume import ResumableFit
from asmr_plugin.training.spec import FullGrid, train

TINY_NETWORK = '''
"""A tiny ReLU MLP on coordinates in [0, 1]: a network from another package."""

from torch import nn

from asmr_plugin.fields.base import GridField, unit_coords
from asmr_plugin.macs import mlp_macs


class TinyMLP(GridField):
    paper_lr = 1e-2
    from_paper = False

    def __init__(self, shape, out_dim=1, hidden_dim=16, num_layers=2):
        super().__init__()
        self.store_arguments(shape, out_dim, hidden_dim=hidden_dim, num_layers=num_layers)
        self.dims = [len(self.grid_shape)] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip(self.dims[:-1], self.dims[1:])):
            layers += [nn.Linear(fan_in, fan_out)] + ([nn.ReLU()] if index < len(self.dims) - 2 else [])
        self.mlp = nn.Sequential(*layers)

    def forward(self, coords):
        return self.mlp(unit_coords(coords, self.grid_shape))

    def macs(self, shape=None):
        self.check_shape(shape)
        return mlp_macs(self.dims)
'''


@pytest.fixture
def plugin_path(tmp_path) -> Dict[str, str]:
    """An installed plug-in package (its module and dist-info, as pip leaves them) on the path of a subprocess."""
    site = tmp_path / "site"
    (site / "tiny_mlp-0.1.dist-info").mkdir(parents=True)
    (site / "tiny_mlp.py").write_text(TINY_NETWORK)
    (site / "tiny_mlp-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-mlp\nVersion: 0.1\n")
    (site / "tiny_mlp_methods.py").write_text(
        "from asmr_plugin.nerfstudio.methods import image_method_specification\n"
        "tiny_image = image_method_specification('tiny', 'A tiny MLP fitting one image')\n"
    )
    (site / "tiny_mlp-0.1.dist-info" / "entry_points.txt").write_text(
        "[asmr_plugin.fields]\ntiny = tiny_mlp:TinyMLP\n\n"
        "[nerfstudio.method_configs]\ntiny-image = tiny_mlp_methods:tiny_image\n"
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def command(name: str, *args: str) -> List[str]:
    return [sys.executable, "-c", f"from asmr_plugin.commands import {name}; {name}()", *args]


PLUGIN_SESSION = """
import contextlib, io, json, sys
from asmr_plugin.commands import bench, fit
from nerfstudio.plugins.registry import discover_methods

image, out = sys.argv[1:3]
fit(["image", "--model", "tiny", "--data", image, "--steps", "30", "--out", out, "--no-progress"])
helps = {}
for signal in ("audio", "video", "megapixel", "occupancy"):
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
        fit([signal, "--help"])
    helps[signal] = text.getvalue()
timed = io.StringIO()
with contextlib.redirect_stdout(timed):
    bench(["latency", "--models", "tiny", "siren", "--sizes", "16x16", "--runs", "1", "--json"])
method = discover_methods()[0]["tiny-image"].pipeline.model.network
print(json.dumps({"helps": helps, "bench": json.loads(timed.getvalue()), "method": method}))
"""
"""A user's session with the plug-in installed: a fit, every signal's --help, a latency benchmark, ns-train's methods
(one process: the imports are the slow part)."""


@pytest.mark.slow
def test_a_plugin_network_is_fitted_benchmarked_and_counted(tmp_path, plugin_path):
    image = smooth_rgb_image(tmp_path / "smooth.png", (16, 20))
    out = tmp_path / "fit"
    session = [sys.executable, "-c", PLUGIN_SESSION, str(image), str(out)]
    ran = subprocess.run(session, env=plugin_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])

    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "tiny" and results["init_kwargs"]["hidden_dim"] == 16
    assert results["macs_with_bias"] == 2 * 16 + 16 + 16 * 3 + 3  # counted by its own macs()
    assert results["final_psnr"] > results["psnr_history"]["psnr"][0]  # it trained
    for signal, text in seen["helps"].items():  # every signal offers it
        assert "tiny" in re.search(r"--model \{([^}]*)\}", text).group(1).split(","), signal
    rows = [row for row in seen["bench"] if row["model"] == "tiny"]
    assert rows and rows[0]["mean_ms"] > 0 and rows[0]["macs_with_bias"] == 99 and rows[0]["params"] == 99
    assert seen["method"] == "tiny"  # ns-train's tiny-image: one entry-point line of the plug-in's own


def test_a_broken_plugin_is_skipped_with_a_warning(tmp_path, plugin_path):
    (tmp_path / "site" / "tiny_mlp.py").write_text("raise ImportError('no such dependency')\n")
    listed = subprocess.run(command("fit", "image", "--help"), env=plugin_path, capture_output=True, text=True)
    assert listed.returncode == 0 and "tiny" not in re.search(r"--model \{([^}]*)\}", listed.stdout).group(1)
    assert "network plug-in tiny = tiny_mlp:TinyMLP not loaded: no such dependency" in listed.stderr


# (b) A new signal in one module: a column of numbers from a CSV file, fitted as a 1-D signal.


@dataclass
class FitTableConfig(ExperimentOptions):
    """Fit a column of numbers (a CSV file, one value per row) with a coordinate network."""

    signal_kind = "audio"  # a 1-D signal: the --init mean gains of audio

    data: Path | None = None
    model: ModelName = "siren"
    steps: int = 60

    def check_options(self) -> None:
        require_positive(self, "steps")
        super().check_options()


class TableSignal(Signal[FitTableConfig, Tensor, FitHistory, Tensor]):
    experiment = "fit_table"

    def metrics_type(self) -> Type[Metrics]:
        return PsnrMetrics

    def run_name(self) -> str:
        return f"{Path(self.options.data).stem}-{self.options.model}"

    def items(self) -> List[Item]:
        data = Path(self.options.data)
        if not data.is_file():
            raise ValueError(f"--data {data} is not a CSV file")
        return [Item(data.stem, data, str(data))]

    def load(self, item: Item) -> Tensor:
        values = np.loadtxt(item.source, delimiter=",", ndmin=1)
        return torch.from_numpy(values).float()[:, None]

    def network(self, item: Item, target: Tensor, process: Process) -> GridField:
        field = self.options.build(self.options.model, self.grid_shape(target), 1)
        self.options.initialize(field, target)
        return field.to(process.device)

    def grid_shape(self, target: Tensor) -> Tuple[int, ...]:
        return tuple(target.shape[:1])

    def announce(self, item: Item, target: Tensor, network: GridField, process: Process) -> str:
        return f"{self.options.model} on {item.label} ({target.shape[0]} rows)"

    def train(
        self, item: Item, target: Tensor, network: GridField, resumable: ResumableFit, process: Process
    ) -> FitHistory:
        low, high = target.min().item(), target.max().item()
        spec = self.options.train_spec(network, FullGrid(), self.options.steps, value_range=(low, high))
        return train(network, target, spec, resumable.resumed, resumable.save, process)

    def evaluate(
        self, item: Item, target: Tensor, network: GridField, history: FitHistory, process: Process
    ) -> Tuple[FitResult, Tensor]:
        with torch.no_grad():
            prediction = network.render()
        span = (target.max() - target.min()).item()
        result = FitResult(
            data=item.label,
            model=self.options.model,
            shape=list(target.shape[:1]),
            metrics=PsnrMetrics(psnr(prediction, target, data_range=span).item()),
            details={"steps": self.options.steps, "seconds": history.seconds, "best_psnr": history.best_psnr},
            record=RunRecord.of(network, self.grid_shape(target), process.device, self.options, None),
        )
        return result, prediction

    def write_outputs(self, out: Path, item: Item, target: Tensor, outputs: Tensor, result: FitResult) -> None:
        figure = Figure()
        axes = figure.subplots()
        axes.plot(target[:, 0], label="table")
        axes.plot(outputs[:, 0], label="fit")
        save_figure(out / "fit.png", figure)

    def output_files(self, results: Dict[str, object]) -> List[str]:
        return ["fit.png"]

    def describe(self, result: FitResult) -> str:
        return f"PSNR {result.metrics.final_psnr:.2f} dB"


@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "table.csv"
    np.savetxt(path, np.sin(np.linspace(0, 6, 64)) * 3 + np.linspace(0, 1, 64), delimiter=",")
    return path


def run_table(config: FitTableConfig):
    return run_experiment(TableSignal(config, Console(quiet=True)))


def test_a_new_signal_runs_through_the_runner_and_resumes(tmp_path, table, monkeypatch):
    options = FitTableConfig(
        data=table, out=tmp_path / "whole", hidden_dim=16, lr=1e-3, progress=False, checkpoint_every=10
    )
    whole = run_table(options)
    assert sorted(path.name for path in (tmp_path / "whole").iterdir()) == ["checkpoint.pt", "fit.png", "results.json"]
    assert whole["final_psnr"] > 10 and whole["final_psnr"] == whole["best_psnr"]  # it trained to the end

    interrupted = replace(options, out=tmp_path / "resumed")
    stop_after(monkeypatch, 25)
    with pytest.raises(Interrupted, match="continue with --resume"):
        run_table(interrupted)
    monkeypatch.undo()
    assert not (tmp_path / "resumed" / "results.json").exists()
    resumed = run_table(replace(interrupted, resume=True))
    assert resumed["final_psnr"] == whole["final_psnr"]  # as if never stopped
    assert run_table(replace(interrupted, resume=True)) == resumed  # finished: returned as written
    with pytest.raises(ValueError, match="already holds files"):
        run_table(replace(options, out=tmp_path / "resumed"))


def test_a_new_signal_writes_results_last_and_owns_its_folder(tmp_path, table, monkeypatch):
    options = FitTableConfig(data=table, out=tmp_path / "run", hidden_dim=16, progress=False)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TableSignal, "write_outputs", no_space)
    with pytest.raises(OSError, match="No space left"):
        run_table(options)
    monkeypatch.undo()
    assert (tmp_path / "run" / "checkpoint.pt").is_file() and not (tmp_path / "run" / "results.json").exists()
    finished = run_table(replace(options, resume=True))  # the output written, then results.json
    assert (tmp_path / "run" / "fit.png").is_file() and finished["steps"] == 60

    other = tmp_path / "other"
    other.mkdir()
    holder = subprocess.Popen(  # another process that holds the folder, as a running fit does
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import fcntl, os, time
                descriptor = os.open({str(other)!r}, os.O_RDONLY)
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                print("held", flush=True)
                time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="in use by another run"):
            run_table(replace(options, out=other))
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert list(other.iterdir()) == []  # the refused run wrote nothing
    with pytest.raises(ValueError, match="--data .*missing.csv does not exist"):  # the runner's check
        run_table(replace(options, data=tmp_path / "missing.csv", out=tmp_path / "never"))
    with pytest.raises(ValueError, match="--data .* is not a CSV file"):  # the signal's own
        run_table(replace(options, data=other, out=tmp_path / "never"))
    assert not (tmp_path / "never").exists()
