"""Helpers of the bad-input and interrupted-run tests (tests/ is on pytest's pythonpath)."""

from pathlib import Path
from typing import Callable, List

import numpy as np
import pytest
from PIL import Image

from asmr_plugin.cli import run_cli
from asmr_plugin.training import interrupts

SMALL = ["--hidden-dim", "8", "--no-progress"]


def random_image(path: Path, height: int, width: int, channels: int = 3, seed: int = 0) -> Path:
    pixels = (np.random.default_rng(seed).random((height, width, channels)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(path)
    return path


def cli_error(config_class, run: Callable, args: List[str]) -> str:
    """The one line a script prints for ``args`` (it must exit with status 1)."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(config_class, run, None, args=args)
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "\n" not in message, message
    return message


def stop_after(monkeypatch, steps: int) -> None:
    """Make the fit loop see a stop request (as from Ctrl-C) after ``steps`` steps."""
    from contextlib import contextmanager

    @contextmanager
    def stop_requests():
        calls = iter(range(1, 10**9))
        yield lambda: next(calls) >= steps

    monkeypatch.setattr(interrupts, "stop_requests", stop_requests)


def smooth_rgb_image(path: Path, size=(40, 48)) -> Path:
    """A smooth RGB image of ``size`` (rows, columns) written to ``path``."""
    rows, cols = np.meshgrid(np.linspace(0, 1, size[0]), np.linspace(0, 1, size[1]), indexing="ij")
    pixels = np.stack([np.sin(5 * rows) * 0.5 + 0.5, np.cos(4 * cols) * 0.5 + 0.5, rows * cols], axis=-1)
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return path


def write_sphere(path: Path) -> Path:
    """A sphere of radius 3 (open3d) written to ``path``."""
    from asmr_plugin.io.open3d_loader import open3d

    o3d = open3d()
    sphere = o3d.geometry.TriangleMesh.create_sphere(3.0, resolution=60)
    sphere.compute_triangle_normals()  # STL needs them
    o3d.io.write_triangle_mesh(str(path), sphere)
    return path
