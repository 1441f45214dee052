"""Framework-free fit loop: Adam, cosine annealing, MSE, full-grid or random-batch steps; divergence
detection, periodic checkpoints, and a stop on SIGINT/SIGTERM that saves the last finished step."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Tuple

import torch
from jaxtyping import Float
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor

from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, InitName, SignalKind, channel_mean, initialize_output
from asmr_plugin.metrics import psnr
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.interrupts import after_each_step
from asmr_plugin.training.optimization import FINAL_LR, AdamCosine, FitDiverged, check_finite_weights
from asmr_plugin.training.step import GraphMode, capture_allowed, graph_wanted, make_step

DIVERGENCE_MARGIN_DB = 1.0
"""A fit whose final PSNR is this far below its first step's has diverged."""


@dataclass
class FitConfig:
    """How to fit a field to a signal (the paper's protocol by default)."""

    steps: int = PAPER_STEPS
    """Optimizer steps."""
    lr: float = 1e-4
    """Initial Adam learning rate."""
    lr_scales: Dict[str, float] = field(default_factory=dict)
    """Learning-rate multipliers of the field's named parameter subsets (``GridField.parameter_groups``)."""
    min_lr: float = FINAL_LR
    """Learning rate at the end of the cosine schedule."""
    init: InitName = DEFAULT_INIT
    """How ``fit`` starts a field that nothing has initialized yet (``field.initialization`` None, as its
    constructor left it): mean (the output bias at the target's mean) or paper (as built)."""
    signal: SignalKind = "image"
    """The kind of signal fitted: which of the network's ``--init mean`` gains applies."""
    batch: int | None = None
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
    graph: GraphMode = "auto"
    """Record each step as one CUDA graph and replay it (auto: on CUDA); steps that cannot be recorded
    (ASMR's random batches share cells through ``torch.unique``) run eagerly."""

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.lr < self.min_lr:
            raise ValueError(f"lr {self.lr:g} is below min_lr {self.min_lr:g}, where the cosine schedule ends")
        if not all(scale > 0 for scale in self.lr_scales.values()):
            raise ValueError(f"learning-rate scales must be positive, got {self.lr_scales}")
        if self.batch is not None and self.batch < 1:
            raise ValueError(f"batch must be at least 1 (or None for the full grid), got {self.batch}")
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
    graph = graph_wanted(config.graph, target.device)
    if resume is None and field_.initialization is None:
        initialize_output(field_, channel_mean(target), config.init, config.signal)
    shape = tuple(target.shape[:-1])
    generator = torch.Generator(device=target.device).manual_seed(config.seed)
    full_grid = config.batch is None
    graph = capture_allowed(graph, field_.capture_obstacle(full_grid))
    optimization = AdamCosine(
        field_.parameter_groups(config.lr, config.lr_scales), config.lr, config.steps, config.min_lr, graph
    )
    step_on = make_step(
        grid_loss(field_, target, config.value_range) if full_grid else batch_loss(field_, target), optimization
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
            if full_grid:
                _, step_psnr = step_on()
                logged.append(step_psnr.clone())  # the step's outputs are overwritten by the next replay
                history.steps.append(step)
            else:
                if step % eval_every == 0:
                    logged.append(evaluate_psnr(field_, target, config.value_range))
                    history.steps.append(step)
                step_on(
                    (torch.rand(config.batch, len(shape), generator=generator, device=target.device) * sizes).floor()
                )
            if step % 50 == 0 or step == config.steps - 1:
                progress.update(task, completed=step + 1, psnr=f"PSNR {logged[-1].item():.2f} dB")
            after_step(step + 1)
    optimization.check_finite()
    logged.append(evaluate_psnr(field_, target, config.value_range))
    history.steps.append(config.steps)
    history.seconds = seconds_before + time.perf_counter() - start
    history.psnr = torch.stack(logged).tolist()
    check_converged(field_, history)
    return history


def grid_loss(
    field_: GridField, target: Float[Tensor, "*shape C"], value_range: Tuple[float, float]
) -> Callable[[], Tuple[Tensor, Tensor]]:
    """A full-grid step's loss: the MSE of the whole rendered grid, and the PSNR of that prediction
    clamped to ``value_range`` (logged without a second render)."""
    low, high = value_range
    shape = tuple(target.shape[:-1])

    def loss() -> Tuple[Tensor, Tensor]:
        prediction = field_.render(shape)
        with torch.no_grad():
            clamped_mse = torch.nn.functional.mse_loss(prediction.clamp(low, high), target)
        return torch.nn.functional.mse_loss(prediction, target), 10 * torch.log10((high - low) ** 2 / clamped_mse)

    return loss


def batch_loss(field_: GridField, target: Float[Tensor, "*shape C"]) -> Callable[[Tensor], Tuple[Tensor, Tensor]]:
    """A random-batch step's loss: the MSE at the grid points ``coords`` (sample units, whole numbers)."""

    def loss(coords: Float[Tensor, "N D"]) -> Tuple[Tensor, Tensor]:
        mse = torch.nn.functional.mse_loss(field_(coords), target[tuple(coords.long().unbind(-1))])
        return mse, mse.detach()

    return loss


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
