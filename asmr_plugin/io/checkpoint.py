"""Checkpoints: the field's class and arguments, its weights and the signal's shape, in one file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from asmr_plugin.fields import FIELDS, GridField
from asmr_plugin.io.files import atomic_path, check_input

FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A trained field and the signal it was fitted to."""

    field: GridField
    model: str
    signal_shape: Tuple[int, ...]
    step: int
    metadata: Dict[str, Any]


def save_checkpoint(
    path: Path, field: GridField, signal_shape: Tuple[int, ...], step: int, metadata: Dict[str, Any] | None = None
) -> None:
    """Write the checkpoint atomically (a temporary file beside ``path``, then a rename)."""
    model = next((name for name, cls in FIELDS.items() if type(field) is cls), None)
    if model is None:
        raise ValueError(f"{type(field).__name__} is not a registered field ({', '.join(FIELDS)})")
    payload = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "init_kwargs": field.init_kwargs,
        "state_dict": field.state_dict(),
        "signal_shape": list(signal_shape),
        "step": step,
        "metadata": metadata or {},
    }
    with atomic_path(path) as temporary:
        try:
            torch.save(payload, temporary)
        except RuntimeError as error:  # torch's writer reports a short write (a full disk, a file size limit) so
            raise OSError(
                f"checkpoint {path} could not be written ({str(error).splitlines()[0]}): is the disk full? "
                "The previous checkpoint, if any, is kept"
            ) from None


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the field of a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a folder; give the checkpoint.pt file in it")
    check_input(path, "checkpoint")  # missing, a link loop, a pipe
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (0 bytes): the run that wrote it did not finish writing")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file; its advice does not apply here
        raise ValueError(
            f"{path} is not a readable asmr-plugin checkpoint (damaged, or written by another program; torch raised "
            f"{type(error).__name__}); use the checkpoint.pt that asmr-fit wrote"
        ) from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not an asmr-plugin checkpoint of format version {FORMAT_VERSION}")
    if payload.get("model") not in FIELDS:
        raise ValueError(f"{path}: unknown model {payload.get('model')!r} (expected one of {', '.join(FIELDS)})")
    try:
        field = FIELDS[payload["model"]](**payload["init_kwargs"])
        field.load_state_dict(payload["state_dict"])
        field.initialization = "checkpoint"
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path} does not hold a valid {payload['model']} network: {error}") from error
    return Checkpoint(
        field=field.to(map_location),
        model=payload["model"],
        signal_shape=tuple(payload["signal_shape"]),
        step=payload["step"],
        metadata=payload["metadata"],
    )
