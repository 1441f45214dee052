"""asmr-scene: a small synthetic multi-view scene in nerfstudio's Blender format, deterministic, read by nerfstudio's
own parser with rays that hit what the views show; bad options one line; nothing half-written."""

import json

import numpy as np
import pytest
from helpers import cli_error
from PIL import Image

from asmr_plugin.io import scenes
from asmr_plugin.io.scenes import SceneConfig, write_scene


def small(out, **options) -> SceneConfig:
    return SceneConfig(out=out, **{"size": 16, "train": 3, "val": 1, "test": 2, **options})


def test_the_scene_is_written_in_blender_format_and_the_same_every_time(tmp_path):
    assert write_scene(small(tmp_path / "a")) == {"train": 3, "val": 1, "test": 2}
    write_scene(small(tmp_path / "b"))
    for split, count in (("train", 3), ("val", 1), ("test", 2)):
        transforms = json.loads((tmp_path / "a" / f"transforms_{split}.json").read_text())
        assert transforms["camera_angle_x"] == pytest.approx(scenes.CAMERA_ANGLE_X)
        assert [frame["file_path"] for frame in transforms["frames"]] == [f"./{split}/r_{i}" for i in range(count)]
        for index in range(count):
            view = np.asarray(Image.open(tmp_path / "a" / split / f"r_{index}.png"))
            assert view.shape == (16, 16, 4) and 0 < (view[..., 3] > 0).mean() < 1  # objects and background
            assert (view == np.asarray(Image.open(tmp_path / "b" / split / f"r_{index}.png"))).all()
    other = write_scene(small(tmp_path / "c", seed=1))
    assert other == {"train": 3, "val": 1, "test": 2}
    assert (tmp_path / "c" / "transforms_train.json").read_text() != (
        tmp_path / "a" / "transforms_train.json"
    ).read_text()


@pytest.mark.slow
def test_nerfstudio_s_blender_parser_casts_the_rays_that_made_each_view(tmp_path):
    from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig

    from asmr_plugin.io.open3d_loader import open3d

    write_scene(small(tmp_path / "scene"))
    outputs = BlenderDataParserConfig(data=tmp_path / "scene").setup().get_dataparser_outputs("test")
    o3d = open3d()
    scene = o3d.t.geometry.RaycastingScene()
    for mesh in scenes.meshes():
        scene.add_triangles(mesh)
    for index, path in enumerate(outputs.image_filenames):
        rays = outputs.cameras.generate_rays(camera_indices=index)
        casts = np.concatenate([rays.origins.reshape(-1, 3).numpy(), rays.directions.reshape(-1, 3).numpy()], -1)
        hit = np.isfinite(scene.cast_rays(o3d.core.Tensor(casts.astype(np.float32)))["t_hit"].numpy())
        assert (hit.reshape(16, 16) == (np.asarray(Image.open(path))[..., 3] > 0)).all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "4"], "--size must be 8 to 2048 pixels, got 4"),
        (["--train", "0"], "--train must be 1 to 10,000 views, got 0"),
        (["--test", "-1"], "--test must be 1 to 10,000 views, got -1"),
        (["--seed", "-1"], "--seed must be between 0"),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(tmp_path, args, message):
    from asmr_plugin.commands import SCENE

    assert message in cli_error(SCENE.options, SCENE.run, ["--out", str(tmp_path / "scene"), *args])
    assert not (tmp_path / "scene").exists()


def test_a_scene_is_never_written_over_or_half_written(tmp_path, monkeypatch):
    from asmr_plugin.commands import SCENE

    kept = tmp_path / "mine"
    kept.mkdir()
    (kept / "notes.txt").write_text("keep me")
    assert "already holds files" in cli_error(SCENE.options, SCENE.run, ["--out", str(kept), "--size", "16"])
    assert [path.name for path in kept.iterdir()] == ["notes.txt"]

    calls = iter(range(100))

    def failing(*args):
        if next(calls) == 2:
            raise OSError("disk full")
        return np.zeros((16, 16, 4))

    monkeypatch.setattr(scenes, "render_view", failing)
    with pytest.raises(OSError):
        write_scene(small(tmp_path / "new"))
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == [kept]
