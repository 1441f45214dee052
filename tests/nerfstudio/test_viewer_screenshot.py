"""The live viewer in a real browser: headless Chromium must show the fitted image, not a blank canvas."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "viewer_screenshot.py"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_viewer_shows_the_fitted_image(tmp_path):
    out = tmp_path / "viewer.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--steps", "200"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "image drawn" in result.stdout and out.stat().st_size > 0
