"""Single-image methods through nerfstudio's own training, evaluation and rendering, on CPU;
ns-train's bad input and Ctrl-C."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
import tyro
import yaml
from nerfstudio.plugins.registry import discover_methods
from nerfstudio.plugins.registry_dataparser import discover_dataparsers
from nerfstudio.scripts.eval import ComputePSNR
from nerfstudio.scripts.render import DatasetRender
from ns_runs import method_config, tiny_image, train
from PIL import Image

from asmr_plugin.fields import FIELDS
from asmr_plugin.nerfstudio.trainer_config import ImageTrainerConfig
from asmr_plugin.training.interrupts import INTERRUPTED_STATUS

pytestmark = pytest.mark.slow

METHODS = ["asmr-image", "siren-image"]
NS_TRAIN = [sys.executable, "-m", "nerfstudio.scripts.train"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ns_train(tmp_path: Path, *arguments: str) -> List[str]:
    """The ns-train command for asmr-image on ``tmp_path``/image.png, writing to ``tmp_path``/outputs."""
    tiny_image(tmp_path / "image.png", size=(16, 12))
    output = ["--vis", "tensorboard", "--output-dir", str(tmp_path / "outputs")]
    return NS_TRAIN + ["asmr-image", "--data", str(tmp_path / "image.png"), *output, *arguments]


def strict_json(text: str):
    """JSON as strict parsers read it: NaN and Infinity are errors."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


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
    results = strict_json((tmp_path / "eval.json").read_text())["results"]
    assert {"psnr", "ssim"} <= results.keys() and np.isfinite(results["psnr"])

    DatasetRender(load_config=base / "config.yml", output_path=tmp_path / "render", split="train").main()
    rendered = list((tmp_path / "render").rglob("*.png")) + list((tmp_path / "render").rglob("*.jpg"))
    assert rendered and Image.open(rendered[0]).size == (20, 24)

    resumed = method_config(name, tmp_path, image, steps=2)  # nerfstudio resumes for this many more steps
    resumed.timestamp = "resumed"
    resumed.load_dir = base / "nerfstudio_models"
    resumed_base = train(resumed)
    assert (resumed_base / "nerfstudio_models" / "step-000000004.ckpt").exists()


BASELINE_METHODS = ["ffn-image", "mfn-image", "wire-image", "kilonerf-image", "loe-image", "ngp-image", "grid-image"]


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
    assert np.isfinite(strict_json((tmp_path / "eval.json").read_text())["results"]["psnr"])


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
        "import sys; sys.modules['asmr_plugin.nerfstudio.methods'] = None\n"
        "from nerfstudio.configs.method_configs import all_methods\n"
        "assert 'nerfacto' in all_methods and 'asmr-image' not in all_methods, sorted(all_methods)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "asmr-plugin: methods unavailable" in result.stderr


def test_tiny_images_train_and_evaluate_without_ssim(tmp_path):
    """SSIM is not defined below 6 px: left out of the metrics; ns-eval's JSON stays strict (std of one image: 0)."""
    config = method_config("asmr-image", tmp_path, tiny_image(tmp_path / "tiny.png", size=(2, 3)), steps=20)
    config.steps_per_eval_image = config.steps_per_eval_all_images = 10
    base = train(config)
    ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    results = strict_json((tmp_path / "eval.json").read_text())["results"]
    assert "ssim" not in results and np.isfinite(results["psnr"])
    assert results["psnr_std"] == 0.0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--data", "{tmp}/missing.png"], "missing.png does not exist"),
        (["--data", "{tmp}/notes.png"], "notes.png is not a readable image"),
        (["--pipeline.model.bases", "2,2"], "--pipeline.model.bases do not fit the signal"),
        (
            ["--pipeline.model.num-layers", "3", "--pipeline.model.bases", "4,4"],
            "--pipeline.model.bases 4,4 --pipeline.model.num-layers 3: num_layers 3 disagrees",
        ),
        (["--pipeline.model.batch", "0"], "--pipeline.model.batch must be positive"),
        (["--pipeline.model.batch", "-5"], "--pipeline.model.batch must be positive"),
        (["--pipeline.model.hidden-dim", "0"], "--pipeline.model.hidden-dim must be positive, got 0"),
        (["--pipeline.model.num-layers", "0"], "--pipeline.model.num-layers must be positive, got 0"),
        (["--pipeline.model.omega0", "0"], "--pipeline.model.omega0 must be positive, got 0.0"),
        (
            ["--pipeline.model.viewer-output", "bogus"],
            "--pipeline.model.viewer-output 'bogus' is not an output of asmr",
        ),
        (
            ["--pipeline.model.viewer-level", "4"],
            "--pipeline.model.viewer-level must be in 0..3 for this network, got 4",
        ),
        (["--pipeline.model.viewer-unit", "256"], "--pipeline.model.viewer-unit must be in 0..255 for this network"),
        (["--output-dir", "{tmp}/notes.png/runs"], "notes.png is a file, not a directory"),
        (["--pipeline.model.bases", "1000,1000"], "--pipeline.model.bases: a full render of asmr's 1000000x1000000"),
        (["--pipeline.model.batch", "1000000000"], "--pipeline.model.batch 1000000000: a step needs at least"),
    ],
)
def test_bad_inputs_fail_with_one_line_before_anything_is_written(tmp_path, arguments, message):
    """ns-train's own parse and main in this process, up to where training would start."""
    from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion
    from nerfstudio.scripts.train import main

    (tmp_path / "notes.png").write_text("not an image")
    command = ns_train(tmp_path, *(argument.format(tmp=tmp_path) for argument in arguments))[len(NS_TRAIN) :]
    with pytest.raises(SystemExit) as exit_info:
        main(tyro.cli(AnnotatedBaseConfigUnion, args=command))
    assert str(exit_info.value.code).startswith("error: ") and "\n" not in str(exit_info.value.code)
    assert message in str(exit_info.value.code)
    assert not (tmp_path / "outputs").exists()


def test_ns_train_prints_a_bad_input_as_one_line_and_exits_1(tmp_path):
    result = subprocess.run(ns_train(tmp_path, "--pipeline.model.hidden-dim", "0"), capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("error: ") == 1, result.stderr
    assert result.stderr.splitlines()[-1] == "error: --pipeline.model.hidden-dim must be positive, got 0"
    assert "Traceback" not in result.stderr and not (tmp_path / "outputs").exists()


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_training_exits_non_zero(tmp_path):
    command = ns_train(tmp_path, "--timestamp", "run", "--max-num-iterations", "1000000", "--steps-per-save", "10")
    checkpoints = tmp_path / "outputs" / "image" / "asmr-image" / "run" / "nerfstudio_models"
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # as from a terminal, also when pytest runs in the background (SIGINT ignored)
    )
    try:
        deadline = time.monotonic() + 240
        while not list(checkpoints.glob("step-*.ckpt")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # training has run 10 steps once the first checkpoint appears
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == INTERRUPTED_STATUS, stderr
    assert stderr.splitlines()[-1].startswith("interrupted at step") and "Traceback" not in stderr
    assert list(checkpoints.glob("step-*.ckpt"))  # the last --steps-per-save checkpoint is kept


def test_asmr_image_gives_its_output_layer_and_modulators_optimizers_of_their_own(tmp_path):
    """asmr-image: the output layer and the modulators in groups of their own, at the paper's one rate."""
    config = method_config("asmr-image", tmp_path, tiny_image(tmp_path / "tiny.png"), steps=2)
    rate = config.optimizers["fields"]["optimizer"].lr
    assert (
        config.optimizers["field_output"]["optimizer"].lr
        == config.optimizers["field_modulation"]["optimizer"].lr
        == rate
    )
    pipeline = config.pipeline.setup(device="cpu", test_mode="val")
    groups = pipeline.model.get_param_groups()
    field = pipeline.model.field
    assert [id(p) for p in groups["field_output"]] == [id(p) for p in field.output.parameters()]
    assert [id(p) for p in groups["field_modulation"]] == [id(field.modulation.weight)]
    assert sum(len(group) for group in groups.values()) == len(list(field.parameters()))


def test_ns_render_writes_the_inspection_outputs(tmp_path):
    """`ns-render dataset --rendered-output-names error level unit`: each output an image of the image's size."""
    base = train(method_config("asmr-image", tmp_path, tiny_image(tmp_path / "tiny.png")))
    names = ["error", "level", "unit"]
    DatasetRender(
        load_config=base / "config.yml", output_path=tmp_path / "render", split="train", rendered_output_names=names
    ).main()
    for name in names:
        files = [path for path in (tmp_path / "render").rglob("*") if path.is_file()]
        rendered = [path for path in files if name in (path.stem, path.parent.name)]  # one image: train/<name>.jpg
        assert rendered, f"no {name} image written"
        image = np.asarray(Image.open(rendered[0]))
        assert Image.open(rendered[0]).size == (20, 24) and image.std() > 0, name


def test_config_records_the_image_resolved_and_checks_what_it_loads(tmp_path, monkeypatch):
    """config.yml names the image by its absolute path (ns-eval from any folder); --load-dir must hold a
    checkpoint of the same network (a grey run does not load into an RGB one), before anything is written."""
    monkeypatch.chdir(tmp_path)
    grey_run = method_config("asmr-image", tmp_path / "a", tiny_image(tmp_path / "grey.png", mode="L"))
    grey_run.output_dir = Path("outputs")  # relative, as ns-train's default
    grey = train(grey_run)
    config = method_config("asmr-image", tmp_path / "b", Path("grey.png"))
    config.check_inputs()
    assert config.pipeline.datamanager.data == tmp_path / "grey.png"
    recorded = yaml.load((grey / "config.yml").read_text(), Loader=yaml.Loader)
    assert recorded.pipeline.datamanager.data.is_absolute() and recorded.get_checkpoint_dir().is_absolute()
    (tmp_path / "empty").mkdir()
    config.load_dir = tmp_path / "empty"
    with pytest.raises(ValueError, match="--load-dir .*empty holds no step-\\*.ckpt checkpoint"):
        config.check_inputs()
    rgb = method_config("asmr-image", tmp_path / "c", tiny_image(tmp_path / "rgb.png"))
    rgb.load_dir = grey / "nerfstudio_models"
    with pytest.raises(SystemExit, match="holds another network than these options and this image give"):
        rgb.save_config()
    assert not (tmp_path / "c").exists()


def test_evaluating_a_run_without_checkpoints_is_one_line(tmp_path):
    from nerfstudio.utils.eval_utils import eval_setup

    base = train(method_config("asmr-image", tmp_path, tiny_image(tmp_path / "tiny.png")))
    for checkpoint in (base / "nerfstudio_models").glob("step-*.ckpt"):
        checkpoint.unlink()
    with pytest.raises(SystemExit, match="nerfstudio_models holds no step-\\*.ckpt checkpoint"):
        eval_setup(base / "config.yml")


def test_an_image_too_large_to_fit_here_is_one_line_before_config_yml(tmp_path, monkeypatch):
    from asmr_plugin import memory

    config = method_config("asmr-image", tmp_path, tiny_image(tmp_path / "rgb.png"))
    monkeypatch.setattr(memory, "memory_bytes", lambda: 100_000)  # it loads; its fit needs 140 bytes a value
    with pytest.raises(SystemExit, match=r"error: a fit of .*rgb.png \(20x24, 3 channel\(s\)\) needs at least"):
        config.save_config()
    assert not (tmp_path / "outputs").exists()


def test_evaluating_after_the_image_changed_or_vanished_is_one_line(tmp_path):
    image = tiny_image(tmp_path / "tiny.png")
    base = train(method_config("asmr-image", tmp_path, image, steps=2))
    Image.fromarray(np.zeros((24, 20, 3), dtype=np.uint8)).save(image)  # another image of the same size
    with pytest.raises(SystemExit) as exit_info:
        ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    assert str(exit_info.value.code) == (
        f"error: {image} is not the image this run was trained on (its content changed since ns-train); "
        "put the original back, or train a new run"
    )
    image.unlink()
    with pytest.raises(SystemExit) as exit_info:
        ComputePSNR(load_config=base / "config.yml", output_path=tmp_path / "eval.json").main()
    assert str(exit_info.value.code) == f"error: image {image} does not exist or is not a file"
    assert not (tmp_path / "eval.json").exists()
