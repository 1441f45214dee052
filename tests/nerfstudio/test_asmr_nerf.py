"""asmr-nerf: an ASMR radiance field trained by nerfstudio's own trainer on an asmr-scene, on the CPU, offline (no
LPIPS: nothing downloaded); ns-eval and ns-render read the run; the field's density is 0 outside the scene box."""

import copy
import json

import numpy as np
import pytest
import torch
from nerfstudio.cameras.rays import Frustums, RayBundle, RaySamples
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.plugins.registry import discover_methods
from nerfstudio.scripts.eval import ComputePSNR
from nerfstudio.scripts.render import DatasetRender
from nerfstudio.scripts.train import train_loop
from PIL import Image

from asmr_plugin.io.scenes import SceneConfig, write_scene
from asmr_plugin.nerfstudio.radiance_field import ASMRRadianceField


def samples_at(points: torch.Tensor) -> RaySamples:
    ones = torch.ones(*points.shape[:-1], 1)
    directions = torch.nn.functional.normalize(torch.ones_like(points), dim=-1)
    frustums = Frustums(points, directions, ones * 0, ones * 1e-3, ones * 1e-3)
    return RaySamples(frustums=frustums, deltas=ones * 1e-2)


def test_the_field_is_asmr_over_the_scene_box_and_empty_outside_it():
    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    field = ASMRRadianceField(aabb, [[2, 4, 4]] * 3, hidden_dim=16, feature_dim=4, head_hidden=8)
    points = torch.tensor([[0.0, 0.0, 0.0], [1.4, -1.4, 0.3], [1.6, 0.0, 0.0], [0.0, -9.0, 0.0]])
    outputs = field(samples_at(points[:, None, :]))
    density, rgb = outputs[FieldHeadNames.DENSITY], outputs[FieldHeadNames.RGB]
    assert density.shape == (4, 1, 1) and rgb.shape == (4, 1, 3)
    assert (density[:2] > 0).all() and (density[2:] == 0).all()
    assert ((rgb >= 0) & (rgb <= 1)).all()
    coords, _ = field.grid_coords(points[:2])  # the box's corners are the ASMR grid's first and last cells
    assert coords.min() >= 0 and coords.max() <= 31


@pytest.mark.slow
def test_ns_train_asmr_nerf_then_eval_and_render_offline(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("the network is not reachable in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    scene = tmp_path / "scene"
    write_scene(SceneConfig(out=scene, size=16, train=4, val=1, test=2))
    config = copy.deepcopy(discover_methods()[0]["asmr-nerf"])
    config.output_dir, config.vis, config.machine.device_type = tmp_path / "outputs", "tensorboard", "cpu"
    config.max_num_iterations = config.steps_per_save = 3
    config.steps_per_eval_image = config.steps_per_eval_all_images = 3
    config.pipeline.datamanager.data = scene
    config.pipeline.model.hidden_dim, config.pipeline.model.num_coarse_samples = 16, 8
    config.pipeline.model.num_importance_samples, config.pipeline.model.bases = 8, ("2,2,4",)  # a 16^3 grid
    config.__post_init__()
    config.set_timestamp()
    config.save_config()
    train_loop(local_rank=0, world_size=1, config=config)
    base = config.get_base_dir()
    assert sorted((base / "nerfstudio_models").glob("step-*.ckpt"))

    ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    results = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert {"psnr", "ssim"} <= results.keys() and np.isfinite(results["psnr"]) and "lpips" not in results

    DatasetRender(load_config=base / "config.yml", output_path=tmp_path / "render", split="test").main()
    rendered = sorted((tmp_path / "render").rglob("*.jpg")) + sorted((tmp_path / "render").rglob("*.png"))
    assert len(rendered) >= 2 and Image.open(rendered[0]).size == (16, 16)
    assert any("level" in path.parts for path in rendered)  # ASMR's level output, at the finest level by default

    from asmr_plugin.nerfstudio.bake import BakeConfig
    from asmr_plugin.nerfstudio.bake import run as bake_run

    report = bake_run(BakeConfig(load_config=base / "config.yml", out=tmp_path / "grid.npz", mesh_level=None))
    assert report["test_psnr_baked"] == pytest.approx(report["test_psnr_field"], abs=1e-3)
    assert max(report["max_abs_difference"].values()) < 1e-4
    assert report["macs_per_voxel_nerf_mlp"] > 10 * report["macs_per_voxel_shared"] and report["seconds_nerf_mlp"] > 0
    baked = np.load(tmp_path / "grid.npz")
    assert baked["density"].shape == tuple(report["grid"]) and baked["rgb"].shape == (*report["grid"], 3)
    with pytest.raises(ValueError, match="exists; pass --overwrite"):
        bake_run(BakeConfig(load_config=base / "config.yml", out=tmp_path / "grid.npz", mesh_level=None))
    with pytest.raises(
        ValueError, match="--mesh-level 1000000000.0: the baked density lies in"
    ):  # checked before any file is written
        bake_run(BakeConfig(load_config=base / "config.yml", out=tmp_path / "other.npz", mesh_level=1e9))
    assert not list(tmp_path.glob("other.*"))


def test_the_baseline_field_is_nerfstudio_s_nerf_field_in_the_same_model():
    from nerfstudio.fields.vanilla_nerf_field import NeRFField

    from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig, radiance_field

    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    baseline = radiance_field(ASMRNerfModelConfig(field="nerf"), aabb)
    assert isinstance(baseline, NeRFField) and sum(p.numel() for p in baseline.parameters()) == 76_100
    outputs = baseline(samples_at(torch.zeros(5, 2, 3)))
    assert outputs[FieldHeadNames.RGB].shape == (5, 2, 3) and (outputs[FieldHeadNames.DENSITY] >= 0).all()
    assert isinstance(radiance_field(ASMRNerfModelConfig(), aabb), ASMRRadianceField)
    hashed = radiance_field(ASMRNerfModelConfig(field="nerfacto"), aabb)
    samples = samples_at(torch.zeros(5, 2, 3))
    samples.camera_indices = torch.zeros(5, 2, 1, dtype=torch.long)
    assert hashed(samples)[FieldHeadNames.RGB].shape == (5, 2, 3)


def tiny_field(bases=((2, 2, 2),) * 3) -> ASMRRadianceField:
    torch.manual_seed(0)
    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    return ASMRRadianceField(aabb, [list(b) for b in bases], hidden_dim=16, feature_dim=4, head_hidden=8)


@pytest.mark.parametrize("bases", [((2, 2, 2),) * 3, ((2, 3, 1), (4, 1, 2), (1, 2, 5))])
def test_the_bake_is_the_field_cell_by_cell(bases):
    """Activation sharing equals the point-by-point network on every voxel, and the baked grid read back along rays
    gives the field's own density and colour (uniform and non-uniform bases, bases of 1)."""
    from asmr_plugin.nerfstudio.bake import BakedRadianceField, bake, bake_point_by_point

    field = tiny_field(bases)
    grid, reference = bake(field), bake_point_by_point(field)
    assert grid.density.shape[:3] == tuple(int(n) for n in field.grid.tolist())
    torch.testing.assert_close(grid.density, reference.density, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grid.features, reference.features, rtol=1e-5, atol=1e-5)
    points = torch.rand(200, 1, 3) * 3.4 - 1.7  # inside and just outside the box
    with torch.no_grad():
        trained, baked = field(samples_at(points)), BakedRadianceField(field, grid)(samples_at(points))
    for head in (FieldHeadNames.DENSITY, FieldHeadNames.RGB):
        torch.testing.assert_close(baked[head], trained[head], rtol=1e-4, atol=1e-5)


def test_the_mesh_is_the_density_level_set_in_world_coordinates(tmp_path):
    from asmr_plugin.io.open3d_loader import open3d
    from asmr_plugin.nerfstudio.bake import write_mesh

    field = tiny_field(((4, 4),) * 3)  # a 16^3 grid
    axis = torch.linspace(-1, 1, 16)
    x, y, z = torch.meshgrid(axis, axis, axis, indexing="ij")
    density = 20 * (1 - (x**2 + y**2 + z**2).sqrt())  # a ball of radius 1 in grid units [-1, 1]
    counts = write_mesh(tmp_path / "ball.ply", density, torch.full((16, 16, 16, 3), 0.5), field, level=10.0)
    mesh = open3d().io.read_triangle_mesh(str(tmp_path / "ball.ply"))
    radii = np.linalg.norm(np.asarray(mesh.vertices), axis=1)
    assert counts["faces"] == len(mesh.triangles) > 0 and np.allclose(radii, 0.75, atol=0.1)  # 0.5 of 1.5 (box)
    with pytest.raises(ValueError, match="--mesh-level 99"):
        write_mesh(tmp_path / "none.ply", density, torch.zeros(16, 16, 16, 3), field, level=99.0)
    assert not (tmp_path / "none.ply").exists()


def test_asmr_bake_refuses_what_is_not_an_asmr_nerf_run(tmp_path):
    from helpers import cli_error

    from asmr_plugin.nerfstudio.bake import BakeConfig
    from asmr_plugin.nerfstudio.bake import run as bake_run

    (tmp_path / "bad.yml").write_text("garbage: [\n")
    (tmp_path / "other.yml").write_text(
        "!!python/object:nerfstudio.engine.trainer.TrainerConfig\nmethod_name: nerfacto\n"
    )
    cases = {
        str(tmp_path / "missing.yml"): "does not exist",
        str(tmp_path): "is a folder; expected a run's config.yml",
        str(tmp_path / "bad.yml"): "is not a nerfstudio config.yml (ParserError)",
        str(tmp_path / "other.yml"): "is a run of nerfacto, not of asmr-nerf",
    }
    for path, message in cases.items():
        args = ["--load-config", path, "--out", str(tmp_path / "grid.npz")]
        assert message in cli_error(BakeConfig, bake_run, args)
    assert not (tmp_path / "grid.npz").exists()


def test_the_smoothness_prior_compares_neighbouring_cells_and_joins_the_loss_when_asked():
    from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig

    field = tiny_field()
    assert field.neighbour_difference(512) > 0
    with torch.no_grad():
        field.network.output.weight.zero_()  # a constant network: no difference between any two cells
    assert field.neighbour_difference(512) == 0
    seen = []
    original = field.network.forward
    field.network.forward = lambda coords: seen.append(coords) or original(coords)
    field.neighbour_difference(4096)
    cells = seen[0].floor()
    here, there = cells.chunk(2)
    assert ((cells >= 0) & (cells < 8)).all()  # a 8^3 grid: every neighbour is a cell of it
    assert ((here - there).abs().sum(-1) == 1).all()  # one cell apart along one axis
    config = ASMRNerfModelConfig(hidden_dim=16, bases=("2,2,2",), num_coarse_samples=4, num_importance_samples=4)
    model = config.setup(scene_box=SceneBox(torch.tensor([[-1.5] * 3, [1.5] * 3])), num_train_data=1)
    rays = RayBundle(
        origins=torch.tensor([[0.0, 0, 4]] * 8),
        directions=torch.tensor([[0.0, 0, -1]] * 8),
        pixel_area=torch.ones(8, 1),
        camera_indices=torch.zeros(8, 1, dtype=torch.long),
    )
    batch = {"image": torch.rand(8, 3)}
    model.train()
    losses = model.get_loss_dict(model(rays), batch)
    assert set(losses) == {"rgb_loss_coarse", "rgb_loss_fine", "smoothness"} and losses["smoothness"] > 0
    model.eval()  # a prior of training only: the evaluation loss is the image's
    assert set(model.get_loss_dict(model(rays), batch)) == {"rgb_loss_coarse", "rgb_loss_fine"}
    model.config.smoothness = 0.0
    model.train()
    assert "smoothness" not in model.get_loss_dict(model(rays), batch)


def test_output_gain_scales_the_asmr_output_weights_at_initialization():
    torch.manual_seed(0)
    plain = tiny_field().network.output.weight
    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    torch.manual_seed(0)
    scaled = ASMRRadianceField(aabb, [[2, 2, 2]] * 3, hidden_dim=16, feature_dim=4, head_hidden=8, output_gain=10.0)
    torch.testing.assert_close(scaled.network.output.weight, 10 * plain)


def test_the_level_output_renders_the_scene_as_the_coarser_levels_make_it():
    from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig

    config = ASMRNerfModelConfig(hidden_dim=16, bases=("2,2,2",), num_coarse_samples=4, num_importance_samples=4)
    torch.manual_seed(0)
    model = config.setup(scene_box=SceneBox(torch.tensor([[-1.5] * 3, [1.5] * 3])), num_train_data=1)
    rays = RayBundle(
        origins=torch.tensor([[0.0, 0, 4]] * 8) + torch.rand(8, 3) * 0.1,
        directions=torch.tensor([[0.0, 0, -1]] * 8),
        pixel_area=torch.ones(8, 1),
        camera_indices=torch.zeros(8, 1, dtype=torch.long),
    )
    model.train()
    assert "level" not in model(rays)
    model.eval()
    assert model.gui_level.value == 2  # the finest: the colour itself
    with torch.no_grad():
        outputs = model(rays)
        assert torch.equal(outputs["level"], outputs["rgb"])
        model.gui_level.value = 0
        torch.manual_seed(1)
        coarse = model(rays)
    assert model.field.level is None  # only while rendering the output
    assert coarse["level"].shape == coarse["rgb"].shape and not torch.allclose(coarse["level"], coarse["rgb"])
    with pytest.raises(ValueError, match="--pipeline.model.viewer-level 3: this ASMR has levels 0..2"):
        ASMRNerfModelConfig(viewer_level=3, bases=("2,2,2",)).setup(
            scene_box=SceneBox(torch.tensor([[-1.5] * 3, [1.5] * 3])), num_train_data=1
        )
