"""Run folders: unique default names, one run per folder, distinct output names in folder runs."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asmr_plugin.fitting.image import FitImageConfig, run
from asmr_plugin.fitting.options import RunOptions
from asmr_plugin.io.files import CLAIMED, claim_folder, output_names, run_folder


def grey(path: Path, size: int = 8, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)).save(path)
    return path


def test_default_run_folders_are_unique_within_and_across_processes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = RunOptions().output_dir("fit_image", "photo-asmr")
    assert first.parent == Path("outputs/fit_image") and first.name.endswith(f"-p{os.getpid()}")
    first.mkdir(parents=True)
    second = RunOptions().output_dir("fit_image", "photo-asmr")
    assert second != first and second.name == f"{first.name}-2"
    assert RunOptions(out=first).output_dir("fit_image", "x") == first


def test_a_folder_in_use_by_another_run_is_refused_and_nothing_is_written(tmp_path):
    image, out = grey(tmp_path / "photo.png"), tmp_path / "run"
    out.mkdir()
    holder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # another open description: as another process holds it
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(ValueError, match=f"--out {out} is in use by another run"):
            run(FitImageConfig(data=image, out=out, steps=2, hidden_dim=4, progress=False, overwrite=True))
        assert list(out.iterdir()) == []
    finally:
        os.close(holder)
    run(FitImageConfig(data=image, out=out, steps=2, hidden_dim=4, progress=False, overwrite=True))
    assert (out / "results.json").is_file() and Path(out).resolve() not in CLAIMED  # released at the run's end


def test_two_processes_on_one_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    script = "import sys, time; from asmr_plugin.io.files import claim_folder; claim_folder(sys.argv[1]); print('held', flush=True); time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="in use by another run"):
            with run_folder(out):
                claim_folder(out)
    finally:
        holder.kill()
        holder.wait()
    with run_folder(out):
        claim_folder(out)  # the lock died with its process


def test_output_names_are_unique_by_construction():
    files = [Path(name) for name in ("a-png.jpg", "a.jpg", "a.png", "summary.json.png", "summary.md")]
    names = output_names(files)
    assert len(set(names.values())) == len(files)
    assert not {"summary.json", "summary.md"} & set(names.values())
    assert names[Path("a.jpg")] == "a-jpg" and names[Path("a-png.jpg")] == "a-png"


@pytest.mark.slow
def test_a_folder_run_with_colliding_names_keeps_every_result(tmp_path):
    folder = tmp_path / "photos"
    for index, name in enumerate(("a.png", "a.jpg", "a-png.jpg", "summary.json.png")):
        grey(folder / name, seed=index)
    summary = run(FitImageConfig(data=folder, out=tmp_path / "out", steps=2, hidden_dim=4, progress=False))
    folders = sorted(path.name for path in (tmp_path / "out").iterdir() if path.is_dir())
    assert len(folders) == 4 and len(summary["runs"]) == 4
    assert all((tmp_path / "out" / name / "results.json").is_file() for name in folders)
