"""Checkpoints: the field's class and arguments, its weights and the signal's shape, in one file."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import torch
from torch import Tensor

from asmr_plugin.fields import FIELDS, GridField
from asmr_plugin.fitting.files import atomic_path
from asmr_plugin.fitting.trainer import FitConfig, FitDiverged, FitHistory, TrainingState, fit

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
        torch.save(payload, temporary)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the field of a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise ValueError(f"{path} is not a readable asmr-plugin checkpoint: {error}") from error
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not an asmr-plugin checkpoint of format version {FORMAT_VERSION}")
    if payload.get("model") not in FIELDS:
        raise ValueError(f"{path}: unknown model {payload.get('model')!r} (expected one of {', '.join(FIELDS)})")
    try:
        field = FIELDS[payload["model"]](**payload["init_kwargs"])
        field.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path} does not hold a valid {payload['model']} network: {error}") from error
    return Checkpoint(
        field=field.to(map_location),
        model=payload["model"],
        signal_shape=tuple(payload["signal_shape"]),
        step=payload["step"],
        metadata=payload["metadata"],
    )


RUN_ONLY_OPTIONS = ("out", "overwrite", "resume", "progress", "device", "checkpoint_every")
"""Options that do not change what a fit computes: a resumed run may change them."""


def fit_options(config: Any) -> Dict[str, Any]:
    """The options of a run (a dataclass) that a resumed run must repeat, as plain values."""
    return {
        key: str(value) if isinstance(value, Path) else value
        for key, value in asdict(config).items()
        if key not in RUN_ONLY_OPTIONS
    }


def save_training_checkpoint(
    path: Path,
    field: GridField,
    signal_shape: Tuple[int, ...],
    config: Any,
    metadata: Dict[str, Any],
    state: TrainingState,
) -> str:
    """A checkpoint that ``--resume`` continues from; returns what was saved where."""
    save_checkpoint(
        path, field, signal_shape, state.step, {**metadata, "options": fit_options(config), "training": state.as_dict()}
    )
    return f"step {state.step} saved to {path}"


def load_training_state(path: Path, field: GridField, config: Any) -> TrainingState:
    """Load the weights of a checkpoint written by :func:`save_training_checkpoint` into ``field``
    and return its training state; a ValueError when it was written with other options."""
    checkpoint = load_checkpoint(path)
    saved = checkpoint.metadata.get("options")
    if "training" not in checkpoint.metadata or saved is None:
        raise ValueError(f"--resume: {path} holds no training state (written by an older version?)")
    changed = {key: (saved.get(key), value) for key, value in fit_options(config).items() if saved.get(key) != value}
    if changed:
        details = ", ".join(f"--{key.replace('_', '-')} {old!r} -> {new!r}" for key, (old, new) in changed.items())
        raise ValueError(f"--resume: {path} was written with other options ({details}); resume with the same ones")
    field.load_state_dict(checkpoint.field.state_dict())
    return TrainingState(**checkpoint.metadata["training"])


def check_resumable(config: Any, out: Path, checkpoints: str = "checkpoint.pt") -> None:
    """With ``--resume``, a ValueError unless ``out`` holds a checkpoint (the glob ``checkpoints``)."""
    if config.resume and not any(Path(out).glob(checkpoints)):
        raise ValueError(f"--resume: --out {out} holds no {checkpoints} to continue from")


def finished_results(config: Any, out: Path) -> Dict[str, Any] | None:
    """With ``--resume``, the results.json of a fit in ``out`` that already finished (written last), else None."""
    results = Path(out) / "results.json"
    return json.loads(results.read_text()) if config.resume and results.is_file() else None


class ResumableFit:
    """The checkpoint of one fit in ``path``: the state to continue from (with ``config.resume``),
    a ``save`` callback for the fit loop, and the removal of this run's own checkpoints when the
    fit diverges (a fit resumed from an earlier run keeps them)."""

    def __init__(
        self, path: Path, field: GridField, signal_shape: Tuple[int, ...], config: Any, metadata: Dict[str, Any]
    ) -> None:
        self.path, self.field, self.signal_shape = Path(path), field, tuple(signal_shape)
        self.config, self.metadata = config, metadata
        self.resumed = load_training_state(self.path, field, config) if config.resume and self.path.is_file() else None
        self.saved = False

    def save(self, state: TrainingState) -> str:
        self.saved = True
        return save_training_checkpoint(self.path, self.field, self.signal_shape, self.config, self.metadata, state)

    @contextmanager
    def removed_if_diverged(self) -> Iterator[None]:
        try:
            yield
        except FitDiverged:
            if self.saved and self.resumed is None:
                self.path.unlink(missing_ok=True)
            raise


def fit_resumable(
    field: GridField, target: Tensor, fit_config: FitConfig, checkpoint: Path, config: Any, metadata: Dict[str, Any]
) -> FitHistory:
    """``fit`` that saves its training state to ``checkpoint`` (periodically and on SIGINT/SIGTERM)
    and, with ``config.resume``, continues from it (see :class:`ResumableFit`)."""
    resumable = ResumableFit(checkpoint, field, tuple(target.shape[:-1]), config, metadata)
    with resumable.removed_if_diverged():
        return fit(field, target, fit_config, resumable.resumed, resumable.save)
