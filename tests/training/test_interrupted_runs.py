"""Interrupted fits resumed equal uninterrupted ones; Ctrl-C keeps the work; old checkpoints resume."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from helpers import random_image, stop_after

from asmr_plugin.fitting import audio as audio_fitting
from asmr_plugin.fitting import image as image_fitting
from asmr_plugin.fitting import megapixel
from asmr_plugin.fitting import occupancy as occupancy_fitting
from asmr_plugin.fitting import video as video_fitting
from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.training.interrupts import Interrupted


@pytest.mark.parametrize("batch", [None, 64], ids=["full-grid", "random-batch"])
def test_an_interrupted_image_fit_resumed_equals_an_uninterrupted_one(tmp_path, monkeypatch, image, batch):
    def config(out: Path, **changes) -> image_fitting.FitImageConfig:
        options = dict(data=image, steps=30, hidden_dim=8, batch=batch, checkpoint_every=7, progress=False)
        return image_fitting.FitImageConfig(out=out, **{**options, **changes})

    whole = image_fitting.run(config(tmp_path / "whole"))
    with monkeypatch.context() as patch:
        stop_after(patch, 12)
        with pytest.raises(Interrupted, match="step 12 saved to .*continue with --resume"):
            image_fitting.run(config(tmp_path / "parts"))
    assert load_checkpoint(tmp_path / "parts" / "checkpoint.pt").step == 12
    with pytest.raises(ValueError, match="already holds files"):
        image_fitting.run(config(tmp_path / "parts"))
    with pytest.raises(ValueError, match="other options .*--steps 30 -> 40"):
        image_fitting.run(config(tmp_path / "parts", steps=40, resume=True))
    resumed = image_fitting.run(config(tmp_path / "parts", resume=True))
    for key in ("final_psnr", "best_psnr", "best_step", "ssim"):
        assert resumed[key] == whole[key], key
    ends = [load_checkpoint(tmp_path / run / "checkpoint.pt").field.state_dict() for run in ("whole", "parts")]
    assert all(torch.equal(ends[0][name], ends[1][name]) for name in ends[0])
    again = image_fitting.run(config(tmp_path / "parts", resume=True))  # finished: nothing more to do
    assert again["final_psnr"] == whole["final_psnr"]


def test_an_interrupted_audio_fit_resumed_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    def config(out: Path, **changes) -> audio_fitting.FitAudioConfig:
        options = dict(seconds=0.05, steps=20, hidden_dim=8, checkpoint_every=5, progress=False)
        return audio_fitting.FitAudioConfig(out=out, **{**options, **changes})

    whole = audio_fitting.run(config(tmp_path / "whole"))
    with monkeypatch.context() as patch:
        stop_after(patch, 9)
        with pytest.raises(Interrupted):
            audio_fitting.run(config(tmp_path / "parts"))
    resumed = audio_fitting.run(config(tmp_path / "parts", resume=True))
    assert resumed["final_psnr"] == whole["final_psnr"] and resumed["best_step"] == whole["best_step"]


def epoch_fits(tmp_path: Path):
    """(run, config maker, the saved file to compare) of each epoch-counted fit, tiny."""
    image = random_image(tmp_path / "image.png", 12, 10)
    frames = tmp_path / "frames"
    for index in range(3):
        random_image(frames / f"{index}.png", 8, 8, seed=index)
    return {
        "megapixel": (
            megapixel.run,
            lambda **options: megapixel.FitMegapixelConfig(
                data=image, model="siren", hidden_dim=8, epochs=3.5, batch=16, **options
            ),
        ),
        "video": (
            video_fitting.run,
            lambda **options: video_fitting.FitVideoConfig(
                data=frames, model="asmr", hidden_dim=8, epochs=3.5, batch=32, **options
            ),
        ),
        "occupancy": (
            occupancy_fitting.run,
            lambda **options: occupancy_fitting.FitOccupancyConfig(
                resolution=8, hidden_dim=8, epochs=3, points_per_epoch=300, batch=64, **options
            ),
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["megapixel", "video", "occupancy"])
def test_an_interrupted_epoch_fit_resumed_equals_an_uninterrupted_one(tmp_path, monkeypatch, name):
    run, config = epoch_fits(tmp_path)[name]
    options = dict(checkpoint_every=4, progress=False)
    whole = run(config(out=tmp_path / "whole", **options))
    with monkeypatch.context() as patch:
        stop_after(patch, 10)  # mid-epoch: a resumed run must redraw that epoch's samples
        with pytest.raises(Interrupted, match="step 10 saved"):
            run(config(out=tmp_path / "parts", **options))
    resumed = run(config(out=tmp_path / "parts", resume=True, **options))
    results = [whole, resumed] if name != "occupancy" else [whole["runs"], resumed["runs"]]
    strip = lambda value: json.loads(json.dumps(value))  # noqa: E731 (tuples and lists alike)
    if name == "occupancy":
        assert [run["iou"] for run in results[0]] == [run["iou"] for run in results[1]]
        folders = [("whole", "parts") for _ in range(3)]
        shapes = ["torus", "arrow", "sphere"]
    else:
        assert strip(whole["losses"]) == strip(resumed["losses"]) and whole["steps"] == resumed["steps"]
        shapes, folders = [""], [("whole", "parts")]
    for shape, (first, second) in zip(shapes, folders):
        ends = [load_checkpoint(tmp_path / run / shape / "checkpoint.pt").field.state_dict() for run in (first, second)]
        assert all(torch.equal(ends[0][key], ends[1][key]) for key in ends[0])


@pytest.mark.slow
def test_an_interrupted_folder_run_resumes_from_its_own_out(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    for name in ("a", "b"):
        random_image(folder / f"{name}.png", 8, 8, seed=ord(name))

    def config(out: Path, **changes) -> image_fitting.FitImageConfig:
        return image_fitting.FitImageConfig(data=folder, out=out, steps=20, hidden_dim=8, progress=False, **changes)

    whole = image_fitting.run(config(tmp_path / "whole"))
    with monkeypatch.context() as patch:
        stop_after(patch, 12)
        with pytest.raises(Interrupted) as stop:
            image_fitting.run(config(tmp_path / "parts"))
    assert str(stop.value.saved).endswith(f"continue with --resume --out {tmp_path / 'parts'}")
    assert sorted(path.name for path in (tmp_path / "parts").iterdir()) == ["a"]
    with pytest.raises(ValueError, match=r"--resume: --out .*nothing holds no \*/checkpoint.pt"):
        image_fitting.run(config(tmp_path / "nothing", resume=True))
    assert not (tmp_path / "nothing").exists()
    resumed = image_fitting.run(config(tmp_path / "parts", resume=True))
    assert [run["final_psnr"] for run in resumed["runs"]] == [run["final_psnr"] for run in whole["runs"]]


def test_a_checkpoint_from_before_init_existed_resumes_as_the_papers_initialization(tmp_path, monkeypatch, image):
    config = image_fitting.FitImageConfig(
        data=image, out=tmp_path / "run", steps=10, hidden_dim=8, checkpoint_every=5, init="paper", progress=False
    )
    with monkeypatch.context() as patch:
        stop_after(patch, 5)
        with pytest.raises(Interrupted):
            image_fitting.run(config)
    path = tmp_path / "run" / "checkpoint.pt"
    payload = torch.load(path, weights_only=True)
    del payload["metadata"]["options"]["init"]  # as an older version wrote it, trained with the paper's init
    torch.save(payload, path)
    with pytest.raises(ValueError, match="other options .*--init 'paper' -> 'mean'"):
        image_fitting.run(replace(config, init="mean", resume=True))
    assert image_fitting.run(replace(config, resume=True))["steps"] == 10
