import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.fields import FIELDS, ASMRField, SIRENField
from asmr_plugin.fitting.image import FitImageConfig, bases_for_image, downscale_image, run
from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint
from asmr_plugin.io.images import default_image, load_image
from asmr_plugin.training.loop import FitConfig, fit


def smooth_image(height: int, width: int, channels: int) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    return torch.stack([(torch.sin(3 * x + k) * torch.cos(2 * y - k) + 1) / 2 for k in range(channels)], dim=-1)


@pytest.mark.slow
@pytest.mark.parametrize("batch", [None, 256])
@pytest.mark.parametrize(
    "make_field",
    [
        lambda: ASMRField(bases=[[2, 4, 4], [2, 4, 4]], hidden_dim=64, out_dim=1),
        lambda: SIRENField((32, 32), hidden_dim=64, num_layers=3, out_dim=1),
    ],
    ids=["asmr", "siren"],
)
def test_short_fit_raises_psnr(make_field, batch):
    torch.manual_seed(0)
    field = make_field()
    patch = load_image(default_image())[200:232, 200:232]
    history = fit(field, patch, FitConfig(steps=100, lr=1e-3, batch=batch, progress=False))
    assert history.steps[-1] == 100
    assert history.psnr[-1] > history.psnr[0] + 5
    assert history.best_psnr >= history.psnr[-1]


def test_fit_config_rejects_bad_values():
    with pytest.raises(ValueError, match="steps"):
        FitConfig(steps=0)
    with pytest.raises(ValueError, match="batch"):
        FitConfig(batch=0)


def test_checkpoint_round_trip_renders_identically(tmp_path):
    field = ASMRField(bases=[[3, 4], [5, 2]], hidden_dim=16, out_dim=2)
    save_checkpoint(tmp_path / "model.pt", field, (12, 10), step=7, metadata={"data": "x.png"})
    loaded = load_checkpoint(tmp_path / "model.pt")
    assert loaded.model == "asmr" and loaded.signal_shape == (12, 10) and loaded.step == 7
    with torch.no_grad():
        assert torch.equal(loaded.field.render(), field.render())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_bad_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.pt is not a readable"):
        load_checkpoint(tmp_path / "junk.pt")


def write_test_image(path: Path, size=(16, 24)) -> Path:
    pixels = (smooth_image(*size, 3).numpy() * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_run_writes_every_output(tmp_path):
    image = write_test_image(tmp_path / "tiny.png", (13, 21))  # sizes that need padding
    config = FitImageConfig(data=image, steps=30, hidden_dim=32, lr=1e-3, out=tmp_path / "out", progress=False)
    results = run(config)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "psnr.png", "reconstruction.png", "results.json"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["output_init"] == "mean" and saved["config"]["init"] == "mean"  # the default
    for key in (
        "final_psnr",
        "best_psnr",
        "ssim",
        "params",
        "macs_weights",
        "macs_with_bias",
        "steps",
        "seconds",
        "device",
    ):
        assert saved[key] == results[key]
    assert load_image(out / "reconstruction.png").shape == (13, 21, 3)
    checkpoint = load_checkpoint(out / "checkpoint.pt")
    with torch.no_grad():
        rendered = checkpoint.field.render(checkpoint.signal_shape).clamp(0, 1)
    reference = torch.from_numpy(np.asarray(Image.open(out / "reconstruction.png"), dtype=np.float32) / 255)
    assert (rendered - reference).abs().max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"bases": ("4,4",)}, r"--bases do not fit the signal of shape \(16, 24\)"),
        ({"bases": ("4,4,1", "4,6,1"), "num_layers": 4}, r"--bases 4,4,1 4,6,1 --num-layers 4: num_layers 4 disagrees"),
        ({"bases": ("4,x",)}, "comma-separated integers"),
        ({"model": "siren", "bases": ("4,4",)}, "--bases does not apply to siren"),
        ({"model": "ffn", "omega0": 10.0}, "--omega0 does not apply to ffn"),
        ({"model": "loe", "bases": ("4,4", "4,6"), "num_layers": 4}, "num_layers 4 disagrees with the LoE bases"),
        ({"data": Path("nowhere.png")}, "does not exist"),
    ],
)
def test_bad_options_fail_before_writing(tmp_path, overrides, message):
    image = write_test_image(tmp_path / "image.png")
    config = FitImageConfig(**{"data": image, "steps": 2, "out": tmp_path / "out", "progress": False, **overrides})
    with pytest.raises(ValueError, match=message):
        run(config)
    assert not (tmp_path / "out").exists()


def test_existing_output_is_never_overwritten_without_consent(tmp_path):
    image = write_test_image(tmp_path / "image.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("mine")
    config = FitImageConfig(data=image, steps=2, hidden_dim=8, out=out, progress=False)
    with pytest.raises(ValueError, match="--overwrite"):
        run(config)
    assert (out / "results.json").read_text() == "mine"


@pytest.mark.slow
def test_script_with_preset_and_override(tmp_path, script):
    image = write_test_image(tmp_path / "image.png", (32, 32))
    command = [
        *script("fit_image.py"),
        "--preset",
        "cameraman-siren3",
        "--data",
        str(image),
        "--steps",
        "3",
        "--hidden-dim",
        "16",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["model"] == "siren" and results["init_kwargs"]["num_layers"] == 3 and results["steps"] == 3
    assert results["output_init"] == "paper"  # presets train as the paper does
    failed = subprocess.run(command[:2] + ["--data", str(tmp_path / "missing.png")], capture_output=True, text=True)
    assert failed.returncode != 0 and "missing.png does not exist" in failed.stderr


def test_folder_run_writes_a_table3_style_summary(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    write_test_image(folder / "landscape.png", (16, 24))
    write_test_image(folder / "portrait.png", (24, 16))
    (folder / "notes.txt").write_text("not an image")
    config = FitImageConfig(data=folder, model="kilonerf", steps=3, downscale=2, out=tmp_path / "out", progress=False)
    summary = run(config)
    out = tmp_path / "out"
    assert summary["signals"] == 2 and "NOT the paper's" in summary["protocol"] and "downscale 2" in summary["protocol"]
    assert [run_["shape"] for run_ in summary["runs"]] == [[8, 12], [12, 8]]
    assert summary["psnr_mean"] == pytest.approx(np.mean([r["final_psnr"] for r in summary["runs"]]))
    assert summary["params"] == [json.loads((out / "landscape" / "results.json").read_text())["params"]]
    assert json.loads((out / "summary.json").read_text())["psnr_std"] == pytest.approx(summary["psnr_std"])
    markdown = (out / "summary.md").read_text()
    assert "| kilonerf |" in markdown and "portrait.png" in markdown and "±" in markdown
    assert (out / "portrait" / "reconstruction.png").exists()


def test_portrait_images_get_the_bases_swapped():
    assert bases_for_image(("4,4,4,8", "4,4,6,8"), (768, 512)) == ("4,4,6,8", "4,4,4,8")
    assert bases_for_image(("4,4,4,8", "4,4,6,8"), (512, 768)) == ("4,4,4,8", "4,4,6,8")
    assert bases_for_image(("4,4,4,8",), (768, 512)) == ("4,4,4,8",)


def test_empty_folder_or_bad_image_in_folder_fails_before_writing(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    with pytest.raises(ValueError, match="holds no image files"):
        run(FitImageConfig(data=folder, out=tmp_path / "out", progress=False))
    write_test_image(folder / "good.png")
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        run(FitImageConfig(data=folder, steps=2, out=tmp_path / "out", progress=False))
    assert not (tmp_path / "out").exists()


def test_downscale_is_a_box_filter():
    image = torch.arange(4 * 6 * 1, dtype=torch.float32).reshape(4, 6, 1)
    assert downscale_image(image, 2)[0, 0, 0] == pytest.approx((0 + 1 + 6 + 7) / 4)
    assert downscale_image(torch.zeros(5, 7, 3), 2).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="--downscale"):
        downscale_image(image, 0)


def test_task_defaults_reach_asmr_and_options_override_them():
    from asmr_plugin.fields.registry import build_field

    defaults = {"hidden_dim": 16, "num_layers": 3}
    field = build_field("asmr", (16, 24), 1, defaults=defaults)
    assert field.hidden_dim == 16 and len(field.bases[0]) == 3
    assert len(build_field("asmr", (16, 24), 1, num_layers=2, defaults=defaults).bases[0]) == 2
    assert build_field("siren", (16, 24), 1, hidden_dim=8, defaults=defaults).hidden_dim == 8
    assert (
        len(build_field("asmr", (16, 24), 1, bases=("4,4", "4,6"), defaults=defaults).bases[0]) == 2
    )  # bases set the levels


def test_checkpoints_of_the_earlier_asmr_constructor_still_load(tmp_path):
    field = ASMRField(bases=[[3, 4], [5, 2]], hidden_dim=16, out_dim=2)
    save_checkpoint(tmp_path / "model.pt", field, (12, 10), step=7)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["init_kwargs"] = {"bases": [[3, 4], [5, 2]], "hidden_dim": 16, "out_dim": 2, "omega0": 30.0}  # before shape
    torch.save(payload, tmp_path / "old.pt")
    with torch.no_grad():
        assert torch.equal(load_checkpoint(tmp_path / "old.pt").field.render(), field.render())


def test_asmr_takes_the_constructor_of_the_other_fields():
    field = ASMRField((181, 243), 3, hidden_dim=16, num_layers=3)
    assert field.out_dim == 3 and len(field.bases[0]) == 3
    assert tuple(size >= wanted for size, wanted in zip(field.grid_shape, (181, 243))) == (True, True)
    assert ASMRField((16, 24), bases=[[4, 4], [4, 6]]).init_kwargs["shape"] == [16, 24]
    with pytest.raises(ValueError, match="num_layers 3 disagrees with the bases"):
        ASMRField((16, 24), bases=[[4, 4], [4, 6]], num_layers=3)
    with pytest.raises(ValueError, match="shape or its bases"):
        ASMRField()


def test_the_output_layer_learns_at_its_own_rate():

    field = ASMRField((16, 16), bases=[[4, 4], [4, 4]], hidden_dim=8)
    (everything,) = field.parameter_groups(1e-4)
    assert everything["lr"] == 1e-4 and len(everything["params"]) == len(list(field.parameters()))
    assert len(field.parameter_groups(1e-4, {"output": 1.0})) == 1  # a multiplier of 1 is no group of its own
    rest, output, modulation = field.parameter_groups(1e-4, {"output": 10.0, "modulation": 0.1})
    assert output["lr"] == pytest.approx(1e-3) and output["params"] == list(field.output.parameters())
    assert modulation["lr"] == pytest.approx(1e-5) and modulation["params"] == [field.modulation.weight]
    assert len(rest["params"]) + 3 == len(list(field.parameters()))
    with pytest.raises(ValueError, match="SIRENField has no output parameters to train at another rate"):
        SIRENField((16, 16), hidden_dim=8).parameter_groups(1e-4, {"output": 10.0})


def test_a_fit_with_a_faster_output_layer_moves_only_that_layer_faster():
    """Adam's first step moves each weight by its group's rate: the output layer 10x, the modulators 0.1x."""

    torch.manual_seed(0)
    field = ASMRField((16, 16), bases=[[4, 4], [4, 4]], hidden_dim=8)
    before = {name: parameter.detach().clone() for name, parameter in field.named_parameters()}
    fit(
        field,
        torch.rand(16, 16, 1),
        FitConfig(steps=1, lr=1e-4, lr_scales={"output": 10.0, "modulation": 0.1}, init="paper", progress=False),
    )
    moved = {
        name: (parameter.detach() - before[name]).abs().max().item() for name, parameter in field.named_parameters()
    }
    assert moved["output.weight"] == pytest.approx(1e-3, rel=1e-2)
    assert moved["sine_layers.0.linear.weight"] == pytest.approx(1e-4, rel=1e-2)
    assert moved["modulation.weight"] == pytest.approx(1e-5, rel=1e-2)


def test_the_protocol_line_names_the_papers_training_only_with_one_rate():
    from asmr_plugin.fitting.image import PRESETS, image_protocol

    assert FitImageConfig().lr_scales() == {} and PRESETS["cameraman-asmr4"].lr_scales() == {}
    assert FitImageConfig(fast_start=True).lr_scales() == {"output": 10.0, "modulation": 0.1}
    assert FitImageConfig(fast_start=True, modulation_lr_scale=1.0).lr_scales() == {"output": 10.0}
    assert image_protocol(PRESETS["cameraman-asmr4"], 1e-4, {}).endswith("the paper's protocol")
    assert "NOT the paper's protocol" in image_protocol(replace(PRESETS["cameraman-asmr4"], init="mean"), 1e-4, {})
    fast = image_protocol(FitImageConfig(fast_start=True), 1e-4, {"output": 10.0})
    assert "(output x10)" in fast and "NOT the paper's protocol" in fast


@pytest.mark.parametrize("model", sorted(FIELDS))
def test_checking_only_checks_like_a_build_without_weights_or_random_numbers(model):
    from asmr_plugin.fields.registry import build_field, checking_only

    torch.manual_seed(0)
    state = torch.get_rng_state()
    with checking_only():
        shell = build_field(model, (16, 24), 3)
    assert all(parameter.is_meta for parameter in shell.parameters())
    assert torch.equal(torch.get_rng_state(), state)  # FFN's random projection included
    real = build_field(model, (16, 24), 3)
    assert {name: tensor.shape for name, tensor in shell.state_dict().items()} == {
        name: tensor.shape for name, tensor in real.state_dict().items()
    }
    with pytest.raises(ValueError, match="--num-layers must be positive"), checking_only():
        build_field(model, (16, 24), 3, num_layers=0)


def test_checking_only_runs_the_networks_own_checks():
    from asmr_plugin.fields.registry import build_field, checking_only

    with pytest.raises(ValueError, match="SIREN needs at least 2 layers"), checking_only():
        build_field("siren", (16, 24), 3, num_layers=1)
    with pytest.raises(ValueError, match="bases do not fit"), checking_only():
        build_field("asmr", (16, 24), 3, bases=("2,2",))
