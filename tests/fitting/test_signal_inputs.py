"""Bad input to the other fit commands (audio, video, megapixel, occupancy, meta): one clear line; tiny signals end to end."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from helpers import cli_error, random_image

from asmr_plugin.fitting import audio as audio_fitting
from asmr_plugin.fitting import megapixel
from asmr_plugin.fitting import occupancy as occupancy_fitting
from asmr_plugin.fitting import video as video_fitting

AUDIO_OPTIONS = [
    (["--rate", "0"], "--rate must be positive, got 0"),
    (["--seconds", "0"], "--seconds must be positive, got 0.0"),
    (["--seconds", "0.00001"], "is 0 sample(s); a clip needs at least 2"),
    (
        ["--seconds", "1e12"],
        "--seconds 1e+12 at --rate 16000 Hz (16,000,000,000,000,000 samples): a full-clip fit needs",
    ),
    (["--hidden-dim", "0"], "--hidden-dim must be positive"),
    (["--device", "bogus"], "--device 'bogus' is not a device"),
    (["--rate", "1000"], "--rate 1000: the generated speech-like clip needs at least 2000 Hz"),
    (["--rate", "3000000000"], "--seconds 2 at --rate 3000000000 Hz (6,000,000,000 samples): a full-clip fit needs"),
]


@pytest.mark.parametrize("rate", [2000, 6000, 8000, 16_000, 48_000])
def test_the_generated_clip_is_speech_like_at_every_rate_it_takes(rate):
    """Formants above the Nyquist frequency are left out (--rate 6000 was a filter-design error)."""
    from asmr_plugin.io.audio import speech_like_clip

    clip = speech_like_clip(rate, 0.5)
    assert clip.shape == (rate // 2, 1) and clip.isfinite().all()
    assert clip.abs().max().item() == pytest.approx(0.9) and clip.std() > 0.05


@pytest.mark.parametrize("args, message", AUDIO_OPTIONS, ids=[" ".join(args) for args, _ in AUDIO_OPTIONS])
def test_bad_audio_options_are_one_line(tmp_path, args, message):
    assert message in cli_error(
        audio_fitting.FitAudioConfig, audio_fitting.run, ["--out", str(tmp_path / "run"), *args]
    )
    assert not (tmp_path / "run").exists()


def test_nan_audio_is_refused_and_loud_audio_warned(tmp_path, capsys):
    samples = np.full(4000, 0.25, dtype=np.float32)
    samples[100] = np.nan
    soundfile.write(str(tmp_path / "nan.wav"), samples, 16_000, subtype="FLOAT")
    args = ["--data", str(tmp_path / "nan.wav"), "--seconds", "0.2", "--out", str(tmp_path / "run")]
    message = cli_error(audio_fitting.FitAudioConfig, audio_fitting.run, args)
    assert message == f"error: {tmp_path / 'nan.wav'} holds non-finite samples (NaN or infinity)"
    soundfile.write(str(tmp_path / "loud.wav"), np.full(4000, 1.5, dtype=np.float32), 16_000, subtype="FLOAT")
    from asmr_plugin.io.audio import load_audio

    assert load_audio(tmp_path / "loud.wav", seconds=0.2).max() == 1.0
    assert "peaks at 1.5, beyond [-1, 1]" in capsys.readouterr().err


OTHER_SCRIPTS = [
    (video_fitting.FitVideoConfig, video_fitting.run, ["--epochs", "0"], "--epochs must be positive, got 0.0"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--epochs", "-1"], "--epochs must be positive, got -1.0"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--frames", "0"], "--frames must be positive"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--resize", "0", "8"], "--resize must be two positive sizes"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--resize", "100000", "100000"], "--resize 100000 100000: one"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--fps", "100000"], "--fps 100000: MP4 videos take 1 to 1000"),
    (video_fitting.FitVideoConfig, video_fitting.run, ["--gif", "--fps", "200"], "--fps 200: GIF videos take 1 to 100"),
    (megapixel.FitMegapixelConfig, megapixel.run, ["--eval-chunk", "0"], "--eval-chunk must be positive"),
    (megapixel.FitMegapixelConfig, megapixel.run, ["--device", "bogus"], "--device 'bogus'"),
    (occupancy_fitting.FitOccupancyConfig, occupancy_fitting.run, ["--epochs", "0"], "--epochs must be positive"),
    (occupancy_fitting.FitOccupancyConfig, occupancy_fitting.run, ["--resolution", "-4"], "--resolution must be"),
    (
        occupancy_fitting.FitOccupancyConfig,
        occupancy_fitting.run,
        ["--resolution", "4096"],
        "--resolution 4096: a 4096^3 voxel grid needs at least 2,112 GiB",
    ),
]


@pytest.mark.parametrize(
    "config_class, run, args, message", OTHER_SCRIPTS, ids=[" ".join(case[2]) for case in OTHER_SCRIPTS]
)
def test_bad_options_of_the_other_scripts_are_one_line(tmp_path, config_class, run, args, message):
    assert message in cli_error(config_class, run, ["--out", str(tmp_path / "run"), *args])
    assert not (tmp_path / "run").exists()


def test_megapixel_batches_and_render_chunks_are_checked_against_memory(tmp_path, monkeypatch):
    from asmr_plugin import memory

    monkeypatch.setattr(memory, "memory_bytes", lambda: 100_000)  # a machine of 100 KB: the tiny network fits
    image = random_image(tmp_path / "photo.png", 64, 64)
    args = ["--data", str(image), "--hidden-dim", "8", "--out", str(tmp_path / "run")]
    message = cli_error(megapixel.FitMegapixelConfig, megapixel.run, [*args, "--batch", "64", "--eval-chunk", "4096"])
    assert message.startswith("error: --eval-chunk 4096: a forward pass needs at least")
    message = cli_error(megapixel.FitMegapixelConfig, megapixel.run, [*args, "--batch", "4096", "--eval-chunk", "64"])
    assert message.startswith("error: --batch 4096: a forward pass needs at least")
    assert not (tmp_path / "run").exists()


def test_tiny_video_frames_and_mixed_grey_colour_frames(tmp_path):
    frames = tmp_path / "frames"
    for index in range(4):
        random_image(frames / f"{index:02d}.png", 4, 4, channels=1 if index == 2 else 3, seed=index)
    (frames / "._00.png").write_bytes(b"junk")
    results = video_fitting.run(
        video_fitting.FitVideoConfig(
            data=frames, model="siren", hidden_dim=8, epochs=2, batch=16, out=tmp_path / "run", progress=False
        )
    )
    assert results["shape"] == [4, 4, 4] and results["channels"] == 3
    assert results["frame_ssim"] == [None] * 4 and results["ssim_mean"] is None
    assert json.loads((tmp_path / "run" / "results.json").read_text())["ssim_mean"] is None


def test_tiny_megapixel_image(tmp_path):
    path = random_image(tmp_path / "tiny.png", 2, 3)
    results = megapixel.run(
        megapixel.FitMegapixelConfig(
            data=path, model="siren", hidden_dim=8, epochs=2, batch=2, out=tmp_path / "run", progress=False
        )
    )
    assert results["ssim"] is None and (tmp_path / "run" / "reconstruction.png").is_file()


def test_megapixel_ssim_tiles_leave_no_sliver():
    assert [(piece.start, piece.stop) for piece in megapixel.tile_bounds(2050)] == [(0, 1025), (1025, 2050)]
    assert [(piece.start, piece.stop) for piece in megapixel.tile_bounds(700)] == [(0, 700)]


@pytest.mark.slow
def test_occupancy_imports_open3d_only_where_used(script):
    code = "import sys, asmr_plugin.fitting.occupancy; assert 'open3d' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    shown = subprocess.run([*script("fit_occupancy.py"), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--resolution" in shown.stdout


@pytest.mark.slow
def test_a_missing_open3d_library_is_one_line_naming_what_to_install(tmp_path, script):
    fake = tmp_path / "fake" / "open3d"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError('libusb-1.0.so.0: cannot open shared object file: No such file or directory')\n"
    )
    failed = subprocess.run(
        [*script("fit_occupancy.py"), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "fake")},
    )
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    line = failed.stderr.strip()
    assert "\n" not in line and line.startswith("error: open3d (meshes, occupancy) cannot be imported")
    assert "pip install libusb-package" in line and "apt-get install libusb-1.0-0" in line
    assert not (tmp_path / "run").exists()
