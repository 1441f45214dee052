"""Frame folders in natural order; MP4s of any frame mode and size; a failing output write keeps the work."""

from dataclasses import replace
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.fitting import video as video_fitting
from asmr_plugin.io.video import load_video, save_video


def test_frames_are_read_in_natural_order(tmp_path):
    for index in (1, 2, 10, 11):  # name order would read frame1, frame10, frame11, frame2
        Image.fromarray(np.full((4, 4), index * 20, dtype=np.uint8)).save(tmp_path / f"frame{index}.png")
    levels = (load_video(tmp_path)[:, 0, 0, 0] * 255).round().tolist()
    assert levels == [20, 40, 200, 220]


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(3, 16, 16, 2), (3, 1, 5, 1), (3, 7, 9, 3), (3, 6, 6, 4)])
def test_every_frame_mode_and_size_makes_an_mp4(tmp_path, shape):
    save_video(tmp_path / "v.mp4", torch.rand(shape))
    frames = iio.imread(tmp_path / "v.mp4", plugin="pyav")
    assert frames.shape == (3, shape[1] + shape[1] % 2, shape[2] + shape[2] % 2, 3)  # odd sizes padded, not cropped


def test_a_failing_video_write_keeps_the_trained_network_and_resume_finishes_the_run(tmp_path, monkeypatch):
    def broken(path: Path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(video_fitting, "save_video", broken)
    out = tmp_path / "run"
    config = video_fitting.FitVideoConfig(
        model="siren", hidden_dim=8, frames=2, resize=(8, 8), epochs=1, batch=16, out=out, progress=False
    )
    with pytest.raises(OSError, match="No space left"):
        video_fitting.run(config)
    assert (out / "checkpoint.pt").is_file() and not (out / "results.json").exists()  # results.json: written last
    assert not [path for path in out.iterdir() if path.name.startswith(".")]
    monkeypatch.undo()
    resumed = video_fitting.run(replace(config, resume=True))
    assert resumed["steps"] == 8 and (out / "results.json").is_file() and (out / "reconstruction.mp4").is_file()
