"""The live viewer in a real browser: headless Chromium must show the fitted image, not a blank canvas."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "viewer_screenshot.py"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_viewer_shows_the_fitted_image(tmp_path):
    out = tmp_path / "viewer.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--steps", "200"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "image drawn" in result.stdout and out.stat().st_size > 0


def canvas(path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    height, width = pixels.shape
    return pixels[int(0.15 * height) : int(0.85 * height), int(0.05 * width) : int(0.6 * width)]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_viewer_shows_the_error_and_the_levels(tmp_path):
    """The error output and two levels of the 'level' output, each in its own short run: the error and the
    finest level drawn, the coarsest level (4x4 cells, nearly flat this early) different from the finest."""
    shots = {
        "error": ["--output", "error"],
        "level3": ["--output", "level", "--level", "3"],
        "level0": ["--output", "level", "--level", "0"],
    }
    for name, arguments in shots.items():
        out = tmp_path / f"{name}.png"
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(out), "--steps", "100", *arguments],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert out.stat().st_size > 0, result.stdout + result.stderr
        if name != "level0":
            assert result.returncode == 0 and "image drawn" in result.stdout, result.stdout + result.stderr
    difference = np.abs(canvas(tmp_path / "level0.png") - canvas(tmp_path / "level3.png"))
    assert difference.mean() > 5, f"levels 0 and 3 look alike (mean grey-level difference {difference.mean():.1f})"
