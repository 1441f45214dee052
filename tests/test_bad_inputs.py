"""Bad input and interrupted runs of the scripts: one clear line, a non-zero exit, nothing left on disk;
tiny images end to end; interrupted fits resumed equal uninterrupted ones; file modes follow the umask."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, List

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from asmr_plugin.cli import run_cli
from asmr_plugin.fitting import audio as audio_fitting
from asmr_plugin.fitting import image as image_fitting
from asmr_plugin.fitting import megapixel
from asmr_plugin.fitting import occupancy as occupancy_fitting
from asmr_plugin.fitting import video as video_fitting
from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.io.files import atomic_path, current_umask, write_json
from asmr_plugin.metrics import ssim
from asmr_plugin.training import interrupts, loop
from asmr_plugin.training import optimization as optimization_module
from asmr_plugin.training.interrupts import Interrupted

SMALL = ["--hidden-dim", "8", "--no-progress"]


def random_image(path: Path, height: int, width: int, channels: int = 3, seed: int = 0) -> Path:
    pixels = (np.random.default_rng(seed).random((height, width, channels)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(path)
    return path


def cli_error(config_class, run: Callable, args: List[str]) -> str:
    """The one line a script prints for ``args`` (it must exit with status 1)."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(config_class, run, None, args=args)
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "\n" not in message, message
    return message


@pytest.fixture
def image(tmp_path) -> Path:
    return random_image(tmp_path / "photo.png", 16, 16)


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
    (["--hidden-dim", "1000000"], "--hidden-dim 1000000: training such a network needs about"),
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


def test_a_fit_that_ends_below_its_start_is_diverged():
    history = loop.FitHistory(steps=[0, 10], psnr=[12.0, 4.7])
    with pytest.raises(loop.FitDiverged, match="ended at 4.70 dB PSNR, below the 12.00 dB"):
        loop.check_converged(torch.nn.Linear(1, 1), history)
    loop.check_converged(torch.nn.Linear(1, 1), loop.FitHistory(steps=[0, 10], psnr=[12.0, float("inf")]))


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


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_json(tmp_path / "results.json", {"psnr": float("nan")})
        with atomic_path(tmp_path / "image.png") as temporary:
            temporary.write_bytes(b"png")
    finally:
        os.umask(previous)
    for name in ("results.json", "image.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads((tmp_path / "results.json").read_text()) == {"psnr": None}  # strict JSON: no NaN


def stop_after(monkeypatch, steps: int) -> None:
    """Make the fit loop see a stop request (as from Ctrl-C) after ``steps`` steps."""
    from contextlib import contextmanager

    @contextmanager
    def stop_requests():
        calls = iter(range(1, 10**9))
        yield lambda: next(calls) >= steps

    monkeypatch.setattr(interrupts, "stop_requests", stop_requests)


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


AUDIO_OPTIONS = [
    (["--rate", "0"], "--rate must be positive, got 0"),
    (["--seconds", "0"], "--seconds must be positive, got 0.0"),
    (["--seconds", "0.00001"], "is 0 sample(s); a clip needs at least 2"),
    (["--hidden-dim", "0"], "--hidden-dim must be positive"),
    (["--device", "bogus"], "--device 'bogus' is not a device"),
]


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
    (megapixel.FitMegapixelConfig, megapixel.run, ["--eval-chunk", "0"], "--eval-chunk must be positive"),
    (megapixel.FitMegapixelConfig, megapixel.run, ["--device", "bogus"], "--device 'bogus'"),
    (occupancy_fitting.FitOccupancyConfig, occupancy_fitting.run, ["--epochs", "0"], "--epochs must be positive"),
    (occupancy_fitting.FitOccupancyConfig, occupancy_fitting.run, ["--resolution", "-4"], "--resolution must be"),
]


@pytest.mark.parametrize(
    "config_class, run, args, message", OTHER_SCRIPTS, ids=[" ".join(case[2]) for case in OTHER_SCRIPTS]
)
def test_bad_options_of_the_other_scripts_are_one_line(tmp_path, config_class, run, args, message):
    assert message in cli_error(config_class, run, ["--out", str(tmp_path / "run"), *args])
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


def test_occupancy_imports_open3d_only_where_used(script):
    code = "import sys, asmr_plugin.fitting.occupancy; assert 'open3d' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    shown = subprocess.run([*script("fit_occupancy.py"), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--resolution" in shown.stdout


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


def test_export_refuses_an_unknown_model_and_an_unwritable_out(tmp_path, script):
    from asmr_plugin.fields import ASMRField
    from asmr_plugin.io.checkpoint import save_checkpoint

    script = [*script("export.py")]
    save_checkpoint(tmp_path / "good.pt", ASMRField(bases=[[2, 2], [2, 2]], hidden_dim=8, out_dim=1), (4, 4), step=1)
    payload = torch.load(tmp_path / "good.pt", weights_only=True)
    torch.save({**payload, "model": "nope"}, tmp_path / "bad.pt")
    for checkpoint, out, message in [
        ("bad.pt", tmp_path / "x.ts", "unknown model 'nope'"),
        ("good.pt", Path("/proc/asmr.ts"), "error: No such file or directory: /proc/asmr.ts"),
    ]:
        failed = subprocess.run(
            [*script, "--checkpoint", str(tmp_path / checkpoint), "--out", str(out)], capture_output=True, text=True
        )
        assert failed.returncode == 1 and message in failed.stderr and "Traceback" not in failed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.pt", "good.pt"]


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


@pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
)
def test_a_non_finite_loss_stops_the_fit(device):
    weight = torch.nn.Parameter(torch.ones(3, device=device))
    optimization = optimization_module.AdamCosine([weight], 1e-3, 1000)
    optimization.step((weight**2).sum())
    with pytest.raises(loop.FitDiverged, match="non-finite"):
        for _ in range(optimization_module.FINITE_CHECK_EVERY):  # on the CPU at once; elsewhere within this many steps
            optimization.step((weight * float("nan")).sum())
    assert optimization.steps_taken == (1 if device == "cpu" else optimization_module.FINITE_CHECK_EVERY)


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


@pytest.mark.parametrize(
    "module, args, message",
    [
        ("latency", ["--sizes", "0x0"], "error: --sizes 0x0: height and width must be at least 1"),
        ("latency", ["--sizes", "100000x100000"], "error: --sizes 100000x100000: a render needs at least"),
        ("latency", ["--sizes", "big"], "error: --sizes big: expected HxW, e.g. 512x768"),
        ("training", ["--size", "0"], "error: --size must be at least 1, got 0"),
    ],
)
def test_benchmark_sizes_are_checked_before_any_measurement(module, args, message):
    done = subprocess.run(
        [sys.executable, "-c", f"from asmr_plugin.commands import bench; bench(['{module}', *{args!r}])"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith(message)


def test_checkpoint_messages_say_what_happened(tmp_path):
    from asmr_plugin.io.checkpoint import load_checkpoint

    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    for path, message in [
        (tmp_path, "is a folder; give the checkpoint.pt file in it"),
        (tmp_path / "empty.pt", "is empty (0 bytes)"),
        (tmp_path / "junk.pt", "is not a readable asmr-plugin checkpoint (damaged, or written by another program;"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)) as error:
            load_checkpoint(path)
        assert "weights_only" not in str(error.value) and "issue" not in str(error.value)
