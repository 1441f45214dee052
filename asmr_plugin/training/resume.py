"""Resumable fits: checkpoints that carry the training state, and the continuation of an interrupted fit. What makes
two fits the same one (options, data) is the caller's to check (``SameFitCheck``)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, Mapping, Tuple

from torch import nn

from asmr_plugin.fields import GridField
from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint
from asmr_plugin.training.loop import FitDiverged, TrainingState

SameFitCheck = Callable[[Dict[str, object], "str | None", Path], None]
"""``check(saved_options, recorded_data_sha256, where)``: a ValueError when the fit saved in ``where`` is not the one
being resumed."""


def load_training_state(
    path: Path, field: GridField, check: SameFitCheck, modules: Mapping[str, nn.Module] | None = None
) -> TrainingState:
    """Load the weights of a checkpoint written by :class:`ResumableFit` into ``field`` (and ``modules``) and return
    its training state, once ``check`` accepts the options and data it was made with."""
    checkpoint = load_checkpoint(path)
    saved = checkpoint.metadata.get("options")
    if "training" not in checkpoint.metadata or saved is None:
        raise ValueError(f"--resume: {path} holds no training state (written by an older version?)")
    check(saved, checkpoint.metadata.get("data_sha256"), path)
    field.load_state_dict(checkpoint.field.state_dict())
    for name, module in (modules or {}).items():
        module.load_state_dict(checkpoint.metadata["modules"][name])
    return TrainingState(**checkpoint.metadata["training"])


class ResumableFit:
    """The checkpoint of one fit in ``path``: the state to continue from (when ``resume`` and one is there), a
    ``save`` callback for the fit loop, and the removal of this run's own checkpoints when the fit diverges (a fit
    resumed from an earlier run keeps them). ``metadata`` goes into every checkpoint (with the options and data hash
    that ``check`` compares); ``modules`` trained beside the field (meta-learning's latent map) are saved and restored
    with it."""

    def __init__(
        self,
        path: Path,
        field: GridField,
        signal_shape: Tuple[int, ...],
        metadata: Dict[str, object],
        resume: bool,
        check: SameFitCheck,
        modules: Mapping[str, nn.Module] | None = None,
    ) -> None:
        self.path, self.field, self.signal_shape = Path(path), field, tuple(signal_shape)
        self.metadata, self.modules = metadata, dict(modules or {})
        resumable = resume and self.path.is_file()
        self.resumed = load_training_state(self.path, field, check, self.modules) if resumable else None
        self.saved = False

    def save(self, state: TrainingState) -> str:
        """Save the training state; returns what was saved where."""
        self.saved = True
        metadata = {**self.metadata, "training": state.as_dict()}
        if self.modules:
            metadata["modules"] = {name: module.state_dict() for name, module in self.modules.items()}
        save_checkpoint(self.path, self.field, self.signal_shape, state.step, metadata)
        return f"step {state.step} saved to {self.path}"

    @contextmanager
    def removed_if_diverged(self) -> Iterator[None]:
        try:
            yield
        except FitDiverged:
            if self.saved and self.resumed is None:
                self.path.unlink(missing_ok=True)
            raise
