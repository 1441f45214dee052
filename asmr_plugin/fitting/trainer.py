"""Framework-free fit loop: Adam, cosine annealing, MSE, full-grid or random-batch steps."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterable, List, Tuple

import torch
from jaxtyping import Float
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor

from asmr_plugin.fields.base import GridField
from asmr_plugin.fitting.allocator import TRIM_EVERY, release_free_heap
from asmr_plugin.fitting.metrics import psnr


@dataclass
class FitConfig:
    """How to fit a field to a signal (the paper's protocol by default)."""

    steps: int = 10_000
    """Optimizer steps."""
    lr: float = 1e-4
    """Initial Adam learning rate."""
    min_lr: float = 1e-6
    """Learning rate at the end of the cosine schedule."""
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

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (or None for the full grid), got {self.batch_size}")


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


class AdamCosine:
    """Adam with cosine annealing to ``min_lr`` over ``total_steps``; every ``TRIM_EVERY`` steps the
    freed heap is given back (see ``allocator``)."""

    def __init__(self, parameters: Iterable[Tensor], lr: float, total_steps: int, min_lr: float = 1e-6) -> None:
        self.optimizer = torch.optim.Adam(parameters, lr=lr)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total_steps, eta_min=min_lr)
        self.steps_taken = 0

    def step(self, loss: Tensor) -> int:
        """Back-propagate ``loss``, update, advance the schedule; the number of steps taken so far."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.steps_taken += 1
        if self.steps_taken % TRIM_EVERY == 0:
            release_free_heap()
        return self.steps_taken


def fit(field_: GridField, target: Float[Tensor, "*shape C"], config: FitConfig) -> FitHistory:
    """Fit ``field_`` to ``target`` (already on the field's device) and return the PSNR history.

    Full-grid mode logs the PSNR of every step's prediction (the weights before that step's
    update); random-batch mode renders the whole signal every ``max(1, steps // 100)`` steps.
    The last entry of the history is always the field after the final update.
    """
    shape = tuple(target.shape[:-1])
    generator = torch.Generator(device=target.device).manual_seed(config.seed)
    optimization = AdamCosine(field_.parameters(), config.lr, config.steps, config.min_lr)
    low, high = config.value_range
    history = FitHistory()
    logged: List[Tensor] = []
    eval_every = max(1, config.steps // 100)
    sizes = torch.tensor(shape, device=target.device)
    start = time.perf_counter()
    with progress_bar(config.progress) as progress:
        task = progress.add_task("fit", total=config.steps, psnr="")
        for step in range(config.steps):
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
    logged.append(evaluate_psnr(field_, target, config.value_range))
    history.steps.append(config.steps)
    history.seconds = time.perf_counter() - start
    history.psnr = torch.stack(logged).tolist()
    if math.isnan(history.psnr[-1]):
        raise FloatingPointError("the fit diverged (non-finite PSNR); try a lower --lr")
    return history


@torch.no_grad()
def evaluate_psnr(field_: GridField, target: Float[Tensor, "*shape C"], value_range: Tuple[float, float]) -> Tensor:
    """PSNR of the whole rendered signal, clamped to ``value_range``."""
    low, high = value_range
    return psnr(field_.render(tuple(target.shape[:-1])).clamp(low, high), target, high - low)
