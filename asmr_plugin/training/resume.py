"""Resumable fits: checkpoints that carry the training state, the options they were made with, and
the continuation of an interrupted run (``--resume``)."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint
from asmr_plugin.training.loop import FitConfig, FitDiverged, FitHistory, TrainingState, fit

RUN_ONLY_OPTIONS = ("out", "overwrite", "resume", "progress", "device", "checkpoint_every", "graph")
"""Options that do not change what a fit computes: a resumed run may change them."""


def fit_options(config: Any) -> Dict[str, Any]:
    """The options of a run (a dataclass) that a resumed run must repeat, as plain values (paths resolved)."""
    return {
        key: str(Path(value).resolve()) if isinstance(value, Path) else value
        for key, value in asdict(config).items()
        if key not in RUN_ONLY_OPTIONS
    }


def content_hash(path: Path) -> str | None:
    """SHA-256 of a file, or of a folder's files (names and bytes, in name order); None for what is not on disk
    (e.g. a generated default signal)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else "").encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def same_paths(saved: Any, given: Any) -> bool:
    """Whether two recorded paths name the same file (a relative one resolved against the working folder)."""
    return saved is not None and given is not None and Path(saved).resolve() == Path(given).resolve()


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


OPTIONS_BEFORE_THEY_EXISTED = {"init": "paper"}
"""What checkpoints written before an option existed were trained with."""
RENAMED_OPTIONS = {"batch_size": "batch"}
"""Options that checkpoints of earlier versions name otherwise."""
FORMER_DEFAULTS = {"audio": {"lr": 1e-4}, "occupancy": {"lr": 1e-4, "hidden_dim": 256}}
"""Per signal kind, defaults that became None (resolved per network since the dense grid came): what runs of earlier
versions recorded, and what None still resolves to for every network those versions had."""


def check_same_fit(
    saved: Dict[str, Any], recorded_hash: str | None, config: Any, data_hash: str | None, where: Path
) -> None:
    """A ValueError when the fit recorded in ``where`` (its options ``saved`` and its data's ``content_hash``) is not
    the one ``config`` asks for on data of ``data_hash``; the same data by another path is the same fit."""
    saved = {**OPTIONS_BEFORE_THEY_EXISTED, **{RENAMED_OPTIONS.get(key, key): value for key, value in saved.items()}}
    for key, former in FORMER_DEFAULTS.get(getattr(config, "signal_kind", ""), {}).items():
        if saved.get(key) == former and getattr(config, key) is None:
            saved[key] = None
    paths = {key for key, value in asdict(config).items() if isinstance(value, Path) and key not in RUN_ONLY_OPTIONS}
    changed = {
        key: (saved.get(key), value)
        for key, value in fit_options(config).items()
        if saved.get(key) != value and not (key in paths and same_paths(saved.get(key), value))
    }
    if recorded_hash is not None and data_hash is not None:
        if recorded_hash != data_hash:
            raise ValueError(
                f"--resume: the data differ from what {where} was made from (their content changed); "
                "resume with the same data, or start a new run"
            )
        changed = {key: values for key, values in changed.items() if key not in paths}  # moved, same content
    if changed:
        details = ", ".join(f"--{key.replace('_', '-')} {old!r} -> {new!r}" for key, (old, new) in changed.items())
        raise ValueError(f"--resume: {where} was written with other options ({details}); resume with the same ones")


def load_training_state(path: Path, field: GridField, config: Any, data_hash: str | None = None) -> TrainingState:
    """Load the weights of a checkpoint written by :func:`save_training_checkpoint` into ``field``
    and return its training state; a ValueError when it was written with other options or data (``check_same_fit``)."""
    checkpoint = load_checkpoint(path)
    saved = checkpoint.metadata.get("options")
    if "training" not in checkpoint.metadata or saved is None:
        raise ValueError(f"--resume: {path} holds no training state (written by an older version?)")
    check_same_fit(saved, checkpoint.metadata.get("data_sha256"), config, data_hash, path)
    field.load_state_dict(checkpoint.field.state_dict())
    return TrainingState(**checkpoint.metadata["training"])


def check_resumable(config: Any, out: Path, checkpoints: str = "checkpoint.pt") -> None:
    """With ``--resume``, a ValueError unless ``out`` holds a checkpoint (the glob ``checkpoints``)."""
    if config.resume and not any(Path(out).glob(checkpoints)):
        raise ValueError(f"--resume: --out {out} holds no {checkpoints} to continue from")


def finished_results(config: Any, out: Path, data: Path | None = None) -> Dict[str, Any] | None:
    """With ``--resume``, the results.json of a fit in ``out`` that already finished (written last), else None; a
    ValueError when that fit had other options or data (``data``: what this run fits, None for a generated signal)."""
    path = Path(out) / "results.json"
    if not (config.resume and path.is_file()):
        return None
    results = json.loads(path.read_text())
    saved = {key: value for key, value in results.get("config", {}).items() if key not in RUN_ONLY_OPTIONS}
    check_same_fit(saved, results.get("data_sha256"), config, None if data is None else content_hash(data), path)
    return results


class ResumableFit:
    """The checkpoint of one fit in ``path``: the state to continue from (with ``config.resume``),
    a ``save`` callback for the fit loop, and the removal of this run's own checkpoints when the
    fit diverges (a fit resumed from an earlier run keeps them)."""

    def __init__(
        self, path: Path, field: GridField, signal_shape: Tuple[int, ...], config: Any, metadata: Dict[str, Any]
    ) -> None:
        self.path, self.field, self.signal_shape = Path(path), field, tuple(signal_shape)
        source = metadata.get("data")
        data_hash = content_hash(source) if source is not None else None
        self.config, self.metadata = config, {**metadata, "data_sha256": data_hash}
        resumed = config.resume and self.path.is_file()
        self.resumed = load_training_state(self.path, field, config, data_hash) if resumed else None
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
