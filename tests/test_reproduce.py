"""asmr-reproduce at the smoke protocol: every item writes its files, the index is complete, skips say why."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from asmr_plugin.reproduce import run as reproduce
from asmr_plugin.reproduce.run import ITEMS, ReproduceConfig
from asmr_plugin.training.distributed import resolve_device

pytestmark = pytest.mark.slow


@pytest.fixture
def kodak(tmp_path):
    """Tiny stand-ins for the 24 Kodak images (kodim15 a portrait one, as in the set)."""
    folder = tmp_path / "kodak"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(1, 25):
        shape = (48, 32, 3) if index == 15 else (32, 48, 3)
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(folder / f"kodim{index:02d}.png")
    return folder


def config(tmp_path, **options) -> ReproduceConfig:
    options.setdefault("readme", tmp_path / "README.md")  # never the checkout's front page
    return ReproduceConfig(
        protocol="smoke", out=tmp_path / "results", work=tmp_path / "work", progress=False, **options
    )


GRID_ITEMS = {"table2", "table3", "table4", "table5", "table6", "table10", "fig3", "wallclock"}


def run(config_: ReproduceConfig):
    return reproduce.main(config_, Console(quiet=True))


def test_every_item_writes_its_files_and_the_index_lists_them(tmp_path, kodak, monkeypatch):
    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234")
    status = run(config(tmp_path, kodak=kodak))
    assert status == {name: "written" for name in ITEMS}
    results = tmp_path / "results"
    index = (results / "README.md").read_text()
    for name in ITEMS:
        record = json.loads((results / f"{name}.json").read_text())
        assert (record["item"], record["protocol"], record["commit"]) == (name, "smoke", "abc1234")
        assert record["torch"] and record["device"].startswith(resolve_device(None).type) and record["seconds"] >= 0
        text = (results / f"{name}.md").read_text()
        assert text.startswith(f"# {ITEMS[name].title}") and "Ours against the paper" in text
        assert "SMOKE" in text or "nothing to reduce" in text
        assert f"[{name}]({name}.md)" in index
        if name in GRID_ITEMS:  # the dense grid at ASMR's parameters, and every row's parameters per sample
            assert "| Grid (" in text and "params/sample" in text
        if name.startswith("fig") or name == "study":
            assert (results / f"{name}.png").stat().st_size > 1000 and f"({name}.png)" in text


def test_the_readme_block_is_rewritten_from_the_records_and_a_readme_without_one_is_left_alone(tmp_path, monkeypatch):
    from asmr_plugin.reproduce import headline

    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234")
    readme = tmp_path / "README.md"
    readme.write_text(f"# front\n\n{headline.BEGIN}\n| stale | 1 |\n{headline.END}\n\nafter\n")
    run(config(tmp_path, only=("fig2",)))
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# front") and text.endswith("after\n")
    fig2 = json.loads((tmp_path / "results" / "fig2.json").read_text())["data"]["rows"]
    asmr4 = next(row for row in fig2 if row["model"] == "ASMR (4)")
    assert f"| {asmr4['macs_with_bias']:,.0f} / " in text and "[fig2](results/fig2.md)" in text
    plain = tmp_path / "plain.md"
    plain.write_text("# no block\n")
    run(config(tmp_path, only=("fig2",), readme=plain, overwrite=True))
    assert plain.read_text() == "# no block\n"
    elsewhere = tmp_path / "checkout" / "README.md"  # a trial run into another folder leaves the front page alone
    elsewhere.parent.mkdir()
    elsewhere.write_text(text)
    run(config(tmp_path, only=("fig2",), readme=elsewhere, overwrite=True))
    assert elsewhere.read_text() == text


def test_items_written_for_this_commit_and_protocol_are_skipped_unless_overwritten(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234")
    assert run(config(tmp_path, only=("fig2",))) == {"fig2": "written"}
    first = (tmp_path / "results" / "fig2.json").read_text()
    again = run(config(tmp_path, only=("fig2",)))
    assert again["fig2"].startswith("already written for commit abc1234 and protocol smoke")
    assert (tmp_path / "results" / "fig2.json").read_text() == first
    assert run(config(tmp_path, only=("fig2",), overwrite=True)) == {"fig2": "written"}
    monkeypatch.setattr(reproduce, "commit", lambda: "def5678")  # a new commit re-runs it
    assert run(config(tmp_path, only=("fig2",))) == {"fig2": "written"}


def test_a_checkout_with_changes_never_skips(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234+modified")
    run(config(tmp_path, only=("fig2",)))
    assert run(config(tmp_path, only=("fig2",))) == {"fig2": "written"}


def test_kodak_items_are_skipped_without_the_images_and_the_index_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234")
    status = run(config(tmp_path, only=("table3", "fig9", "fig2")))
    assert status["table3"] == status["fig9"] == "needs the Kodak images (--kodak DIR)"
    index = (tmp_path / "results" / "README.md").read_text()
    assert "not written: needs the Kodak images (--kodak DIR)" in index
    assert "not written: not run yet" in index  # table2 and the others
    assert not (tmp_path / "results" / "table3.md").exists()


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="--kodak .* is not a folder"):
        run(config(tmp_path, kodak=tmp_path / "missing"))
    with pytest.raises(ValueError, match="--readme .* is not a file"):
        run(config(tmp_path, readme=tmp_path))
    (tmp_path / "photos").mkdir()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "photos" / "kodim01.png")
    with pytest.raises(ValueError, match=r"--kodak .*photos lacks 23 of the 24 Kodak images .*: kodim02.png"):
        run(config(tmp_path, kodak=tmp_path / "photos"))
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "results").exists()


def test_timed_fit_trains_for_the_seconds_given_and_raises_the_psnr():
    import torch

    from asmr_plugin.fields import ASMRField
    from asmr_plugin.reproduce.wallclock import timed_fit

    torch.manual_seed(0)
    target = torch.rand(16, 16, 1)
    times, psnrs = timed_fit(ASMRField((16, 16), bases=[[2, 2, 4]] * 2), target, 0.5, 1e-3)
    assert len(times) == len(psnrs) > 1 and times[0] == 0.0
    assert all(later > earlier for earlier, later in zip(times, times[1:])) and times[-1] < 0.5
    assert psnrs[-1] > psnrs[0]


def test_the_item_names_of_only_are_the_items():
    from typing import get_args

    from asmr_plugin.reproduce.run import ItemName

    assert list(get_args(ItemName)) == list(ITEMS)


def test_items_run_in_parallel_write_what_one_at_a_time_writes(tmp_path, kodak, monkeypatch):
    """--jobs 2: worker processes of one thread each write every item's files; Fig. 9 waits for Table 3's fits."""
    monkeypatch.setattr(reproduce, "commit", lambda: "abc1234")
    names = ("fig9", "table3", "fig2")
    status = run(config(tmp_path, kodak=kodak, only=names, jobs=2))
    assert status == {name: "written" for name in names}
    for name in names:
        record = json.loads((tmp_path / "results" / f"{name}.json").read_text())
        assert record["commit"] == "abc1234"
        if resolve_device(None) == "cpu":  # the machine's threads shared between the two workers
            assert record["device"] == f"cpu ({max(1, torch.get_num_threads() // 2)} threads)"
    fig9 = json.loads((tmp_path / "results" / "fig9.json").read_text())["data"]["psnr"]
    table3 = json.loads((tmp_path / "results" / "table3.json").read_text())["data"]["models"]["asmr"]["images"]
    assert {image: fig9[image]["asmr"] for image in fig9} == {image: table3[image]["final_psnr"] for image in fig9}
    (logged,) = json.loads((tmp_path / "results" / "runs.json").read_text())
    assert (logged["commit"], logged["items"], logged["jobs"]) == ("abc1234", list(names), 2)
    index = (tmp_path / "results" / "README.md").read_text()
    assert f"| abc1234 | smoke | {', '.join(names)} | 2 |" in index


@pytest.mark.parametrize("text", ["{not json", '[{"commit": "abc"}]', '{"commit": "abc"}'])
def test_a_broken_run_log_is_refused_before_any_item_runs(tmp_path, text):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runs.json").write_text(text)
    with pytest.raises(ValueError, match="runs.json: expected a JSON list of runs"):
        run(config(tmp_path, only=("fig2",)))
    assert not (tmp_path / "results" / "fig2.json").exists()


def test_the_index_keeps_the_wall_time_of_the_last_complete_run_after_a_partial_one(tmp_path):
    out = tmp_path / "results"
    reproduce.log_run(out, reproduce.Run("aaa1111", "reduced", list(ITEMS), 2, 54 * 60.0))
    reproduce.log_run(out, reproduce.Run("bbb2222", "reduced", ["table4"], 1, 31 * 60.0))
    reproduce.write_index(config(tmp_path), {})
    index = (out / "README.md").read_text()
    assert "The last run of every item, reduced: commit aaa1111, 2 at a time, 54 minutes wall." in index
    partial, complete = (line for line in index.splitlines() if line.startswith(("| bbb2222", "| aaa1111")))
    assert partial.startswith("| bbb2222 | reduced | table4 | 1 | 31 min") and complete.startswith("| aaa1111")


def test_jobs_out_of_range_are_refused(tmp_path):
    with pytest.raises(ValueError, match="--jobs"):
        run(config(tmp_path, jobs=0))


def test_the_index_says_why_a_reduced_item_falls_short(tmp_path):
    """An item whose reduced numbers contradict the claim carries the measured reason beside the verdict."""
    results = tmp_path / "results"
    results.mkdir()
    models = {"asmr": {"psnr_mean": 28.0}, "siren": {"psnr_mean": 31.0}, "ffn": {"psnr_mean": 30.0}}
    record = {
        "protocol": "reduced",
        "seconds": 1.0,
        "commit": "abc1234",
        "device": "cpu",
        "torch": "2",
        "comparison": "",
    }
    (results / "table3.json").write_text(json.dumps({**record, "data": {"models": models}}))
    reproduce.write_index(config(tmp_path), {})
    line = next(line for line in (results / "README.md").read_text().splitlines() if line.startswith("| [table3]"))
    assert "**contradicts**" in line and "Why a reduced run falls short: at 128 px" in line
