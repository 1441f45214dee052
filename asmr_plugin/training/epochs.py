"""Random-batch training counted in epochs, for signals too large for full-grid steps, on one or several processes."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Sequence, Tuple

import torch
from jaxtyping import Float, Int
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from asmr_plugin.training.distributed import Process
from asmr_plugin.training.interrupts import after_each_step
from asmr_plugin.training.loop import TrainingState, progress_bar
from asmr_plugin.training.optimization import AdamCosine, FitDiverged, check_finite_weights
from asmr_plugin.training.step import GraphMode, LossFunction, capture_allowed, graph_wanted, make_step


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
    graph: GraphMode = "auto"
    """Record each step as one CUDA graph (see ``training.step``)."""


class EpochLoop:
    """What an epoch-counted fit loop carries from step to step and saves to resume exactly: Adam
    with its schedule, a CPU generator drawn from at each epoch's start (a permutation, a point
    sample), the logged (step, loss) pairs and the time spent."""

    def __init__(
        self, optimization: AdamCosine, seed: int, steps_per_epoch: int, resume: TrainingState | None = None
    ) -> None:
        self.optimization, self.steps_per_epoch = optimization, steps_per_epoch
        self.generator = torch.Generator().manual_seed(seed)
        self.first_step, self.losses, self.seconds_before = 0, [], 0.0
        if resume is not None:
            optimization.load_state_dict(resume.optimization)
            self.generator.set_state(resume.generator)
            self.first_step, self.seconds_before = resume.step, resume.seconds
            self.losses = [tuple(pair) for pair in resume.history["losses"]]
        self.epoch_start = self.generator.get_state()
        self.start = time.perf_counter()

    def start_epoch(self) -> torch.Generator:
        """The generator to draw this epoch's samples from."""
        self.epoch_start = self.generator.get_state()
        return self.generator

    @property
    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.start

    def saver(self, save: Callable[[TrainingState], str] | None) -> Callable[[int], str] | None:
        """``save`` of the state after a number of finished steps (None: nothing is saved)."""
        return None if save is None else lambda finished: save(self.state(finished))

    def state(self, finished: int) -> TrainingState:
        """The state after ``finished`` steps: a resumed run redraws this epoch (or draws the next
        one when this one is done) and goes on from step ``finished``."""
        done = finished % self.steps_per_epoch == 0
        return TrainingState(
            step=finished,
            optimization=self.optimization.state_dict(),
            generator=self.generator.get_state() if done else self.epoch_start,
            history={"losses": [list(pair) for pair in self.losses]},
            seconds=self.seconds,
        )


@dataclass
class EpochPlan:
    """What one epoch-counted fit repeats: the batches of an epoch, and the step's loss on one batch."""

    steps_per_epoch: int
    total_steps: int
    batches: Callable[[torch.Generator, int], Iterator[Tuple[Tensor, ...]]]
    """``batches(generator, first)``: the epoch's batches from its ``first`` step on, on the device; the
    epoch's random draws come from ``generator``."""
    loss: LossFunction
    """``loss(*batch) -> (loss, logged)``."""
    describe: Callable[[float], str]
    """The progress bar's text for a step's loss."""
    log_every: int = 20
    """Steps between the (step, loss) entries of the log."""


def train_epochs(
    plan: EpochPlan,
    parameters: Iterable[Tensor],
    config: EpochConfig,
    graph: bool,
    progress: bool,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
    on_signals: bool = True,
) -> EpochLoop:
    """Adam with cosine annealing over ``plan``'s epochs, one step per batch (graphed when ``graph``);
    ``resume`` and ``save`` work as in :func:`~asmr_plugin.training.loop.fit`; SIGINT/SIGTERM saves and
    stops when ``on_signals``. Returns the loop: its log and time."""
    optimization = AdamCosine(parameters, config.lr, plan.total_steps, graphable=graph)
    loop = EpochLoop(optimization, config.seed, plan.steps_per_epoch, resume)
    step_on, step = make_step(plan.loss, optimization), loop.first_step
    with (
        progress_bar(progress) as bar,
        after_each_step(loop.saver(save), config.checkpoint_every, plan.total_steps, on_signals) as after_step,
    ):
        task = bar.add_task("fit", total=plan.total_steps, completed=step, psnr="")
        while step < plan.total_steps:
            for batch in plan.batches(loop.start_epoch(), step % plan.steps_per_epoch):
                if step == plan.total_steps:
                    break
                loss, _ = step_on(*batch)
                step = optimization.steps_taken
                if step % plan.log_every == 0 or step in (1, plan.total_steps):
                    loop.losses.append((step, loss.item()))
                    bar.update(task, completed=step, psnr=plan.describe(loss.item()))
                after_step(step)
    optimization.check_finite()
    check_losses_converged(loop.losses)
    return loop


BATCH_DIVERGENCE_FACTOR = 10.0
"""A fit counted in epochs has diverged when the median of its last three logged batch losses is this many times
the median of its first three (batch losses are noisy: a factor, not the full-grid fits' 1 dB)."""


def check_losses_converged(losses: Sequence[Tuple[int, float]]) -> None:
    """``FitDiverged`` when the batch losses ended ``BATCH_DIVERGENCE_FACTOR`` times above where they started (runs
    with fewer than six logged losses are not judged)."""
    if len(losses) < 6:
        return
    first, final = (statistics.median(loss for _, loss in part) for part in (losses[:3], losses[-3:]))
    if not final <= first * BATCH_DIVERGENCE_FACTOR:
        raise FitDiverged(
            f"the fit diverged: its batch loss ended at {final:.4g}, {final / first:.0f}x where it started "
            f"({first:.4g}); try a lower --lr"
        )


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

    ``resume`` and ``save`` work as in :func:`~asmr_plugin.training.loop.fit` (``save`` on the
    main process only); SIGINT/SIGTERM saves and stops only a single-process run, where no other
    process waits in a collective.
    """
    count = values.shape[0]
    global_batch = config.batch * process.world_size
    steps_per_epoch = full_steps_per_epoch(count, config.batch, process.world_size)
    total_steps = max(1, math.ceil(config.epochs * steps_per_epoch))

    def batches(generator: torch.Generator, first_step: int) -> Iterator[Tuple[Tensor, Tensor]]:
        permutation = torch.randperm(count, generator=generator, dtype=torch.int32)  # the same on every process
        for first in range(first_step * global_batch, steps_per_epoch * global_batch, global_batch):
            mine = permutation[first + process.rank * config.batch : first + (process.rank + 1) * config.batch].long()
            yield grid_points(mine, shape).to(process.device), values[mine].to(process.device)

    def loss(coords: Float[Tensor, "B D"], batch_values: Float[Tensor, "B C"]) -> Tuple[Tensor, Tensor]:
        mse = torch.nn.functional.mse_loss(model(coords), batch_values)
        return mse, mse.detach()

    plan = EpochPlan(
        steps_per_epoch,
        total_steps,
        batches,
        loss,
        lambda mse: f"batch PSNR {-10 * math.log10(max(mse, 1e-12)):.2f} dB",
    )
    graph = graph_wanted(config.graph, process.device)
    if graph:  # a plain module states no obstacle of its own
        field = model.module if isinstance(model, DistributedDataParallel) else model
        obstacle = getattr(field, "capture_obstacle", lambda full_grid: None)(full_grid=False)
        graph = capture_allowed(
            graph, "data-parallel runs all-reduce in DDP's hooks" if process.world_size > 1 else obstacle
        )
    loop = train_epochs(
        plan,
        model.parameters(),
        config,
        graph,
        config.progress and process.is_main,
        resume,
        save,
        on_signals=process.world_size == 1,
    )
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
