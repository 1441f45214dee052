"""Framework-free fit loop: Adam, cosine annealing, MSE, full-grid or random-batch steps; divergence
detection, periodic checkpoints, and a stop on SIGINT/SIGTERM that saves the last finished step."""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple

import torch
from jaxtyping import Float
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor

from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, InitName, channel_mean, initialize_output
from asmr_plugin.fitting.cli import Interrupted
from asmr_plugin.fitting.heap import TRIM_EVERY, release_free_heap
from asmr_plugin.metrics import psnr
from asmr_plugin.schedule import PAPER_STEPS, CosineFactor

DIVERGENCE_MARGIN_DB = 1.0
"""A fit whose final PSNR is this far below its first step's has diverged."""
FINITE_CHECK_EVERY = 50
"""Steps between reads of the accumulated finite-loss check on an accelerator."""
EXPLODED_WEIGHT = 1e4
"""A weight this large has exploded (coordinate networks' weights stay near 1: Adam moves each by
about the learning rate per step)."""


class FitDiverged(ValueError):
    """The loss or the weights became non-finite, or the fit ended worse than it started."""


@dataclass
class FitConfig:
    """How to fit a field to a signal (the paper's protocol by default)."""

    steps: int = PAPER_STEPS
    """Optimizer steps."""
    lr: float = 1e-4
    """Initial Adam learning rate."""
    lr_scales: Dict[str, float] = field(default_factory=dict)
    """Learning-rate multipliers of the field's named parameter subsets (``GridField.parameter_groups``)."""
    min_lr: float = 1e-6
    """Learning rate at the end of the cosine schedule."""
    init: InitName = DEFAULT_INIT
    """How ``fit`` starts a field that nothing has initialized yet (``field.initialization`` None, as its
    constructor left it): mean (the output bias at the target's mean) or paper (as built)."""
    batch_size: int | None = None
    """None: the whole grid every step, rendered by activation sharing (Eq. 2). Otherwise the
    number of random grid points per step through the field's forward (ASMR shares each layer's
    work between the points of one cell)."""
    value_range: Tuple[float, float] = (0.0, 1.0)
    """Range of the signal's values: predictions are clamped to it for PSNR, whose data range it sets."""
    seed: int = 0
    """Seed for the batches."""
    progress: bool = True
    """Show a rich progress bar."""
    checkpoint_every: int = 1000
    """Steps between the calls of ``fit``'s ``save`` callback."""

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not all(scale > 0 for scale in self.lr_scales.values()):
            raise ValueError(f"learning-rate scales must be positive, got {self.lr_scales}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (or None for the full grid), got {self.batch_size}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {self.checkpoint_every}")


@dataclass
class FitHistory:
    """What a fit measured: PSNR (dB, clamped predictions) of the whole signal per logged step."""

    steps: List[int] = field(default_factory=list)
    psnr: List[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best_psnr(self) -> float:
        return max(self.psnr)

    @property
    def best_step(self) -> int:
        return self.steps[self.psnr.index(self.best_psnr)]


def progress_bar(enabled: bool) -> Progress:
    """A rich progress bar with a PSNR field (a no-op when disabled)."""
    return Progress(
        TextColumn("[bold]fitting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[psnr]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


@dataclass
class TrainingState:
    """What a fit needs to continue exactly where it stopped (tensors and plain values only, so it
    loads under ``torch.load(weights_only=True)``)."""

    step: int
    """Steps finished."""
    optimization: Dict[str, Any]
    """``AdamCosine.state_dict()``."""
    generator: Tensor
    """The state of the random generator from which the loop goes on drawing."""
    history: Dict[str, List[Any]]
    """What the loop logged so far."""
    seconds: float
    """Training time so far."""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


class AdamCosine:
    """Adam with cosine annealing to ``min_lr`` over ``total_steps``; a non-finite loss stops the fit
    (``FitDiverged``).

    On the CPU the loss is checked before every update. On an accelerator, where reading it would
    stall the queue of kernels each step, the checks accumulate on the device and are read every
    ``FINITE_CHECK_EVERY`` steps and before a state is saved."""

    def __init__(
        self, parameters: Iterable[Tensor] | List[Dict[str, Any]], lr: float, total_steps: int, min_lr: float = 1e-6
    ) -> None:
        self.optimizer = torch.optim.Adam(parameters, lr=lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, CosineFactor(min_lr / lr, total_steps))
        self.steps_taken = 0
        self.all_finite: Tensor | None = None

    def step(self, loss: Tensor) -> int:
        """Back-propagate ``loss``, update, advance the schedule; the number of steps taken so far."""
        finite = torch.isfinite(loss.detach())
        self.all_finite = finite if self.all_finite is None else self.all_finite & finite
        if loss.device.type == "cpu" or (self.steps_taken + 1) % FINITE_CHECK_EVERY == 0:
            self.check_finite()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.steps_taken += 1
        return self.steps_taken

    def check_finite(self) -> None:
        """``FitDiverged`` when a loss since the last check was NaN or infinite."""
        if self.all_finite is not None and not bool(self.all_finite):
            raise FitDiverged(
                f"the fit diverged: the loss became non-finite by step {self.steps_taken + 1}; try a lower --lr"
            )
        self.all_finite = None

    def state_dict(self) -> Dict[str, Any]:
        """What resumes the optimization; ``FitDiverged`` rather than a state after a non-finite loss."""
        self.check_finite()
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "steps_taken": self.steps_taken,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.steps_taken = state["steps_taken"]


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


@contextmanager
def stop_requests() -> Iterator[Callable[[], bool]]:
    """Within the block the first SIGINT or SIGTERM is only noted, so a loop can finish its step,
    save and stop; a second one interrupts at once. Yields whether a stop was requested."""
    if threading.current_thread() is not threading.main_thread():  # signals reach only the main thread
        yield lambda: False
        return
    requested = threading.Event()

    def note(signum: int, frame: Any) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = {number: signal.signal(number, note) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested.is_set
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def after_each_step(
    save: Callable[[int], str] | None, every: int, total: int, on_signals: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yields ``after_step(finished)`` for a loop of ``total`` steps: it calls ``save(finished)``
    every ``every`` steps and, when SIGINT/SIGTERM asked to stop (``on_signals``), saves and raises
    ``Interrupted`` saying where (``save`` returns where it saved; None saves nothing); every
    ``TRIM_EVERY`` steps it gives the freed heap back (see ``heap``)."""
    with stop_requests() if on_signals else nullcontext(lambda: False) as stop_requested:

        def after_step(finished: int) -> None:
            if stop_requested():
                raise Interrupted(save(finished) if save is not None else None)
            if save is not None and finished % every == 0 and finished < total:
                save(finished)
            if finished % TRIM_EVERY == 0:
                release_free_heap()

        yield after_step


def fit(
    field_: GridField,
    target: Float[Tensor, "*shape C"],
    config: FitConfig,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
) -> FitHistory:
    """Fit ``field_`` to ``target`` (already on the field's device) and return the PSNR history.

    Full-grid mode logs the PSNR of every step's prediction (the weights before that step's
    update); random-batch mode renders the whole signal every ``max(1, steps // 100)`` steps.
    The last entry of the history is always the field after the final update.

    A field that nothing has initialized yet starts as ``config.init`` says (the signal's mean by default).
    ``resume`` continues a fit from its saved state (the field already holds its weights), so that
    it ends as an uninterrupted one would. ``save`` (returning where it saved) is called every
    ``config.checkpoint_every`` steps and when SIGINT/SIGTERM stops the fit after its current step,
    which then raises ``Interrupted``. ``FitDiverged`` when the loss becomes non-finite (at once),
    or at the end when a weight passed ``EXPLODED_WEIGHT`` or the PSNR is more than
    ``DIVERGENCE_MARGIN_DB`` below the first step's.
    """
    if resume is None and field_.initialization is None:
        initialize_output(field_, channel_mean(target), config.init)
    shape = tuple(target.shape[:-1])
    generator = torch.Generator(device=target.device).manual_seed(config.seed)
    optimization = AdamCosine(
        field_.parameter_groups(config.lr, config.lr_scales), config.lr, config.steps, config.min_lr
    )
    history = FitHistory()
    logged: List[Tensor] = []
    first_step, seconds_before = 0, 0.0
    if resume is not None:
        optimization.load_state_dict(resume.optimization)
        generator.set_state(resume.generator)
        history.steps = list(resume.history["steps"])
        logged = [torch.tensor(value, device=target.device) for value in resume.history["psnr"]]
        first_step, seconds_before = resume.step, resume.seconds
    low, high = config.value_range
    eval_every = max(1, config.steps // 100)
    sizes = torch.tensor(shape, device=target.device)
    start = time.perf_counter()

    def save_state(step: int) -> str:
        psnr_so_far = torch.stack(logged).tolist() if logged else []
        return save(
            TrainingState(
                step=step,
                optimization=optimization.state_dict(),
                generator=generator.get_state(),
                history={"steps": list(history.steps), "psnr": psnr_so_far},
                seconds=seconds_before + time.perf_counter() - start,
            )
        )

    with (
        progress_bar(config.progress) as progress,
        after_each_step(save_state if save else None, config.checkpoint_every, config.steps) as after_step,
    ):
        task = progress.add_task("fit", total=config.steps, completed=first_step, psnr="")
        for step in range(first_step, config.steps):
            if config.batch_size is None:
                prediction = field_.render(shape)
                loss = torch.nn.functional.mse_loss(prediction, target)
                with torch.no_grad():  # the PSNR of the prediction at hand, without a second render
                    clamped_mse = torch.nn.functional.mse_loss(prediction.clamp(low, high), target)
                logged.append(10 * torch.log10((high - low) ** 2 / clamped_mse))
                history.steps.append(step)
            else:
                coords = (
                    torch.rand(config.batch_size, len(shape), generator=generator, device=target.device) * sizes
                ).floor()
                values = target[tuple(coords.long().unbind(-1))]
                loss = torch.nn.functional.mse_loss(field_(coords), values)
                if step % eval_every == 0:
                    logged.append(evaluate_psnr(field_, target, config.value_range))
                    history.steps.append(step)
            optimization.step(loss)
            if step % 50 == 0 or step == config.steps - 1:
                progress.update(task, completed=step + 1, psnr=f"PSNR {logged[-1].item():.2f} dB")
            after_step(step + 1)
    logged.append(evaluate_psnr(field_, target, config.value_range))
    history.steps.append(config.steps)
    history.seconds = seconds_before + time.perf_counter() - start
    history.psnr = torch.stack(logged).tolist()
    check_converged(field_, history)
    return history


def check_finite_weights(module: torch.nn.Module) -> None:
    """``FitDiverged`` when a weight of ``module`` is non-finite or beyond ``EXPLODED_WEIGHT``."""
    largest = max(parameter.detach().abs().max().item() for parameter in module.parameters())
    if not largest <= EXPLODED_WEIGHT:
        raise FitDiverged(f"the fit diverged: the weights reached {largest:.3g}; try a lower --lr")


def check_converged(field_: GridField, history: FitHistory) -> None:
    """``FitDiverged`` when a weight exploded (or is non-finite) or the fit ended far below where it started."""
    check_finite_weights(field_)
    first, final = history.psnr[0], history.psnr[-1]
    if math.isnan(final) or final < first - DIVERGENCE_MARGIN_DB:
        raise FitDiverged(
            f"the fit diverged: it ended at {final:.2f} dB PSNR, below the {first:.2f} dB it started from; "
            "try a lower --lr"
        )


@torch.no_grad()
def evaluate_psnr(field_: GridField, target: Float[Tensor, "*shape C"], value_range: Tuple[float, float]) -> Tensor:
    """PSNR of the whole rendered signal, clamped to ``value_range``."""
    low, high = value_range
    return psnr(field_.render(tuple(target.shape[:-1])).clamp(low, high), target, high - low)
