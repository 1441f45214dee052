"""Self-contained TorchScript files of trained fields: render without this package's code."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import torch
from torch import Tensor, nn

from asmr_plugin.fields.base import GridField
from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.io.files import atomic_path


class _Render(nn.Module):
    """forward() -> the field's ``render(shape)``."""

    def __init__(self, field: GridField, shape: Tuple[int, ...]) -> None:
        super().__init__()
        self.field, self.shape = field, shape

    def forward(self) -> Tensor:
        return self.field.render(self.shape)


@torch.no_grad()
def export_render(field: GridField, shape: Tuple[int, ...], path: Path) -> None:
    """Trace ``field.render(shape)`` on the CPU and save it as TorchScript, atomically.

    ``torch.jit.load(path)()`` then returns the ``[*shape, C]`` signal with only PyTorch
    installed. Activation sharing and the fused last layer are kept; the grid is fixed.
    """
    field = field.eval().cpu().requires_grad_(False)  # the file's output is a plain tensor (.numpy() works)
    with warnings.catch_warnings():  # tracing's deprecation notice and its constant-folding of the grid
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(_Render(field, tuple(shape)), example_inputs=(), check_trace=False)
    buffer = io.BytesIO()  # serialized in memory: a full disk is then an OSError of the write, not an abort in C++
    torch.jit.save(traced, buffer)
    with atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())


@dataclass
class ExportConfig:
    """Export a trained field's full render as TorchScript."""

    checkpoint: Path
    """A checkpoint.pt written by one of the fits (asmr-fit image, ...)."""
    out: Path
    """The TorchScript file to write."""
    overwrite: bool = False
    """Replace --out if it exists."""


def export(config: ExportConfig) -> None:
    """Write ``config.out`` from ``config.checkpoint``; a ValueError names a bad option."""
    if config.out.exists() and config.checkpoint.exists() and config.out.resolve() == config.checkpoint.resolve():
        raise ValueError(f"--out {config.out} is --checkpoint {config.checkpoint}: the export would replace its input")
    existing = next(folder for folder in Path(config.out).resolve().parents if folder.exists())
    if not existing.is_dir():
        raise ValueError(f"--out {config.out}: {existing} is a file, not a directory")
    if config.out.exists() and not config.overwrite:
        raise ValueError(f"--out {config.out} exists; choose another path or pass --overwrite")
    if config.out.exists() and not config.out.is_file():
        raise ValueError(f"--out {config.out} exists and is not a file")
    checkpoint = load_checkpoint(config.checkpoint)
    if "latent_map" in checkpoint.metadata:
        raise ValueError(
            f"--checkpoint {config.checkpoint} is a meta-learning checkpoint: its network renders an image only with "
            "a latent of that image, which a render without inputs cannot take; export a fit's checkpoint"
        )
    export_render(checkpoint.field, checkpoint.signal_shape, config.out)
    print(f"{config.out}: renders {checkpoint.model} at {checkpoint.signal_shape}")
