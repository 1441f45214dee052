"""Video loading from frames, GIF and MP4; the default clip; fitting a tiny video end to end."""

import json
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.io.video import load_video, pan_across_chelsea, save_video


def moving_square(frames=6, size=(16, 20)) -> torch.Tensor:
    video = torch.zeros(frames, *size, 3)
    for t in range(frames):
        video[t, 4:10, 2 + 2 * t : 8 + 2 * t] = torch.tensor([1.0, 0.5, 0.25])
    return video


@pytest.mark.parametrize(
    "suffix, tolerance",
    [(".gif", 0.02), pytest.param(".mp4", 0.15, marks=pytest.mark.slow)],  # H.264: seconds
)
def test_video_files_round_trip(tmp_path, suffix, tolerance):
    video = moving_square()
    save_video(tmp_path / f"clip{suffix}", video)
    loaded = load_video(tmp_path / f"clip{suffix}")
    assert loaded.shape == video.shape
    assert (loaded - video).abs().mean() < tolerance
    assert torch.equal(load_video(tmp_path / f"clip{suffix}", frames=2, stride=3), loaded[[0, 3]])


def test_a_video_longer_than_memory_is_refused_while_read(tmp_path, monkeypatch):
    from asmr_plugin import memory

    save_video(tmp_path / "clip.gif", moving_square(frames=10))  # 3.75 KB a float frame
    monkeypatch.setattr(memory, "memory_bytes", lambda: 40_000)  # 3 copies of 3 frames fit, not of 4
    with pytest.raises(ValueError) as refused:
        load_video(tmp_path / "clip.gif")
    assert str(refused.value) == (
        f"--data {tmp_path / 'clip.gif'}: fitting the first 4 frames (16x20) needs at least 0 GiB, more than this machine's "
        "0 GiB; pass --frames, --stride or --resize"
    )
    assert load_video(tmp_path / "clip.gif", frames=3).shape == (3, 16, 20, 3)
    assert load_video(tmp_path / "clip.gif", resize=(8, 10)).shape == (10, 8, 10, 3)


def test_frame_folder_with_stride_frames_and_resize(tmp_path):
    for t, frame in enumerate(moving_square(frames=7)):
        Image.fromarray((frame.numpy() * 255).astype(np.uint8)).save(tmp_path / f"frame_{t:03d}.png")
    (tmp_path / "readme.txt").write_text("not a frame")
    loaded = load_video(tmp_path, frames=3, stride=2, resize=(8, 10))
    assert loaded.shape == (3, 8, 10, 3)
    assert torch.allclose(load_video(tmp_path, stride=2)[1], moving_square(frames=7)[2], atol=1 / 255)


def test_bad_videos_are_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no frames"):
        load_video(empty)
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a readable video"):
        load_video(tmp_path / "broken.mp4")
    with pytest.raises(ValueError, match="does not exist"):
        load_video(tmp_path / "missing.gif")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (8, 8)).save(mixed / "a.png")
    Image.new("RGB", (8, 6)).save(mixed / "b.png")
    with pytest.raises(ValueError, match="--resize"):
        load_video(mixed)


def test_default_clip_pans_across_the_cat():
    video = pan_across_chelsea()
    assert video.shape == (24, 128, 160, 3)
    assert torch.equal(video[1, :, :-12], video[0, :, 12:])  # each frame is the last one moved 12 pixels


@pytest.mark.slow
def test_fit_video_script_on_a_tiny_gif(tmp_path, script):
    save_video(tmp_path / "clip.gif", moving_square())
    command = [
        *script("fit_video.py"),
        "--data",
        str(tmp_path / "clip.gif"),
        "--epochs",
        "4",
        "--batch",
        "256",
        "--hidden-dim",
        "16",
        "--gif",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["shape"] == [6, 16, 20] and len(results["frame_psnr"]) == 6
    assert results["psnr_mean"] == pytest.approx(np.mean(results["frame_psnr"]))
    assert load_video(tmp_path / "out" / "reconstruction.gif").shape == (6, 16, 20, 3)
    assert Image.open(tmp_path / "out" / "side_by_side.png").size == (40, 16)
    failed = subprocess.run(
        command[:2] + ["--data", str(tmp_path / "clip.gif"), "--bases", "2,2", "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "--bases" in failed.stderr and not (tmp_path / "bad").exists()


def test_the_default_clip_takes_frames_stride_and_resize():
    from asmr_plugin.io.video import default_video

    clip = default_video(frames=3, stride=2, resize=(16, 20))
    assert clip.shape == (3, 16, 20, 3)
    assert torch.equal(default_video(frames=3, stride=2), pan_across_chelsea()[0:6:2])
