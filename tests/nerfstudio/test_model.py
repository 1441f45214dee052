"""The image plane geometry and the model's outputs for training and viewer cameras."""

import os

import numpy as np
import pytest
import torch
from nerfstudio.cameras.cameras import Cameras, CameraType
from PIL import Image

from asmr_plugin.nerfstudio.dataparser import SingleImageDataParserConfig
from asmr_plugin.nerfstudio.image_plane import ImagePlane
from asmr_plugin.nerfstudio.model import ImageFieldModelConfig


def test_training_camera_rays_hit_their_own_pixels():
    plane = ImagePlane(height=6, width=9)
    rays = plane.training_camera().generate_rays(camera_indices=0, keep_shape=True)
    pixels, distance, hit = plane.intersect(rays.origins, rays.directions)
    rows, columns = torch.meshgrid(torch.arange(6.0), torch.arange(9.0), indexing="ij")
    assert hit.all() and (distance > 0).all()
    assert torch.equal(pixels, torch.stack([rows, columns], dim=-1))


def test_rays_that_miss_the_plane():
    plane = ImagePlane(height=4, width=4)
    origins = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    directions = torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    _, _, hit = plane.intersect(origins, directions)
    assert hit.tolist() == [True, False, False, False]  # centre, parallel, beside the image, behind


def make_model(tmp_path, channels_mode="RGB", shape=(16, 12), **config):
    path = tmp_path / "image.png"
    pixels = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(channels_mode).save(path)
    outputs = SingleImageDataParserConfig(data=path).setup().get_dataparser_outputs("train")
    model = ImageFieldModelConfig(hidden_dim=16, **config).setup(
        scene_box=outputs.scene_box, num_train_data=1, metadata=outputs.metadata
    )
    return model, outputs


@pytest.mark.parametrize("mode, channels", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
def test_training_view_is_the_shared_render(tmp_path, mode, channels):
    model, outputs = make_model(tmp_path, mode)
    model.eval()
    camera = outputs.cameras
    rendered = model.get_outputs_for_camera(camera)
    assert list(rendered)[0] == "rgb" and rendered["rgb"].shape == (16, 12, 3)
    assert rendered["values"].shape == (16, 12, channels)
    with torch.no_grad():
        assert torch.equal(rendered["values"], model.field.render((16, 12)))
    # the same camera as a viewer would send it (a new object, rays not taken from the cache)
    via_rays = model.get_outputs_for_camera_ray_bundle(camera.generate_rays(camera_indices=0, keep_shape=True))
    assert (via_rays["values"] - rendered["values"].clamp(0, 1)).abs().max() <= 1e-4
    assert via_rays["accumulation"].min() == 1


def test_viewer_camera_sees_the_plane_from_an_angle(tmp_path):
    model, outputs = make_model(tmp_path)
    model.eval()
    tilted = Cameras(
        camera_to_worlds=torch.tensor([[[1.0, 0, 0, 0.3], [0, 0.9397, -0.342, -0.8], [0, 0.342, 0.9397, 2.2]]]),
        fx=40.0,
        fy=40.0,
        cx=32.0,
        cy=24.0,
        width=64,
        height=48,
        camera_type=CameraType.PERSPECTIVE,
    )
    out = model.get_outputs_for_camera(tilted)
    assert out["rgb"].shape == (48, 64, 3) and out["depth"].shape == (48, 64, 1)
    coverage = out["accumulation"].mean()
    assert 0.05 < coverage < 1  # part of the view shows the image, part the background
    assert (out["rgb"][out["accumulation"][..., 0] == 0] == 0).all()


@pytest.mark.parametrize("mode, served", [("L", 3), ("LA", 4), ("RGB", 3), ("RGBA", 4)])
def test_dataset_serves_rgb_and_model_fits_the_image_channels(tmp_path, mode, served):
    from asmr_plugin.nerfstudio.dataparser import SingleImageDataset

    model, outputs = make_model(tmp_path, mode)
    image = outputs.metadata["image"]
    data = SingleImageDataset(outputs)[0]["image"]
    assert data.shape == (16, 12, served)  # what the viewer draws on the camera frustum
    assert torch.equal(model.target_values({}, {"image": data}), image)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 100), (100, 5), (6, 6)])
def test_eval_metrics_omit_ssim_where_it_is_not_defined(tmp_path, shape):
    """nerfstudio averages the keys of the first image's metrics: a missing key is skipped, NaN is not."""
    from asmr_plugin.nerfstudio.dataparser import SingleImageDataset

    model, outputs = make_model(tmp_path, shape=shape)
    model.eval()
    batch = {"image": SingleImageDataset(outputs)[0]["image"]}
    metrics, images = model.get_image_metrics_and_images(model.get_outputs_for_camera(outputs.cameras), batch)
    assert ("ssim" in metrics) == (min(shape) >= 6)
    assert all(np.isfinite(value) for value in metrics.values())
    assert images["img"].shape == (shape[0], 2 * shape[1], 3)


@pytest.mark.parametrize("pixels", [None, 32])
def test_training_modes_give_a_loss(tmp_path, pixels):
    from asmr_plugin.nerfstudio.dataparser import SingleImageDataset

    model, outputs = make_model(tmp_path, batch=pixels)
    model.train()
    batch = {"image": SingleImageDataset(outputs)[0]["image"]}
    out = model(outputs.cameras)
    expected = (16, 12, 3) if pixels is None else (32, 3)
    assert out["values"].shape == expected
    loss = model.get_loss_dict(out, batch)["mse"]
    loss.backward()
    assert all(p.grad is not None for p in model.field.parameters())
    metrics = model.get_metrics_dict(out, batch)
    assert metrics["num_params"] == model.field.num_params() and metrics["psnr"] > 0


def test_cosine_schedule_state_is_plain_floats_and_reloads_safely(tmp_path):
    from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig

    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-4)
    scheduler = CosineAnnealingSchedulerConfig(lr_final=1e-6, max_steps=10).setup().get_scheduler(optimizer, 1e-4)
    rates = []
    for _ in range(12):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(1e-4) and rates[10] == pytest.approx(1e-6) and rates[11] == pytest.approx(1e-6)
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    torch.save(scheduler.state_dict(), tmp_path / "scheduler.pt")
    assert torch.load(tmp_path / "scheduler.pt", weights_only=True)["last_epoch"] == 12


def test_the_image_is_read_once_for_the_input_check_and_the_dataparser(tmp_path, monkeypatch):
    from asmr_plugin.nerfstudio import dataparser

    path = tmp_path / "image.png"
    Image.fromarray(np.zeros((6, 4), dtype=np.uint8)).save(path)
    reads = []
    monkeypatch.setattr(dataparser, "load_image", lambda file: reads.append(file) or torch.zeros(6, 4, 1))
    dataparser._image_at.cache_clear()
    dataparser.read_image(path)  # ImageTrainerConfig.check_inputs
    assert SingleImageDataParserConfig(data=path).setup().image.shape == (6, 4, 1)
    assert len(reads) == 1
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a changed file is read again
    dataparser.read_image(path)
    assert len(reads) == 2
    dataparser._image_at.cache_clear()


@pytest.mark.parametrize("network", ["asmr", "siren"])
def test_the_error_output_is_the_absolute_error_for_every_network(tmp_path, network):
    model, outputs = make_model(tmp_path, "RGB", network=network)
    model.eval()
    rendered = model.get_outputs_for_camera(outputs.cameras)
    target = outputs.metadata["image"]
    expected = (rendered["values"].clamp(0, 1) - target).abs().mean(-1, keepdim=True)
    assert torch.equal(rendered["error"], expected)
    via_rays = model.get_outputs_for_camera_ray_bundle(outputs.cameras.generate_rays(camera_indices=0, keep_shape=True))
    assert (via_rays["error"] - expected).abs().max() <= 1e-4
    assert ("level" in rendered) == ("unit" in rendered) == (network == "asmr")


def test_the_level_and_unit_outputs_follow_the_viewer_settings(tmp_path):
    model, outputs = make_model(tmp_path, "L", shape=(16, 16), bases=("2,2,4",))
    model.eval()
    field = model.field
    assert (model.gui_level.value, model.gui_layer.value, model.gui_unit.value) == (2, 1, 0)
    full = model.get_outputs_for_camera(outputs.cameras)
    assert torch.equal(full["level"], full["rgb"])  # the last level is the whole render
    model.gui_level.value = 0
    coarse = model.get_outputs_for_camera(outputs.cameras)["level"]
    with torch.no_grad():
        assert torch.equal(coarse, model.to_rgb(field.render_coarse(0).clamp(0, 1)))
    assert not torch.equal(coarse, full["level"])
    model.gui_layer.value, model.gui_unit.value = 2, 5
    unit = model.get_outputs_for_camera(outputs.cameras)["unit"]
    with torch.no_grad():  # layer 2 of bases [2,2,4] lives on 16x16 cells; per-point activation of unit 5 at each pixel
        points = torch.stack(torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij"), -1)
        levels = field.encoding.levels(points)
        z = levels[..., 0, :]
        for level, layer in enumerate(field.sine_layers, start=1):
            z = layer(z, field.modulation.level(level, levels[..., level, :]))
    assert torch.allclose(unit[..., 0], (z[..., 5] + 1) / 2, atol=1e-5)
    model.gui_layer.value = 1  # layer 1 lives on 4x4 cells of 4x4 pixels: each cell one value
    cells = model.get_outputs_for_camera(outputs.cameras)["unit"][..., 0].reshape(4, 4, 4, 4)
    assert torch.equal(cells, cells[:, :1, :, :1].expand_as(cells))


def test_the_gui_shows_the_networks_counts(tmp_path):
    model, _ = make_model(tmp_path, "RGB")
    text = model.gui_network.value
    assert f"{model.field.num_params():,} params" in text and "(weights)" in text and "(+bias)" in text
    model.last_psnr = torch.tensor(21.5)
    callback = model.get_training_callbacks(None)[0]
    callback.run_callback_at_location(100, callback.where_to_run[0])
    assert "PSNR 21.50 dB" in model.gui_network.value


@pytest.mark.parametrize("init, started", [(None, "mean"), ("paper", "paper")])
def test_the_field_starts_at_the_images_mean_unless_init_paper(tmp_path, init, started):
    model, _ = make_model(tmp_path, "RGB", **({} if init is None else {"init": init}))
    assert model.field.initialization == started
    image_mean = model.target.reshape(-1, 3).mean(0)
    assert torch.equal(model.field.output.bias.detach(), image_mean) == (started == "mean")
