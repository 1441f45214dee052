#!/usr/bin/env python
"""Export a checkpoint written by fit_image.py as a TorchScript file that renders on its own.

python scripts/export.py --checkpoint outputs/fit_image/camera-asmr-<time>/checkpoint.pt --out camera.ts
python -c "import torch; image = torch.jit.load('camera.ts')()"   # [H, W, C], only PyTorch needed
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asmr_plugin.export import export_render
from asmr_plugin.fitting.cli import run_cli
from asmr_plugin.io.checkpoint import load_checkpoint


@dataclass
class ExportConfig:
    """Export a trained field's full render as TorchScript."""

    checkpoint: Path
    """A checkpoint.pt written by scripts/fit_image.py."""
    out: Path
    """The TorchScript file to write."""
    overwrite: bool = False
    """Replace --out if it exists."""


def export(config: ExportConfig) -> None:
    if config.out.exists() and not config.overwrite:
        raise ValueError(f"--out {config.out} exists; choose another path or pass --overwrite")
    if config.out.exists() and not config.out.is_file():
        raise ValueError(f"--out {config.out} exists and is not a file")
    checkpoint = load_checkpoint(config.checkpoint)
    export_render(checkpoint.field, checkpoint.signal_shape, config.out)
    print(f"{config.out}: renders {checkpoint.model} at {checkpoint.signal_shape}")


if __name__ == "__main__":
    run_cli(ExportConfig, export, __doc__)
