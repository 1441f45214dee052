"""--resume compares the data by content (the same file by another path resumes, changed content does not), and
one-level networks fit end to end or are refused up front."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asmr_plugin.fitting.image import FitImageConfig, run
from asmr_plugin.fitting.meta import MetaLearnConfig
from asmr_plugin.training import interrupts


def grey(path, seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (8, 8), dtype=np.uint8)).save(path)
    return path


def interrupted_run(tmp_path, monkeypatch, data, out):
    from contextlib import contextmanager

    @contextmanager
    def stop_at_once():
        yield lambda: True

    monkeypatch.setattr(interrupts, "stop_requests", stop_at_once)
    with pytest.raises(interrupts.Interrupted):
        run(FitImageConfig(data=data, out=out, steps=20, hidden_dim=4, progress=False))
    monkeypatch.undo()


def test_resume_accepts_the_same_file_by_another_path(tmp_path, monkeypatch):
    data, out = grey(tmp_path / "photo.png"), tmp_path / "run"
    interrupted_run(tmp_path, monkeypatch, data, out)
    monkeypatch.chdir(tmp_path)
    results = run(FitImageConfig(data=Path("photo.png"), out=out, steps=20, hidden_dim=4, progress=False, resume=True))
    assert results["steps"] == 20
    moved = tmp_path / "elsewhere.png"
    shutil.copy(data, moved)
    other = tmp_path / "run2"
    interrupted_run(tmp_path, monkeypatch, data, other)
    assert run(FitImageConfig(data=moved, out=other, steps=20, hidden_dim=4, progress=False, resume=True))


def test_resume_refuses_changed_content_at_the_same_path(tmp_path, monkeypatch):
    data, out = grey(tmp_path / "photo.png"), tmp_path / "run"
    interrupted_run(tmp_path, monkeypatch, data, out)
    grey(data, seed=1)
    with pytest.raises(ValueError, match="the data differ from what .* was made from"):
        run(FitImageConfig(data=data, out=out, steps=20, hidden_dim=4, progress=False, resume=True))


def test_resuming_a_finished_run_checks_its_options_data_and_command(tmp_path):
    from asmr_plugin.fitting import audio

    data, out = grey(tmp_path / "photo.png"), tmp_path / "run"
    options = dict(out=out, steps=3, hidden_dim=4, progress=False)
    finished = run(FitImageConfig(data=data, **options))
    assert run(FitImageConfig(data=data, resume=True, **options))["final_psnr"] == finished["final_psnr"]
    moved = Path(shutil.copy(data, tmp_path / "elsewhere.png"))
    assert run(FitImageConfig(data=moved, resume=True, **options))["final_psnr"] == finished["final_psnr"]
    with pytest.raises(ValueError, match=r"results.json was written with other options \(--steps 3 -> 5\)"):
        run(FitImageConfig(data=data, resume=True, **{**options, "steps": 5}))
    grey(data, seed=1)
    with pytest.raises(ValueError, match="the data differ from what .*results.json was made from"):
        run(FitImageConfig(data=data, resume=True, **options))
    clip = tmp_path / "clip"
    audio.run(audio.FitAudioConfig(out=clip, seconds=0.01, steps=2, hidden_dim=4, progress=False))
    with pytest.raises(ValueError, match="results.json was written with other options"):  # another command's run
        run(FitImageConfig(data=moved, resume=True, **{**options, "out": clip}))


@pytest.mark.parametrize("options", [{"bases": ("8",)}, {"num_layers": 1}], ids=["--bases 8", "--num-layers 1"])
def test_a_one_level_asmr_fits_end_to_end(tmp_path, options):
    results = run(FitImageConfig(data=grey(tmp_path / "p.png"), out=tmp_path / "o", steps=5, progress=False, **options))
    assert results["final_psnr"] > 0 and (tmp_path / "o" / "reconstruction.png").is_file()


def test_meta_learning_refuses_one_layer_up_front():
    with pytest.raises(ValueError, match="--num-layers must be at least 2"):
        MetaLearnConfig(num_layers=1).check_options()


def test_runs_recorded_with_a_former_default_resume_where_it_is_none_now(tmp_path):
    """Audio's --lr and occupancy's --lr and --hidden-dim defaults became None (resolved per network); a run that
    recorded the former default is the same fit, and any other value is still another fit."""
    from asmr_plugin.fitting.audio import FitAudioConfig
    from asmr_plugin.fitting.occupancy import FitOccupancyConfig
    from asmr_plugin.fitting.resume import check_same_fit, fit_options

    occupancy = FitOccupancyConfig()
    saved = {**fit_options(occupancy), "lr": 1e-4, "hidden_dim": 256}
    check_same_fit(saved, None, occupancy, None, tmp_path)
    check_same_fit({**fit_options(FitAudioConfig()), "lr": 1e-4}, None, FitAudioConfig(), None, tmp_path)
    with pytest.raises(ValueError, match="--hidden-dim 128 -> None"):
        check_same_fit({**saved, "hidden_dim": 128}, None, occupancy, None, tmp_path)
    image = FitImageConfig()  # no default of the image command changed: a recorded --lr is another fit
    with pytest.raises(ValueError, match="--lr 0.0001 -> None"):
        check_same_fit({**fit_options(image), "lr": 1e-4}, None, image, None, tmp_path)
