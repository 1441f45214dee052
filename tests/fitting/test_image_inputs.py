"""Bad input to asmr-fit image: one clear line, a non-zero exit, nothing left on disk; tiny images end to end."""

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SMALL, cli_error, random_image
from PIL import Image

from asmr_plugin.fitting import image as image_fitting
from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.io.files import current_umask
from asmr_plugin.metrics import ssim

IMAGE_OPTIONS = [
    (["--hidden-dim", "0"], "--hidden-dim must be positive, got 0"),
    (["--hidden-dim", "-1"], "--hidden-dim must be positive, got -1"),
    (["--model", "siren", "--hidden-dim", "0"], "--hidden-dim must be positive"),
    (["--num-layers", "0"], "--num-layers must be positive, got 0"),
    (["--omega0", "0"], "--omega0 must be positive, got 0.0"),
    (["--downscale", "0"], "--downscale must be positive, got 0"),
    (["--downscale", "-3"], "--downscale must be positive, got -3"),
    (["--steps", "0"], "--steps must be positive"),
    (["--lr", "0"], "--lr must be positive"),
    (["--batch", "0"], "--batch must be positive"),
    (["--output-lr-scale", "0"], "--output-lr-scale must be positive"),
    (["--model", "siren", "--output-lr-scale", "3"], "--output-lr-scale applies to ASMR; --model siren has one"),
    (["--modulation-lr-scale", "-1"], "--modulation-lr-scale must be positive"),
    (["--model", "siren", "--fast-start"], "--fast-start applies to ASMR; --model siren has one learning rate"),
    (["--device", "bogus"], "--device 'bogus' is not a device"),
    (["--device", "cuda:7"], "--device cuda:7: not available on this machine"),
    (["--resume"], "--resume needs --out"),
    (["--omega0", "inf"], "--omega0 must be a finite number, got inf"),
    (["--lr", "inf"], "--lr must be a finite number"),
    (["--lr", "1e-7"], "--lr 1e-07 is below 1e-06, where the cosine schedule ends"),
    (
        ["--hidden-dim", "1000000"],
        "--hidden-dim 1000000: training such a network (weights, gradients and Adam's moments) needs at least",
    ),
    (["--graph", "on", "--device", "cpu"], "--graph on needs a CUDA device"),
]


@pytest.mark.parametrize("args, message", IMAGE_OPTIONS, ids=[" ".join(args) for args, _ in IMAGE_OPTIONS])
def test_bad_image_options_are_one_line_before_anything_is_written(tmp_path, monkeypatch, image, args, message):
    monkeypatch.chdir(tmp_path)
    out = [] if "--resume" in args else ["--out", str(tmp_path / "run")]
    assert message in cli_error(image_fitting.FitImageConfig, image_fitting.run, ["--data", str(image), *out, *args])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photo.png"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_one_line(image):
    message = cli_error(image_fitting.FitImageConfig, image_fitting.run, ["--data", str(image), "--device", "cuda"])
    assert message.startswith("error: --device cuda: not available on this machine")


def test_out_under_a_file_or_proc_is_one_line(tmp_path, image):
    for out, message in [
        (image / "run", f"{image} is a file, not a directory"),
        (Path("/proc/asmr-run"), "cannot be created"),
    ]:
        args = ["--data", str(image), "--out", str(out), "--steps", "1", *SMALL]
        assert message in cli_error(image_fitting.FitImageConfig, image_fitting.run, args)
    assert not Path("/proc/asmr-run").exists()


def test_an_image_too_large_to_fit_here_is_refused_before_anything_is_written(tmp_path, monkeypatch, image):
    from asmr_plugin import memory

    monkeypatch.setattr(memory, "memory_bytes", lambda: 100_000)  # the image loads, its fit (140 bytes a value) not
    message = cli_error(
        image_fitting.FitImageConfig, image_fitting.run, ["--data", str(image), "--out", str(tmp_path / "run")]
    )
    assert message.startswith(f"error: a fit of {image} (") and message.endswith(
        "pass --downscale, or fit it with asmr-fit megapixel (random batches, evaluation in chunks)"
    )
    assert not (tmp_path / "run").exists()


def test_non_finite_pixels_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "float.tif"
    pixels = np.full((8, 8), 0.5, dtype=np.float32)
    pixels[3, 4] = np.nan
    Image.fromarray(pixels, mode="F").save(path)
    message = cli_error(image_fitting.FitImageConfig, image_fitting.run, ["--data", str(path), *SMALL])
    assert message == f"error: image {path} holds non-finite pixel values (NaN or infinity)"


def test_divergence_stops_with_one_line_and_leaves_nothing(tmp_path, image):
    args = ["--data", str(image), "--out", str(tmp_path / "run"), "--steps", "200", "--lr", "1e6", *SMALL]
    assert "the fit diverged" in cli_error(image_fitting.FitImageConfig, image_fitting.run, args)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (5, 100), (1, 300)])
def test_tiny_images_fit_end_to_end_with_ssim_not_defined(tmp_path, height, width):
    path = random_image(tmp_path / "tiny.png", height, width)
    results = image_fitting.run(
        image_fitting.FitImageConfig(data=path, out=tmp_path / "run", steps=20, hidden_dim=8, progress=False)
    )
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["ssim"] is None and saved["ssim"] is None and saved["shape"] == [height, width]
    assert saved["final_psnr"] is None or saved["final_psnr"] > 0  # null only for an exact (infinite) fit
    assert (tmp_path / "run" / "reconstruction.png").is_file()


def test_ssim_is_defined_from_six_pixels():
    assert ssim(torch.rand(5, 40, 3), torch.rand(5, 40, 3)) is None
    assert 0 < ssim(torch.rand(6, 6, 1), torch.rand(6, 6, 1)).item() < 1


def test_folder_outputs_are_unique_and_hidden_files_skipped(tmp_path):
    folder = tmp_path / "photos"
    random_image(folder / "a.png", 8, 8, seed=1)
    random_image(folder / "a.jpg", 8, 8, seed=2)
    random_image(folder / "tiny.png", 3, 3, seed=3)
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    summary = image_fitting.run(
        image_fitting.FitImageConfig(data=folder, out=tmp_path / "run", steps=10, hidden_dim=8, progress=False)
    )
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [
        "a-jpg",
        "a-png",
        "summary.json",
        "summary.md",
        "tiny",
    ]
    assert json.loads((tmp_path / "run" / "a-jpg" / "results.json").read_text())["data"] == str(folder / "a.jpg")
    assert summary["signals"] == 3 and summary["ssim_mean"] is not None
    assert [run["ssim"] is None for run in summary["runs"]] == [False, False, True]
    assert "| tiny.png | 3x3 |" in (tmp_path / "run" / "summary.md").read_text()


def test_a_bad_image_in_a_folder_stops_the_run_before_any_fit(tmp_path):
    folder = tmp_path / "photos"
    random_image(folder / "a.png", 8, 8)
    (folder / "b.png").write_bytes(b"not a png")
    message = cli_error(
        image_fitting.FitImageConfig, image_fitting.run, ["--data", str(folder), "--out", str(tmp_path / "run")]
    )
    assert "b.png is not a readable image" in message and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, image, script):
    out = tmp_path / "run"
    command = [*script("fit_image.py"), "--data", str(image), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--steps", "1000000", "--checkpoint-every", "5", *SMALL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:  # the fit loop is running
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted; step" in stderr and f"continue with --resume --out {out}" in stderr.replace("\n", "")
    assert "Traceback" not in stderr
    assert load_checkpoint(out / "checkpoint.pt").step >= 5
    assert (out / "checkpoint.pt").stat().st_mode & 0o777 == 0o666 & ~current_umask()
