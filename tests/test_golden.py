"""Golden results: short runs of every ``asmr-fit`` signal (and of --preset, --resume, folder runs and the
nerfstudio method) pinned to the last bit of their metrics, the files they write and the keys of their JSON
records, so that a restructuring of the run flow can be shown to change nothing.

``ASMR_PIN_GOLDEN=1 pytest tests/test_golden.py`` rewrites ``tests/golden.json`` from the current code (do it
only for a change that is meant to change results, and say so in the commit)."""

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import torch
from helpers import random_image, smooth_rgb_image, stop_after, write_sphere

from asmr_plugin.commands import fit

GOLDEN = Path(__file__).with_name("golden.json")
PINNING = os.environ.get("ASMR_PIN_GOLDEN") == "1"
METRICS = {
    "final_psnr",
    "best_psnr",
    "best_step",
    "ssim",
    "psnr_mean",
    "psnr_std",
    "ssim_mean",
    "iou",
    "iou_mean",
    "sdf_mae",
    "test_psnr_mean",
    "final_train_psnr",
    "params",
    "macs_with_bias",
    "lr",
}
"""Record entries pinned to the bit (timings and paths vary between runs and are not)."""
QUICK = ["--no-progress", "--hidden-dim", "8"]


def pinned(value: Any) -> Any:
    """``value`` with every float written exactly (its hex form)."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, list):
        return [pinned(item) for item in value]
    return value


def record_of(path: Path) -> Dict[str, Any]:
    """A JSON record's keys and its pinned metrics (those of its nested per-model records too)."""
    data = json.loads(path.read_text())

    def walk(node: Dict[str, Any]) -> Dict[str, Any]:
        entry: Dict[str, Any] = {"keys": sorted(node)}
        entry.update({key: pinned(node[key]) for key in sorted(METRICS & node.keys())})
        if "losses" in node:
            entry["last_loss"] = pinned(node["losses"][-1][1])
        nested = {key: walk(value) for key, value in node.items() if isinstance(value, dict) and "params" in value}
        return {**entry, **({"nested": nested} if nested else {})}

    return walk(data)


def outcome(out: Path) -> Dict[str, Any]:
    """What a run left in ``out``: every file, and every JSON record's keys and metrics."""
    files = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    records = {name: record_of(out / name) for name in files if name.endswith(("results.json", "summary.json"))}
    return {"files": files, "records": records}


def fit_in(out: Path, *args: str) -> Dict[str, Any]:
    fit([*args, "--out", str(out)])
    return outcome(out)


def image_file(tmp: Path) -> Dict[str, Any]:
    image = smooth_rgb_image(tmp / "smooth.png", (24, 32))
    return fit_in(tmp / "out", "image", "--data", str(image), "--steps", "15", *QUICK)


def image_resumed(tmp: Path, monkeypatch) -> Dict[str, Any]:
    image = smooth_rgb_image(tmp / "smooth.png", (24, 32))
    args = ["image", "--data", str(image), "--steps", "15", "--checkpoint-every", "4", *QUICK]
    with monkeypatch.context() as patch:
        stop_after(patch, 6)
        with pytest.raises(SystemExit):  # Ctrl-C: the command saves, says how to resume and exits
            fit([*args, "--out", str(tmp / "out")])
    return fit_in(tmp / "out", *args, "--resume")


def image_folder(tmp: Path) -> Dict[str, Any]:
    (tmp / "images").mkdir()
    smooth_rgb_image(tmp / "images" / "a.png", (16, 20))
    random_image(tmp / "images" / "b.png", 12, 16, channels=1)
    first = fit_in(tmp / "out", "image", "--data", str(tmp / "images"), "--steps", "8", *QUICK)
    again = fit_in(tmp / "out", "image", "--data", str(tmp / "images"), "--steps", "8", *QUICK, "--resume")
    assert again == first  # a finished folder run given --resume returns what it wrote
    return first


def image_preset(tmp: Path) -> Dict[str, Any]:
    args = ["image", "--preset", "cameraman-siren3", "--downscale", "16", "--steps", "6", *QUICK]
    return fit_in(tmp / "out", *args)


def image_grid(tmp: Path) -> Dict[str, Any]:
    image = smooth_rgb_image(tmp / "smooth.png", (24, 32))
    return fit_in(tmp / "out", "image", "--data", str(image), "--model", "grid", "--steps", "10", "--no-progress")


def audio(tmp: Path) -> Dict[str, Any]:
    return fit_in(tmp / "out", "audio", "--seconds", "0.05", "--steps", "10", *QUICK)


def video(tmp: Path) -> Dict[str, Any]:
    args = ["video", "--frames", "3", "--resize", "16", "16", "--epochs", "2", "--batch", "256", "--gif", *QUICK]
    return fit_in(tmp / "out", *args)


def megapixel(tmp: Path) -> Dict[str, Any]:
    image = smooth_rgb_image(tmp / "smooth.png", (32, 40))
    args = ["megapixel", "--data", str(image), "--epochs", "2", "--batch", "256", "--num-layers", "3", *QUICK]
    return fit_in(tmp / "out", *args)


def occupancy(tmp: Path) -> Dict[str, Any]:
    sphere = write_sphere(tmp / "sphere.ply")
    args = ["occupancy", "--data", str(sphere), "--resolution", "8", "--epochs", "2", "--points-per-epoch", "2000"]
    return fit_in(tmp / "out", *args, "--batch", "500", *QUICK)


def meta(tmp: Path) -> Dict[str, Any]:
    args = ["meta", "--size", "8", "--num-layers", "3", "--steps", "2", "--batch", "8", "--latent-dim", "4"]
    return fit_in(tmp / "out", *args, "--eval-every", "1", "--eval-images", "4", "--mapping-hidden", "8", *QUICK)


def nerfstudio_method(tmp: Path) -> Dict[str, Any]:
    from nerfstudio.scripts.eval import ComputePSNR
    from ns_runs import method_config, tiny_image, train

    image = tiny_image(tmp / "tiny.png")
    base = train(method_config("asmr-image", tmp, image, steps=4))
    ComputePSNR(load_config=base / "config.yml", output_path=tmp / "eval.json").main()
    results = json.loads((tmp / "eval.json").read_text())["results"]
    files = sorted(str(path.relative_to(base)) for path in base.rglob("*") if path.is_file())
    return {"files": [name for name in files if not name.startswith("events.")], "psnr": pinned(results["psnr"])}


def options(tmp: Path) -> Dict[str, Any]:
    """Every option of every ``asmr-fit`` signal, as its --help names it."""
    import contextlib
    import io
    import re

    from asmr_plugin.commands import FITS

    names, choices = {}, {}
    for signal in FITS:
        text = io.StringIO()
        with contextlib.redirect_stdout(text), pytest.raises(SystemExit):
            fit([signal, "--help"])
        names[signal] = sorted(set(re.findall(r"--[a-z0-9][a-z0-9-]*", text.getvalue())))
        choices[signal] = re.findall(r"--models? \{([^}]*)\}", text.getvalue())
    return {"files": sorted(names), "options": names, "model_choices": choices}


CASES: Dict[str, Callable[..., Dict[str, Any]]] = {
    "image": image_file,
    "image-resumed": image_resumed,
    "image-folder": image_folder,
    "image-preset": image_preset,
    "image-grid": image_grid,
    "audio": audio,
    "video": video,
    "megapixel": megapixel,
    "occupancy": occupancy,
    "meta": meta,
    "nerfstudio": nerfstudio_method,
    "options": options,
}
SLOW = {"nerfstudio", "occupancy"}


@pytest.fixture(scope="module")
def golden() -> Dict[str, Any]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


@pytest.fixture
def one_thread():
    """One thread: a float sum's order, hence its last bit, does not depend on the machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_case(name: str, tmp_path: Path, monkeypatch) -> Dict[str, Any]:
    case = CASES[name]
    return case(tmp_path, monkeypatch) if name == "image-resumed" else case(tmp_path)


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in CASES]
)
def test_golden_results(name: str, golden, tmp_path, monkeypatch, one_thread):
    got = run_case(name, tmp_path, monkeypatch)
    if PINNING:
        stored = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        GOLDEN.write_text(json.dumps({**stored, name: got}, indent=1, sort_keys=True) + "\n")
        return
    assert name in golden, f"no golden result for {name}: pin it (ASMR_PIN_GOLDEN=1)"
    assert got == golden[name]


def test_an_interrupted_and_resumed_fit_ends_as_the_uninterrupted_one(golden):
    resumed, straight = golden["image-resumed"]["records"], golden["image"]["records"]
    metrics = ("final_psnr", "best_psnr", "best_step")
    assert {key: resumed["results.json"][key] for key in metrics} == {
        key: straight["results.json"][key] for key in metrics
    }


def test_golden_file_covers_every_case(golden):
    assert sorted(golden) == sorted(CASES)
    assert all(case["files"] for case in golden.values())
