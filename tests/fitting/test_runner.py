"""The one run flow (fitting/runner.py) as every signal meets it: results.json last, a finished fit's missing outputs
written again by --resume from its checkpoint (the last step's training state)."""

import json

import pytest
from helpers import smooth_rgb_image

from asmr_plugin.commands import fit

RUNS = {
    "image": (["--steps", "12"], "psnr.png"),
    "audio": (["--seconds", "0.05", "--steps", "12"], "waveform.png"),
}


@pytest.mark.parametrize("signal", sorted(RUNS))
def test_resume_writes_the_missing_outputs_of_a_finished_fit(signal, tmp_path):
    options, output = RUNS[signal]
    data = ["--data", str(smooth_rgb_image(tmp_path / "smooth.png", (16, 20)))] if signal == "image" else []
    args = [signal, *data, *options, "--hidden-dim", "8", "--no-progress", "--out", str(tmp_path / "run")]
    fit(args)
    first = json.loads((tmp_path / "run" / "results.json").read_text())
    (tmp_path / "run" / output).unlink()
    fit([*args, "--resume"])
    again = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (tmp_path / "run" / output).is_file()
    for key in ("final_psnr", "best_psnr", "best_step", "steps", "params"):
        assert again[key] == first[key], key  # the same fit, not a new one


def test_a_run_inside_its_input_folder_resumes(tmp_path):
    """The run's own files inside the input folder are not data: --resume finds the same data."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        smooth_rgb_image(frames / f"frame{index}.png", (12, 12))
    args = ["video", "--data", str(frames), "--epochs", "1", "--batch", "144", "--hidden-dim", "8", "--gif"]
    args += ["--no-progress", "--out", str(frames / "run")]
    fit(args)
    first = json.loads((frames / "run" / "results.json").read_text())
    assert fit([*args, "--resume"]) is None  # the finished run, returned as written
    again = json.loads((frames / "run" / "results.json").read_text())
    assert again == first


def non_utf8(path) -> str:
    """``path``'s name with a byte that is not UTF-8 (valid on Linux), as Python names it."""
    import os

    named = os.fsdecode(os.fsencode(str(path.parent)) + b"/\xff" + os.fsencode(path.name))
    os.rename(path, named)
    return named


@pytest.mark.parametrize("signal", ["image", "audio", "video"])
def test_names_that_are_not_utf8_fit_and_resume(signal, tmp_path):
    import numpy as np
    import soundfile

    if signal == "image":
        data = non_utf8(smooth_rgb_image(tmp_path / "photo.png", (12, 16)))
        options = ["--steps", "5"]
    elif signal == "audio":
        soundfile.write(tmp_path / "clip.wav", np.sin(np.arange(1600) / 5) * 0.5, 16_000)
        data, options = non_utf8(tmp_path / "clip.wav"), ["--seconds", "0.05", "--steps", "5"]
    else:
        (tmp_path / "frames").mkdir()
        for index in range(3):
            smooth_rgb_image(tmp_path / "frames" / f"f{index}.png", (12, 12))
        data, options = non_utf8(tmp_path / "frames"), ["--epochs", "1", "--batch", "144", "--gif"]
    args = [signal, "--data", data, *options, "--hidden-dim", "8", "--no-progress", "--out", str(tmp_path / "run")]
    fit(args)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "\\xff" in results["data"]  # written as readable text
    fit([*args, "--resume"])  # the recorded path is the same file
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == results


@pytest.mark.parametrize("signal", ["image", "audio", "video", "megapixel", "occupancy"])
def test_a_pipe_as_data_is_one_line_and_nothing_is_written(signal, tmp_path):
    import os

    from helpers import cli_error

    from asmr_plugin.commands import FITS

    suffix = {"image": ".png", "audio": ".wav", "video": ".mp4", "megapixel": ".png", "occupancy": ".ply"}[signal]
    os.mkfifo(tmp_path / f"pipe{suffix}")
    entry, out = FITS[signal], tmp_path / "run"
    message = cli_error(entry.options, entry.run, ["--data", str(tmp_path / f"pipe{suffix}"), "--out", str(out)])
    assert message == f"error: --data {tmp_path / f'pipe{suffix}'} is a named pipe; expected a file or a folder"
    (tmp_path / "folder").mkdir()
    inside = ".png" if signal == "video" else suffix  # a video folder holds frames
    os.mkfifo(tmp_path / "folder" / f"inside{inside}")
    if signal not in ("megapixel",):  # a folder of signals (megapixel fits one image)
        message = cli_error(entry.options, entry.run, ["--data", str(tmp_path / "folder"), "--out", str(out)])
        assert f"{tmp_path / 'folder' / f'inside{inside}'} is a named pipe" in message
    assert not out.exists()


@pytest.mark.parametrize("bases", ["4,,8", "4,8,", ",4", "4,0,8", "4,-2,8", "4,x", "4.5,8"])
def test_bases_with_empty_zero_negative_or_non_integer_entries_are_refused(bases, tmp_path):
    from helpers import cli_error

    from asmr_plugin.fitting.image import FitImageConfig, run

    image = smooth_rgb_image(tmp_path / "smooth.png", (16, 16))
    args = ["--data", str(image), "--bases", bases, "--out", str(tmp_path / "run")]
    assert "--bases" in cli_error(FitImageConfig, run, args)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content", ["[1]", "{not json", '{"config": []}', "\xff\xfe", '{"data": 1, "config": {}}'])
def test_resume_over_a_damaged_results_json_is_one_line_naming_it(content, tmp_path):
    from helpers import cli_error

    from asmr_plugin.fitting.image import FitImageConfig, run

    image = smooth_rgb_image(tmp_path / "smooth.png", (16, 16))
    args = ["--data", str(image), "--steps", "3", "--hidden-dim", "8", "--no-progress", "--out", str(tmp_path / "run")]
    run(FitImageConfig(data=image, steps=3, hidden_dim=8, progress=False, out=tmp_path / "run"))
    (tmp_path / "run" / "results.json").write_bytes(content.encode("latin-1"))
    message = cli_error(FitImageConfig, run, [*args, "--resume"])
    assert message.startswith(f"error: --resume: {tmp_path / 'run' / 'results.json'} is not")


def test_export_refuses_to_write_over_its_checkpoint(tmp_path):
    from helpers import cli_error

    from asmr_plugin.export import ExportConfig, export
    from asmr_plugin.fitting.image import FitImageConfig, run

    image = smooth_rgb_image(tmp_path / "smooth.png", (16, 16))
    run(FitImageConfig(data=image, steps=3, hidden_dim=8, progress=False, out=tmp_path / "run"))
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    same = str(tmp_path / "run" / ".." / "run" / "checkpoint.pt")  # another spelling of the same file
    message = cli_error(
        ExportConfig, export, ["--checkpoint", str(tmp_path / "run" / "checkpoint.pt"), "--out", same, "--overwrite"]
    )
    assert "would replace its input" in message
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before


@pytest.mark.parametrize(
    "signal, options, named",
    [
        ("image", ["--batch", "1000000000"], "--batch 1000000000"),
        ("image", ["--bases", "1000,1000"], "--bases 1000,1000"),
        ("audio", ["--bases", "100000,100000"], "bases"),
    ],
)
def test_options_that_imply_huge_allocations_are_refused_before_any(signal, options, named, tmp_path):
    from helpers import cli_error

    from asmr_plugin.commands import FITS

    data = ["--data", str(smooth_rgb_image(tmp_path / "smooth.png", (16, 16)))] if signal == "image" else []
    entry = FITS[signal]
    message = cli_error(entry.options, entry.run, [*data, *options, "--out", str(tmp_path / "run")])
    assert named in message and "more than this machine's" in message
    assert not (tmp_path / "run").exists()


def test_an_error_about_a_name_that_is_not_utf8_prints_it_readably(tmp_path):
    import numpy as np
    import soundfile
    from helpers import cli_error

    from asmr_plugin.fitting.audio import FitAudioConfig, run

    soundfile.write(tmp_path / "clip.wav", np.zeros(160), 16_000)
    message = cli_error(FitAudioConfig, run, ["--data", non_utf8(tmp_path / "clip.wav"), "--out", str(tmp_path / "r")])
    assert "\\xffclip.wav holds 0.01 s" in message


@pytest.mark.parametrize("suffix, ascii_file", [(".ply", False), (".ply", True), (".off", True), (".stl", False)])
def test_a_mesh_cut_short_is_one_line_naming_it(suffix, ascii_file, tmp_path):
    from asmr_plugin.io.meshes import load_mesh
    from asmr_plugin.io.open3d_loader import open3d

    o3d = open3d()
    sphere = o3d.geometry.TriangleMesh.create_sphere(1.0, resolution=20)
    sphere.compute_triangle_normals()
    o3d.io.write_triangle_mesh(str(tmp_path / f"whole{suffix}"), sphere, write_ascii=ascii_file)
    data = (tmp_path / f"whole{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    assert len(load_mesh(tmp_path / f"whole{suffix}").triangles) == len(sphere.triangles)
    with pytest.raises(ValueError, match=f"{tmp_path / f'cut{suffix}'} (is damaged or cut short|holds no triangles)"):
        load_mesh(tmp_path / f"cut{suffix}")


def test_meta_learning_refuses_bases_that_no_chosen_network_takes(tmp_path):
    from helpers import cli_error

    from asmr_plugin.fitting.meta import MetaLearnConfig, run

    args = ["--models", "ngp", "--bases", "2,2,2,2,2", "--out", str(tmp_path / "run")]
    assert (
        cli_error(MetaLearnConfig, run, args)
        == "error: --bases applies to ASMR; --models ngp has no network with bases"
    )
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_write_that_fails_keeps_the_previous_one_and_is_one_line(tmp_path, monkeypatch):
    from helpers import cli_error

    from asmr_plugin.fitting.image import FitImageConfig, run
    from asmr_plugin.io import checkpoint

    image = smooth_rgb_image(tmp_path / "smooth.png", (16, 16))
    args = ["--data", str(image), "--steps", "6", "--hidden-dim", "8", "--no-progress", "--out", str(tmp_path / "run")]
    run(FitImageConfig(data=image, steps=6, hidden_dim=8, progress=False, out=tmp_path / "run"))
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()

    def short_write(payload, path):
        with open(path, "wb") as handle:
            handle.write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 7296 vs 7184")

    monkeypatch.setattr(checkpoint.torch, "save", short_write)
    message = cli_error(FitImageConfig, run, [*args, "--overwrite", "--steps", "8"])
    assert message.startswith(f"error: checkpoint {tmp_path / 'run' / 'checkpoint.pt'} could not be written")
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before
    assert not [path for path in (tmp_path / "run").iterdir() if path.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize(
    "signal, option, value, named",
    [
        (signal, "--seed", value, "--seed must be between 0 and 2147483647")
        for signal in ("image", "audio", "video", "megapixel", "occupancy", "meta")
        for value in ("-1", "1000000000000")
    ]
    + [
        ("occupancy", "--points-per-epoch", "1000000000000", "--points-per-epoch 1000000000000: an epoch's points"),
        ("meta", "--latent-dim", "1000000000000", "--latent-dim 1000000000000: the latent map"),
        ("meta", "--mapping-layers", "1000000000000", "--mapping-layers 1000000000000: the latent map"),
        ("meta", "--batch", "1000000000000", "--batch 1000000000000 of 32x32 images"),
        ("meta", "--outer-lr", "0", "--outer-lr must be positive"),
        ("meta", "--inner-lr", "nan", "--inner-lr must be positive"),
    ],
)
def test_options_out_of_range_are_one_line_before_anything_is_written(signal, option, value, named, tmp_path):
    """Found by sweeping every numeric option of every command with 0, -1, 1e12, nan, inf, text and nothing."""
    from helpers import cli_error

    from asmr_plugin.commands import FITS

    entry = FITS[signal]
    message = cli_error(entry.options, entry.run, [option, value, "--out", str(tmp_path / "run")])
    assert named in message
    assert not (tmp_path / "run").exists()


FILE_SUFFIXES = {"image": ".png", "audio": ".wav", "megapixel": ".png", "occupancy": ".ply", "video": ".mp4"}


@pytest.mark.parametrize("signal", sorted(FILE_SUFFIXES))
@pytest.mark.parametrize(
    "damage", ["missing", "empty", "text", "link loop", "link loop in a folder", "empty folder", "out is data"]
)
def test_damaged_file_inputs_are_one_line_naming_them(signal, damage, tmp_path):
    """Found by sweeping every command's --data: missing, empty, truncated (the loaders' own tests), not of its type,
    a link to itself (given, or inside a folder given), an empty folder, and --out naming the input itself."""
    import os

    from helpers import cli_error

    from asmr_plugin.commands import FITS

    path = tmp_path / f"input{FILE_SUFFIXES[signal]}"
    out = tmp_path / "run"
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("hello\n" * 100)
    elif damage == "link loop":
        os.symlink(path, path)
    elif damage == "link loop in a folder":
        path = tmp_path / "folder" / f"0001{FILE_SUFFIXES[signal]}"
        path.parent.mkdir()
        os.symlink(path, path)
        path = path if signal == "megapixel" else path.parent  # megapixel fits one file, never a folder
    elif damage == "empty folder":
        path = tmp_path / "folder"
        path.mkdir()
    elif damage == "out is data":
        path.write_text("keep me")
        out = path
    entry = FITS[signal]
    message = cli_error(entry.options, entry.run, ["--data", str(path), "--out", str(out)])
    assert str(path) in message
    if damage == "out is data":
        assert path.read_text() == "keep me"
    else:
        assert not out.exists()
