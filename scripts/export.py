#!/usr/bin/env python
"""Export a checkpoint written by fit_image.py as a TorchScript file that renders on its own.

python scripts/export.py --checkpoint outputs/fit_image/camera-asmr-<time>/checkpoint.pt --out camera.ts
python -c "import torch; image = torch.jit.load('camera.ts')()"   # [H, W, C], only PyTorch needed
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import tyro

from asmr_plugin.export import export_render
from asmr_plugin.fitting.checkpoint import load_checkpoint


@dataclass
class ExportConfig:
    """Export a trained field's full render as TorchScript."""

    checkpoint: Path
    """A checkpoint.pt written by scripts/fit_image.py."""
    out: Path
    """The TorchScript file to write."""
    overwrite: bool = False
    """Replace --out if it exists."""


def main(config: ExportConfig) -> int:
    if config.out.exists() and not config.overwrite:
        print(f"error: --out {config.out} exists; choose another path or pass --overwrite", file=sys.stderr)
        return 2
    try:
        checkpoint = load_checkpoint(config.checkpoint)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    export_render(checkpoint.field, checkpoint.signal_shape, config.out)
    print(f"{config.out}: renders {checkpoint.model} at {checkpoint.signal_shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(ExportConfig)))
