"""The console commands of a non-editable install (a wheel), run from another folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = {
    "asmr-fit": ["image", "audio", "video", "megapixel", "occupancy", "meta"],
    "asmr-bench": ["latency", "training"],
    "asmr-count-macs": [None],
    "asmr-export": [None],
    "asmr-reproduce": [None],
    "asmr-scene": [None],
    "asmr-bake": [None],
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory, root) -> Path:
    """The package built as a wheel and installed (without dependencies: this environment has them) into a folder."""
    folder = tmp_path_factory.mktemp("install")
    wheels = folder / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(root)],
        check=True,
        capture_output=True,
    )
    target = folder / "site"
    wheel = next(wheels.glob("asmr_plugin-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.mark.parametrize("command, name", [(command, name) for command, names in COMMANDS.items() for name in names])
@pytest.mark.slow
def test_console_commands_run_from_the_wheel(installed, tmp_path, command, name):
    arguments = [str(installed / "bin" / command), *([name] if name else []), "--help"]
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    shown = subprocess.run(arguments, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "usage:" in shown.stdout and "--" in shown.stdout
    code = (
        "import sys, asmr_plugin.commands; print('\\n'.join(module.__file__ for name, module in sys.modules.items() "
        "if name.startswith('asmr_plugin') and getattr(module, '__file__', None)))"
    )
    located = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=environment, check=True
    )
    files = located.stdout.split()
    assert len(files) > 20 and all(file.startswith(str(installed)) for file in files)  # every module from the wheel


def test_an_unknown_subcommand_is_one_line(tmp_path):
    from asmr_plugin.commands import fit

    with pytest.raises(SystemExit) as exit_info:
        fit(["painting"])
    assert str(exit_info.value.code) == (
        "error: unknown asmr-fit command 'painting'; choose one of image, audio, video, megapixel, occupancy, meta"
    )


def test_asmr_fit_runs_the_chosen_subcommand_from_its_preset(tmp_path):
    import json

    from helpers import random_image

    from asmr_plugin.commands import fit

    image = random_image(tmp_path / "image.png", 16, 16)
    out = tmp_path / "out"
    fit(
        ["image", "--preset", "cameraman-siren3", "--data", str(image), "--steps", "2", "--hidden-dim", "8"]
        + ["--out", str(out), "--no-progress"]
    )
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "siren" and results["init_kwargs"]["num_layers"] == 3 and results["steps"] == 2
