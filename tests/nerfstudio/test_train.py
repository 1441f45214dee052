"""Single-image methods through nerfstudio's own training, evaluation and rendering, on CPU."""

import copy
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from nerfstudio.plugins.registry import discover_methods
from nerfstudio.plugins.registry_dataparser import discover_dataparsers
from nerfstudio.scripts.eval import ComputePSNR
from nerfstudio.scripts.render import DatasetRender
from nerfstudio.scripts.train import train_loop
from PIL import Image

from asmr_plugin.fields import FIELDS
from asmr_plugin.nerfstudio.trainer_config import ImageTrainerConfig

METHODS = ["asmr-image", "siren-image"]


def tiny_image(path: Path, size=(24, 20), mode="RGB") -> Path:
    y, x = np.mgrid[0 : size[0], 0 : size[1]]
    rgb = np.stack([x * 255 // size[1], y * 255 // size[0], (x + y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).convert(mode).save(path)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def method_config(name: str, tmp_path: Path, image: Path, steps: int = 3) -> ImageTrainerConfig:
    config = copy.deepcopy(discover_methods()[0][name])
    config.output_dir = tmp_path / "outputs"
    config.vis = "tensorboard"
    config.machine.device_type = "cpu"
    config.max_num_iterations = steps
    config.steps_per_save = steps
    config.save_only_latest_checkpoint = False
    config.pipeline.datamanager.data = image
    config.pipeline.model.hidden_dim = 16
    config.__post_init__()  # the schedules follow max_num_iterations, as when tyro builds the config
    config.set_timestamp()
    return config


def train(config: ImageTrainerConfig) -> Path:
    config.save_config()
    train_loop(local_rank=0, world_size=1, config=config)
    return config.get_base_dir()


def test_entry_points_register_methods_and_dataparser():
    methods, descriptions = discover_methods()
    for name in METHODS:
        assert name in methods and descriptions[name]
        assert isinstance(methods[name], ImageTrainerConfig)
    assert "single-image-data" in discover_dataparsers()[0]


@pytest.mark.parametrize("name", METHODS)
def test_a_few_iterations_then_eval_render_and_resume(name, tmp_path):
    image = tiny_image(tmp_path / "tiny.png")
    base = train(method_config(name, tmp_path, image))
    checkpoints = sorted((base / "nerfstudio_models").glob("step-*.ckpt"))
    assert checkpoints, "no checkpoint written"

    ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    results = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert {"psnr", "ssim"} <= results.keys() and np.isfinite(results["psnr"])

    DatasetRender(load_config=base / "config.yml", output_path=tmp_path / "render", split="train").main()
    rendered = list((tmp_path / "render").rglob("*.png")) + list((tmp_path / "render").rglob("*.jpg"))
    assert rendered and Image.open(rendered[0]).size == (20, 24)

    resumed = method_config(name, tmp_path, image, steps=2)  # nerfstudio resumes for this many more steps
    resumed.timestamp = "resumed"
    resumed.load_dir = base / "nerfstudio_models"
    resumed_base = train(resumed)
    assert (resumed_base / "nerfstudio_models" / "step-000000004.ckpt").exists()


BASELINE_METHODS = ["ffn-image", "mfn-image", "wire-image", "kilonerf-image", "loe-image", "ngp-image"]


def test_method_names_do_not_shadow_nerfstudio_builtins():
    from nerfstudio.configs.method_configs import method_configs as builtin_methods

    methods, _ = discover_methods()
    assert set(METHODS + BASELINE_METHODS) <= methods.keys()
    assert not set(METHODS + BASELINE_METHODS) & builtin_methods.keys()


@pytest.mark.parametrize("name", BASELINE_METHODS)
def test_baseline_methods_train_and_evaluate(name, tmp_path):
    config = method_config(name, tmp_path, tiny_image(tmp_path / "tiny.png"), steps=2)
    network = config.pipeline.model.network
    assert config.optimizers["fields"]["optimizer"].lr == FIELDS[network].paper_lr
    base = train(config)
    ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    assert np.isfinite(json.loads((tmp_path / "eval.json").read_text())["results"]["psnr"])


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_viewer_starts_for_grey_images(tmp_path, mode):
    """The viewer draws the training image on its camera frustum; viser needs 3 or 4 channels."""
    config = method_config("asmr-image", tmp_path, tiny_image(tmp_path / "grey.png", mode=mode), steps=2)
    config.vis = "viewer"
    config.viewer.websocket_host = "127.0.0.1"
    config.viewer.websocket_port = free_port()
    base = train(config)
    assert list((base / "nerfstudio_models").glob("step-*.ckpt"))


def test_ns_viewer_loads_a_trained_run(tmp_path):
    """ns-viewer --load-config starts its server on the checkpoint (it then serves until stopped)."""
    base = train(method_config("asmr-image", tmp_path, tiny_image(tmp_path / "tiny.png")))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "nerfstudio.scripts.viewer.run_viewer",
        "--load-config",
        str(base / "config.yml"),
        "--viewer.websocket-host",
        "127.0.0.1",
        "--viewer.websocket-port",
        str(port),
    ]
    viewer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, lines = time.monotonic() + 240, []
        for line in viewer.stdout:
            lines.append(line)
            if f"127.0.0.1:{port}" in line or time.monotonic() > deadline:
                break
        assert any(f"127.0.0.1:{port}" in line for line in lines), "".join(lines)
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # the viewer's server accepts connections
    finally:
        viewer.terminate()
        viewer.wait(timeout=30)


def test_an_import_failure_in_the_plugin_does_not_break_other_methods():
    code = (
        "import sys; sys.modules['asmr_plugin.method_configs.image'] = None\n"
        "from nerfstudio.configs.method_configs import all_methods\n"
        "assert 'nerfacto' in all_methods and 'asmr-image' not in all_methods, sorted(all_methods)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "asmr-plugin: methods unavailable" in result.stderr
