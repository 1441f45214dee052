"""The dense grid through every fit command: sized at ASMR's parameters (or --params), it learns each signal."""

import json
import math

import numpy as np
import torch
from helpers import smooth_rgb_image, write_sphere

from asmr_plugin.fields.registry import matched_params
from asmr_plugin.fitting import audio, image, megapixel, occupancy, video
from asmr_plugin.io.images import load_image
from asmr_plugin.metrics import psnr
from asmr_plugin.paper.networks import AUDIO_LR


def mean_psnr(target: torch.Tensor, data_range: float = 1.0) -> float:
    """The PSNR of the signal's mean everywhere: where the grid starts."""
    mean = target.reshape(-1, target.shape[-1]).mean(0)
    return psnr(mean.expand_as(target), target, data_range=data_range).item()


def test_image_grid_has_asmrs_parameters_and_learns(tmp_path):
    data = smooth_rgb_image(tmp_path / "image.png", size=(40, 48))
    result = image.run(image.FitImageConfig(data=data, model="grid", steps=300, out=tmp_path / "out", progress=False))
    assert result["params"] <= matched_params((40, 48), 3) and result["params_per_sample"] <= 1.0
    assert result["macs_with_bias"] == 4 * 3 and result["lr"] == 1e-2
    assert result["final_psnr"] > mean_psnr(load_image(data)) + 10


def test_audio_grid_within_params_learns(tmp_path):
    config = audio.FitAudioConfig(
        model="grid", params=1000, seconds=0.25, steps=100, out=tmp_path / "out", progress=False
    )
    result = audio.run(config)
    clip = audio.load_target(config, None)
    assert result["params"] == 1000 and result["params_per_sample"] == 1000 / 4000 and result["lr"] == 1e-2
    assert result["final_psnr"] > mean_psnr(clip, data_range=2.0) + 3


def test_video_grid_learns(tmp_path):
    config = video.FitVideoConfig(
        model="grid", frames=4, resize=(16, 20), epochs=20, batch=256, out=tmp_path / "out", progress=False
    )
    result = video.run(config)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["params"] <= math.prod((4, 16, 20)) * 3 and saved["macs_with_bias"] == 8 * 3
    assert result["psnr_mean"] > 20


def test_megapixel_grid_learns(tmp_path):
    data = smooth_rgb_image(tmp_path / "big.png")
    config = megapixel.FitMegapixelConfig(
        data=data, model="grid", params=600, epochs=20, batch=256, out=tmp_path / "out", progress=False
    )
    result = megapixel.run(config)
    assert result["params"] <= 600 and result["final_psnr"] > mean_psnr(load_image(data)) + 10


def test_occupancy_grid_learns_a_sphere(tmp_path):
    config = occupancy.FitOccupancyConfig(
        data=write_sphere(tmp_path / "sphere.ply"),
        model="grid",
        resolution=16,
        epochs=30,
        points_per_epoch=20_000,
        out=tmp_path / "out",
        progress=False,
    )
    occupancy.run(config)
    results = json.loads((tmp_path / "out" / "sphere" / "results.json").read_text())
    assert results["params"] == 16**3 and results["macs_with_bias"] == 8  # ASMR's budget exceeds 16^3 voxels
    assert results["iou"] > 0.8 and results["lr"] == 1e-1  # random batches: the grid's rate for them


def test_grid_lr_default_is_its_own_where_the_paper_gives_one_rate():
    field = audio.network(audio.FitAudioConfig(model="grid"), torch.zeros(32_000, 1))
    assert audio.FitAudioConfig(model="grid").learning_rate(field, AUDIO_LR) == field.paper_lr
    asmr = audio.network(audio.FitAudioConfig(), torch.zeros(32_000, 1))
    assert audio.FitAudioConfig().learning_rate(asmr, AUDIO_LR) == 1e-4
    assert np.isclose(audio.FitAudioConfig(lr=3e-3).learning_rate(field, AUDIO_LR), 3e-3)
