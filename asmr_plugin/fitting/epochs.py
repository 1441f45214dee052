"""Random-batch training counted in epochs, for signals too large for full-grid steps, on one or several processes."""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Sequence

import torch
from jaxtyping import Float, Int
from rich.console import Console
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from asmr_plugin.fitting.cli import resume_hint
from asmr_plugin.fitting.distributed import Process
from asmr_plugin.fitting.loop import (
    AdamCosine,
    EpochLoop,
    TrainingState,
    after_each_step,
    check_finite_weights,
    progress_bar,
)
from asmr_plugin.fitting.resume import ResumableFit, check_resumable, finished_results
from asmr_plugin.io.files import check_output_dir, prepare_output_dir, removed_if_empty_on_error


def grid_points(indices: Int[Tensor, "N"], shape: Sequence[int]) -> Float[Tensor, "N D"]:
    """Row-major flat indices of a grid of ``shape`` as coordinates in sample units."""
    return torch.stack(torch.unravel_index(indices, tuple(shape)), dim=-1).float()


def full_steps_per_epoch(count: int, batch: int, world_size: int) -> int:
    """Whole global batches in one pass over ``count`` samples; a ValueError when there is none."""
    if batch < 1 or count < batch * world_size:
        raise ValueError(
            f"--batch {batch} x {world_size} processes must be between 1 and the signal's {count:,} samples"
        )
    return count // (batch * world_size)


@dataclass
class EpochConfig:
    """Random-batch training counted in epochs (passes over every sample)."""

    epochs: float
    """Passes over all samples (fractions allowed)."""
    batch: int
    """Samples per step and process."""
    lr: float
    """Initial Adam learning rate, cosine annealing to 1e-6."""
    seed: int = 0
    progress: bool = True
    checkpoint_every: int = 1000
    """Steps between the calls of the ``save`` callback."""


def fit_epochs(
    model: torch.nn.Module,
    values: Float[Tensor, "N C"],
    shape: Sequence[int],
    config: EpochConfig,
    process: Process,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
) -> Dict[str, Any]:
    """Fit ``values`` (the grid of ``shape``, flattened row-major) with Adam and cosine annealing.

    Each epoch draws a fresh permutation of all samples (the same on every process); a global step
    takes the next ``batch * world_size`` of it, of which each process evaluates its own ``batch``,
    so N processes equal one process with N times the batch. The last partial slice is dropped.

    ``resume`` and ``save`` work as in :func:`~asmr_plugin.fitting.loop.fit` (``save`` on the
    main process only); SIGINT/SIGTERM saves and stops only a single-process run, where no other
    process waits in a collective.
    """
    count = values.shape[0]
    global_batch = config.batch * process.world_size
    steps_per_epoch = full_steps_per_epoch(count, config.batch, process.world_size)
    total_steps = max(1, math.ceil(config.epochs * steps_per_epoch))
    optimization = AdamCosine(model.parameters(), config.lr, total_steps)
    loop = EpochLoop(optimization, config.seed, steps_per_epoch, resume)
    step = loop.first_step
    with (
        progress_bar(config.progress and process.is_main) as progress,
        after_each_step(
            loop.saver(save),
            config.checkpoint_every,
            total_steps,
            on_signals=process.world_size == 1,
        ) as after_step,
    ):
        task = progress.add_task("fit", total=total_steps, completed=step, psnr="")
        while step < total_steps:
            # the same permutation on every process
            permutation = torch.randperm(count, generator=loop.start_epoch(), dtype=torch.int32)
            for first in range(step % steps_per_epoch * global_batch, steps_per_epoch * global_batch, global_batch):
                if step == total_steps:
                    break
                mine = permutation[
                    first + process.rank * config.batch : first + (process.rank + 1) * config.batch
                ].long()
                loss = torch.nn.functional.mse_loss(
                    model(grid_points(mine, shape).to(process.device)), values[mine].to(process.device)
                )
                step = optimization.step(loss)
                if step % 20 == 0 or step == total_steps:
                    loop.losses.append((step, loss.item()))
                    progress.update(
                        task, completed=step, psnr=f"batch PSNR {-10 * math.log10(max(loss.item(), 1e-12)):.2f} dB"
                    )
                after_step(step)
    check_finite_weights(model)
    return {
        "steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "seconds": loop.seconds,
        "losses": loop.losses,
    }


def fit_on_processes(
    field: torch.nn.Module,
    values: Float[Tensor, "N C"],
    shape: Sequence[int],
    config: EpochConfig,
    process: Process,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
) -> Dict[str, Any]:
    """``fit_epochs`` of ``field``, wrapped in DistributedDataParallel when several processes run."""
    model = DistributedDataParallel(field) if process.world_size > 1 else field
    return fit_epochs(model, values, shape, config, process, resume, save if process.is_main else None)


def fit_into(
    out: Path,
    config: Any,
    field: torch.nn.Module,
    values: Float[Tensor, "N C"],
    shape: Sequence[int],
    lr: float,
    process: Process,
    metadata: Dict[str, Any],
    announce: str,
    write: Callable[[Dict[str, Any]], Dict[str, Any]],
    console: Console,
) -> Dict[str, Any] | None:
    """``fit_on_processes`` with the options of ``config`` (epochs, batch, seed, progress, resume
    and checkpoints into ``out``), then ``write(history)`` on the main process, which returns its
    results; a finished run given ``--resume`` returns its results.json. ``out`` is created on the
    main process and removed again if the run fails before saving anything; other processes get None."""
    out = check_output_dir(out, config.overwrite, config.resume)
    check_resumable(config, out)
    with removed_if_empty_on_error(out) if process.is_main else nullcontext(), resume_hint(out):
        previous = finished_results(config, out)
        if previous is not None:
            return previous if process.is_main else None
        if process.is_main:
            prepare_output_dir(out, config.overwrite, config.resume)
            console.print(announce)
        epochs = EpochConfig(config.epochs, config.batch, lr, config.seed, config.progress, config.checkpoint_every)
        resumable = ResumableFit(out / "checkpoint.pt", field, tuple(shape), config, metadata)
        with resumable.removed_if_diverged():
            history = fit_on_processes(field, values, shape, epochs, process, resumable.resumed, resumable.save)
        return write(history) if process.is_main else None
