"""Meta-learning: image sets, the COIN++ inner and outer loops, and resumable runs of scripts/meta_learn.py."""

import json
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.fitting.meta import MetaLearnConfig, batch_indices, build_meta_model, run
from asmr_plugin.fitting.meta_learning import fit_latents, instance_mse, meta_loss
from asmr_plugin.io.image_sets import load_image_set, resize_square

TINY = dict(size=8, hidden_dim=8, num_layers=3, latent_dim=4, batch=4, progress=False)


def tiny_config(**options) -> MetaLearnConfig:
    return MetaLearnConfig(**{**TINY, **options})


def write_images(folder: Path, count: int, mode: str = "L", size=(12, 10)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(0)
    channels = {"L": (), "RGB": (3,), "RGBA": (4,)}[mode]
    for index in range(count):
        pixels = generator.integers(0, 256, (size[1], size[0], *channels), dtype=np.uint8)
        Image.fromarray(pixels, mode).save(folder / f"image{index:02d}.png")
    return folder


def write_cifar(folder: Path, train_count: int = 6, test_count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(0)
    for name, count in (("data_batch_1", train_count), ("test_batch", test_count)):
        data = generator.integers(0, 256, (count, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": data, b"labels": [0] * count}, handle)
    return folder


def test_lfw_default_is_split_into_train_and_held_out_faces():
    images = load_image_set(None, 32, 0.2, seed=0)
    assert images.train.shape == (160, 32, 32, 1) and images.test.shape == (40, 32, 32, 1)
    assert 0 <= images.train.min() and images.train.max() <= 1
    again = load_image_set(None, 32, 0.2, seed=0)
    assert torch.equal(images.test, again.test)  # the split is seeded
    assert not torch.equal(images.test, load_image_set(None, 32, 0.2, seed=1).test)


def test_cifar_batches_give_rgb_train_and_test_sets(tmp_path):
    images = load_image_set(write_cifar(tmp_path / "cifar-10-batches-py"), 32, 0.2, seed=0)
    assert images.train.shape == (6, 32, 32, 3) and images.test.shape == (3, 32, 32, 3)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as handle:
        first = pickle.load(handle)[b"data"][0]
    assert torch.allclose(images.test[0, 0, 0], torch.tensor(first[[0, 1024, 2048]] / 255.0, dtype=torch.float32))


def test_cifar_is_found_inside_the_folder_it_was_unpacked_into(tmp_path):
    write_cifar(tmp_path / "downloads" / "cifar-10-batches-py")
    assert load_image_set(tmp_path / "downloads", 32, 0.2, seed=0).test.shape == (3, 32, 32, 3)


def test_damaged_cifar_batch_is_named(tmp_path):
    folder = write_cifar(tmp_path / "cifar")
    (folder / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_1 is not a CIFAR-10 python batch"):
        load_image_set(folder, 32, 0.2, seed=0)


def test_image_folder_mixing_grey_and_rgb_gives_rgb_squares(tmp_path):
    folder = write_images(tmp_path / "images", 3, "L")
    write_images(tmp_path / "rgb", 2, "RGB")
    for path in (tmp_path / "rgb").iterdir():
        path.rename(folder / f"rgb-{path.name}")
    images = load_image_set(folder, 8, 0.4, seed=0)
    assert images.train.shape == (3, 8, 8, 3) and images.test.shape == (2, 8, 8, 3)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: path.mkdir(), "holds no image files"),
        (lambda path: write_images(path, 2, "RGBA"), "has an alpha channel"),
        (
            lambda path: write_images(path, 1),
            "holds 1 image; meta-learning splits them into train and test, 2 at least",
        ),
        (lambda path: path.write_text("x"), "is not a folder"),
    ],
)
def test_bad_image_sets_are_refused(tmp_path, make, message):
    make(tmp_path / "data")
    with pytest.raises(ValueError, match=message):
        load_image_set(tmp_path / "data", 8, 0.2, seed=0)


def test_resize_square_centre_crops_before_resizing():
    image = torch.zeros(1, 4, 8, 1)
    image[:, :, 2:6] = 1.0  # the centre square is white, the sides black
    assert torch.equal(resize_square(image, 4), torch.ones(1, 4, 4, 1))


def test_batches_cover_every_training_image_once_per_epoch():
    drawn = torch.cat([batch_indices(step, 4, 10, seed=0) for step in range(5)])  # two epochs of 10
    assert sorted(drawn[:10].tolist()) == list(range(10)) and sorted(drawn[10:].tolist()) == list(range(10))
    assert not torch.equal(drawn[:10], drawn[10:])


@pytest.mark.parametrize("model", ["asmr", "ngp"])
def test_inner_loop_lowers_every_instances_loss(model):
    torch.manual_seed(0)
    meta = build_meta_model(model, 1, tiny_config())
    signals = load_image_set(None, 8, 0.2, seed=0).train[:6]
    start = instance_mse(meta(torch.zeros(6, meta.latent_dim)), signals)
    fitted = instance_mse(meta(fit_latents(meta, signals, steps=3, lr=1e-2)), signals)
    assert (fitted < start).all()


def test_second_order_meta_gradient_matches_finite_differences():
    torch.manual_seed(0)
    meta = build_meta_model("asmr", 1, tiny_config()).double()
    signals = load_image_set(None, 8, 0.2, seed=0).train[:3].double()
    weight = meta.field.sine_layers[1].linear.weight
    loss, _ = meta_loss(meta, signals, inner_steps=3, inner_lr=1e-2, second_order=True)
    (gradient,) = torch.autograd.grad(loss, weight)
    direction = torch.randn_like(weight)
    with torch.no_grad():
        weight += 1e-6 * direction
    plus, _ = meta_loss(meta, signals, 3, 1e-2, second_order=False)
    with torch.no_grad():
        weight -= 2e-6 * direction
    minus, _ = meta_loss(meta, signals, 3, 1e-2, second_order=False)
    numeric = (plus - minus).item() / 2e-6
    assert (gradient * direction).sum().item() == pytest.approx(numeric, rel=1e-5)


@pytest.mark.slow
def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    data = write_images(tmp_path / "faces", 8)
    options = dict(data=data, models=("asmr", "ngp"), eval_every=2, checkpoint_every=1)
    straight = run(tiny_config(steps=4, out=tmp_path / "straight", **options))
    run(tiny_config(steps=2, out=tmp_path / "resumed", **options))
    resumed = run(tiny_config(steps=4, out=tmp_path / "resumed", resume=True, **options))
    for model in ("asmr", "ngp"):
        a = torch.load(tmp_path / "straight" / model / "checkpoint.pt", weights_only=True)
        b = torch.load(tmp_path / "resumed" / model / "checkpoint.pt", weights_only=True)
        assert a["step"] == b["step"] == 4
        for name, value in a["state_dict"].items():
            assert torch.equal(value, b["state_dict"][name]), (model, name)
        assert a["metadata"]["training"]["history"]["train_psnr"] == b["metadata"]["training"]["history"]["train_psnr"]
        assert torch.equal(
            a["metadata"]["modules"]["latent_map"]["mlp.layers.0.weight"],
            b["metadata"]["modules"]["latent_map"]["mlp.layers.0.weight"],
        )
        assert straight["models"][model]["test_psnr_mean"] == resumed["models"][model]["test_psnr_mean"]
    for name in ("results.json", "learning_curve.png", "reconstructions.png", "asmr/results.json"):
        assert (tmp_path / "resumed" / name).is_file()


def test_resume_refuses_other_options_and_goes_on_to_a_larger_steps(tmp_path):
    """One flow with every signal (the runner's): other options are refused, --steps may grow (a constant rate: the
    fit goes on), a model not fitted yet is fitted, and --out is never written into without --resume/--overwrite."""
    data = write_images(tmp_path / "faces", 6)
    run(tiny_config(steps=1, data=data, models=("asmr",), out=tmp_path / "run"))
    with pytest.raises(ValueError, match="other options.*--hidden-dim"):
        run(tiny_config(steps=2, data=data, models=("asmr",), out=tmp_path / "run", resume=True, hidden_dim=16))
    with pytest.raises(ValueError, match="other options.*--steps 1 -> 0|--steps must be at least 1"):
        run(tiny_config(steps=0, data=data, models=("asmr",), out=tmp_path / "run", resume=True))
    longer = run(tiny_config(steps=3, data=data, models=("asmr",), out=tmp_path / "run", resume=True))
    assert longer["models"]["asmr"]["steps"] == 3
    assert torch.load(tmp_path / "run" / "asmr" / "checkpoint.pt", weights_only=True)["step"] == 3
    with pytest.raises(ValueError, match="already holds files"):
        run(tiny_config(steps=2, data=data, models=("asmr",), out=tmp_path / "run"))
    with pytest.raises(ValueError, match="holds no"):
        run(tiny_config(steps=2, data=data, models=("ngp",), out=tmp_path / "empty", resume=True))


@pytest.mark.slow
def test_meta_learn_script_runs_as_documented(tmp_path, script):
    out = tmp_path / "meta"
    command = [*script("meta_learn.py"), "--size", "8", "--hidden-dim", "8"]
    command += ["--num-layers", "3", "--steps", "2", "--batch", "8", "--out", str(out), "--no-progress"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    results = json.loads((out / "results.json").read_text())
    assert set(results["models"]) == {"asmr", "ngp"}
    assert results["models"]["asmr"]["test_images"] == 40
    failed = subprocess.run(command[:2] + ["--data", str(tmp_path / "missing")], capture_output=True, text=True)
    assert failed.returncode == 1 and "missing does not exist" in failed.stderr


@pytest.mark.parametrize("option", ["mapping_layers", "eval_images", "grid_images", "inner_steps"])
def test_options_below_one_are_refused_by_name(option):
    with pytest.raises(ValueError, match=f"--{option.replace('_', '-')} must be at least 1"):
        tiny_config(**{option: 0}).check_options()


def test_image_sets_too_large_for_memory_or_too_small_to_split_are_one_line(tmp_path):
    from helpers import cli_error, random_image

    from asmr_plugin.fitting import meta

    random_image(tmp_path / "one" / "a.png", 8, 8)
    for args, message in [
        (["--data", str(tmp_path / "one")], f"--data {tmp_path / 'one'} holds 1 image; meta-learning splits them"),
        (["--size", "100000"], "--size 100000: a set of 200 images of 100000x100000 needs at least"),
    ]:
        assert message in cli_error(meta.MetaLearnConfig, meta.run, [*args, "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_resume_of_a_finished_run_redraws_its_figures_from_the_checkpoints(tmp_path):
    data = write_images(tmp_path / "faces", 6)
    options = dict(steps=2, data=data, models=("asmr",), out=tmp_path / "run")
    first = run(tiny_config(**options))
    (tmp_path / "run" / "reconstructions.png").unlink()
    again = run(tiny_config(resume=True, **options))
    assert (tmp_path / "run" / "reconstructions.png").stat().st_size > 1000
    assert again["models"]["asmr"]["test_psnr_mean"] == first["models"]["asmr"]["test_psnr_mean"]
