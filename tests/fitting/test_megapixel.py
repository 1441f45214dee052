"""Megapixel fitting: the epoch sampler, chunked evaluation, outputs, and 2-process data parallelism."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.fields import ASMRField
from asmr_plugin.fitting.megapixel import FitMegapixelConfig, evaluate, run
from asmr_plugin.metrics import psnr, ssim
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.epochs import EpochConfig, fit_epochs
from helpers import smooth_rgb_image


class Recorder(torch.nn.Module):
    """A model that remembers the coordinates it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(3))
        self.seen = []

    def forward(self, coords):
        self.seen.append(coords.clone())
        return self.bias.expand(coords.shape[0], 3)


def test_every_epoch_visits_each_pixel_once_in_a_fresh_order():
    shape, batch = (8, 10), 16  # 80 pixels: 5 full batches per epoch
    recorder = Recorder()
    history = fit_epochs(recorder, torch.rand(80, 3), shape, EpochConfig(2, batch, 1e-3, progress=False), Process())
    assert history["steps"] == 10 and history["steps_per_epoch"] == 5
    epochs = [torch.cat(recorder.seen[:5]), torch.cat(recorder.seen[5:])]
    for coords in epochs:
        flat = (coords[:, 0] * shape[1] + coords[:, 1]).long()
        assert sorted(flat.tolist()) == list(range(80))
    assert not torch.equal(epochs[0], epochs[1])


def test_a_batch_larger_than_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="--batch 100 x 1 processes must be between 1 and the signal's 80 samples"):
        fit_epochs(Recorder(), torch.rand(80, 3), (8, 10), EpochConfig(1, 100, 1e-3, progress=False), Process())


def test_run_refuses_a_batch_larger_than_the_image_before_writing(tmp_path):
    config = FitMegapixelConfig(
        data=smooth_rgb_image(tmp_path / "big.png"), batch=10_000, out=tmp_path / "out", progress=False
    )
    with pytest.raises(ValueError, match="--batch 10000"):
        run(config)
    assert not (tmp_path / "out").exists()


def test_chunked_evaluation_equals_whole_image_metrics():
    torch.manual_seed(0)
    field = ASMRField(bases=[[2, 4, 5], [4, 3, 4]], hidden_dim=16, out_dim=3)  # 40 x 48
    target = torch.rand(40, 48, 3)
    image, chunked_psnr, chunked_ssim = evaluate(field, target, chunk=100, device=torch.device("cpu"))
    with torch.no_grad():
        whole = field.render().clamp(0, 1)
    assert chunked_psnr == pytest.approx(psnr(whole, target).item(), abs=1e-3)
    assert np.abs(image.astype(np.float32) / 255 - whole.numpy()).max() <= 0.5 / 255 + 1e-6
    assert chunked_ssim == pytest.approx(ssim(torch.from_numpy(image / 255).float(), target).item(), abs=1e-6)


def test_run_writes_outputs(tmp_path):
    image = smooth_rgb_image(tmp_path / "big.png")
    config = FitMegapixelConfig(
        data=image, epochs=3, batch=256, hidden_dim=16, lr=1e-3, out=tmp_path / "out", progress=False
    )
    results = run(config)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["final_psnr"] == pytest.approx(results["final_psnr"]) and saved["steps"] == 3 * (40 * 48 // 256)
    assert Image.open(tmp_path / "out" / "reconstruction.png").size == (48, 40)
    assert (tmp_path / "out" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_two_processes_equal_one_process_with_both_batches(tmp_path, script):
    image = smooth_rgb_image(tmp_path / "big.png")
    common = ["--data", str(image), "--epochs", "2", "--hidden-dim", "16", "--lr", "1e-3", "--no-progress"]
    python, fit_megapixel = script("fit_megapixel.py")
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    subprocess.run(
        torchrun + [fit_megapixel, *common, "--batch", "128", "--out", str(tmp_path / "two")],
        check=True,
        env=environment,
        capture_output=True,
        text=True,
    )
    subprocess.run(
        [python, fit_megapixel, *common, "--batch", "256", "--out", str(tmp_path / "one")],
        check=True,
        env=environment,
        capture_output=True,
        text=True,
    )
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    assert two["step"] == one["step"] == 2 * math.floor(40 * 48 / 256)
    for name, value in one["state_dict"].items():
        assert torch.allclose(two["state_dict"][name], value, atol=1e-5), name
    assert json.loads((tmp_path / "two" / "results.json").read_text())["processes"] == 2
