#!/usr/bin/env python
"""Train `ns-train asmr-image` briefly, open its web viewer in headless Chromium and save a screenshot.

Exits non-zero when the viewer's 3-D canvas is blank or flat grey (no fitted image drawn).

    python scripts/viewer_screenshot.py --out viewer.png
    python scripts/viewer_screenshot.py --data photo.png --steps 500 --out viewer.png
    python scripts/viewer_screenshot.py --output error --out error.png          # any output of the model
    python scripts/viewer_screenshot.py --output level --level 1 --out level1.png
    python scripts/viewer_screenshot.py --output unit --layer 2 --unit 7 --out unit.png
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro
from PIL import Image


@dataclass
class ScreenshotConfig:
    """Screenshot the live viewer of a short asmr-image run."""

    out: Path = Path("viewer.png")
    """Where to save the screenshot (PNG)."""
    data: Path | None = None
    """Image to fit. Default: Cameraman."""
    steps: int = 300
    """Training steps before the screenshot."""
    output: str = "rgb"
    """The output the viewer shows: rgb, error, depth, accumulation, values; ASMR also level, unit."""
    level: int | None = None
    """The GUI's level for the 'level' output (0: the coarsest). Default: the finest."""
    layer: int | None = None
    """The GUI's hidden layer for the 'unit' output (0: the first layer's shared part). Default: 1."""
    unit: int | None = None
    """The GUI's hidden unit for the 'unit' output. Default: 0."""
    chromium: str = "chromium"
    """Chromium (or Chrome) executable."""
    window: tuple[int, int] = (1280, 800)
    """Browser window size, width then height."""
    wait: float = 20.0
    """Seconds the page gets to connect and draw (browser virtual time)."""
    timeout: float = 600.0
    """Seconds to wait for training to finish."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> None:
    """Read the process's output until a line contains ``text``."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        if text in line:
            return
        if time.monotonic() > deadline:
            break
    raise RuntimeError(f"ns-train did not print {text!r} within {timeout:.0f} s (exit code {process.poll()})")


def canvas_is_drawn(screenshot: Path) -> tuple[bool, str]:
    """Whether the 3-D canvas (left part of the page, away from the control panel) shows an image."""
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=np.float32)
    height, width = pixels.shape
    canvas = pixels[int(0.15 * height) : int(0.85 * height), int(0.05 * width) : int(0.6 * width)]
    spread, levels = float(canvas.std()), len(np.unique(canvas.astype(np.uint8)))
    return spread > 15 and levels > 64, f"canvas grey-level std {spread:.1f}, {levels} distinct levels"


def main(config: ScreenshotConfig) -> int:
    chromium = shutil.which(config.chromium)
    if chromium is None:
        print(f"error: {config.chromium!r} not found; install Chromium (Debian: apt install chromium)", file=sys.stderr)
        return 2
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable,
            "-m",
            "nerfstudio.scripts.train",
            "asmr-image",
            "--vis",
            "viewer",
            "--max-num-iterations",
            str(config.steps),
            "--output-dir",
            scratch,
            "--viewer.websocket-host",
            "127.0.0.1",
            "--viewer.websocket-port",
            str(port),
            "--viewer.quit-on-train-completion",
            "False",
        ]
        command += ["--pipeline.model.viewer-output", config.output]
        for option, value in (
            ("viewer-level", config.level),
            ("viewer-layer", config.layer),
            ("viewer-unit", config.unit),
        ):
            if value is not None:
                command += [f"--pipeline.model.{option}", str(value)]
        if config.data is not None:
            command += ["--data", str(config.data)]
        training = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_line(training, "Training Finished", config.timeout)
            config.out.parent.mkdir(parents=True, exist_ok=True)
            browser = [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-unsafe-swiftshader",
                "--use-angle=swiftshader",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                f"--user-data-dir={scratch}/chromium",
                f"--window-size={config.window[0]},{config.window[1]}",
                f"--virtual-time-budget={int(config.wait * 1000)}",
                f"--screenshot={config.out.resolve()}",
                f"http://127.0.0.1:{port}/",
            ]
            subprocess.run(browser, check=True, capture_output=True, timeout=config.wait * 6 + 60)
        finally:
            training.terminate()
            try:
                training.wait(timeout=30)
            except subprocess.TimeoutExpired:
                training.kill()
    drawn, detail = canvas_is_drawn(config.out)
    print(f"{config.out}: {'image drawn' if drawn else 'BLANK canvas'} ({detail})")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main(tyro.cli(ScreenshotConfig)))
