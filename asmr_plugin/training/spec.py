"""What the engine is asked to do, typed: ``TrainSpec`` (rate, schedule, batching, seed, graph mode), and ``train``,
the one entry of the fits that train on a signal grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Tuple, Union

from einops import rearrange
from jaxtyping import Float
from torch import Tensor

from asmr_plugin.fields.base import GridField
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.epochs import EpochConfig, EpochPlan, fit_on_processes, train_epochs
from asmr_plugin.training.loop import FitConfig, FitHistory, TrainingState, fit
from asmr_plugin.training.optimization import FINAL_LR, check_finite_weights
from asmr_plugin.training.step import GraphMode, capture_allowed, graph_wanted


@dataclass(frozen=True)
class FullGrid:
    """Every step the whole grid, rendered by the network's fastest exact path (the paper's images and audio)."""


@dataclass(frozen=True)
class RandomPoints:
    """Every step ``batch`` grid points drawn at random (with replacement) through the network's forward."""

    batch: int


@dataclass(frozen=True)
class Epochs:
    """Passes over every sample in a fresh order each epoch, ``batch`` per step and process (video, megapixel)."""

    epochs: float
    batch: int


@dataclass(frozen=True)
class Custom:
    """Batches the caller draws: an ``EpochPlan`` (an epoch's batches and the step's loss), e.g. occupancy's fresh
    points near a surface every epoch."""

    plan: EpochPlan


Batching = Union[FullGrid, RandomPoints, Epochs, Custom]


@dataclass(frozen=True)
class TrainSpec:
    """A fit's optimization: Adam from ``lr`` (parameter subsets at ``lr_scales`` times it) annealed by a cosine to
    ``min_lr`` over ``steps`` (``Epochs``: over its own step count), the ``batching``, the seed of the batches, the
    CUDA-graph mode, and the range of the values (PSNR's data range)."""

    lr: float
    steps: int = PAPER_STEPS
    batching: Batching = FullGrid()
    lr_scales: Dict[str, float] = field(default_factory=dict)
    min_lr: float = FINAL_LR
    value_range: Tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    progress: bool = True
    checkpoint_every: int = 1000
    graph: GraphMode = "auto"


EpochHistory = Dict[str, Any]
"""An epoch-counted fit's record: steps, (``Epochs``) steps_per_epoch, seconds and the logged (step, batch loss)
pairs."""


def train(
    network: GridField,
    target: Float[Tensor, "*shape C"],
    spec: TrainSpec,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
    process: Process = Process(),
) -> FitHistory | EpochHistory:
    """Fit ``network`` to ``target`` as ``spec`` says, continuing from ``resume`` and saving with ``save`` (see
    ``loop.fit``); on several processes (``Epochs`` only) data-parallel. ``Custom`` batches come from their plan
    (``target`` unused)."""
    batching = spec.batching
    if isinstance(batching, Custom):
        plan = batching.plan
        graph = capture_allowed(graph_wanted(spec.graph, process.device), network.capture_obstacle(full_grid=False))
        epochs = EpochConfig(
            plan.total_steps / plan.steps_per_epoch,
            0,  # the plan draws its own batches
            spec.lr,
            spec.seed,
            spec.progress,
            spec.checkpoint_every,
            spec.graph,
        )
        loop = train_epochs(plan, network.parameters(), epochs, graph, spec.progress, resume, save)
        check_finite_weights(network)
        return {"steps": plan.total_steps, "seconds": loop.seconds, "losses": loop.losses}
    if isinstance(batching, Epochs):
        epochs = EpochConfig(
            batching.epochs, batching.batch, spec.lr, spec.seed, spec.progress, spec.checkpoint_every, spec.graph
        )
        values = rearrange(target, "... c -> (...) c")
        return fit_on_processes(network, values, tuple(target.shape[:-1]), epochs, process, resume, save)
    config = FitConfig(
        steps=spec.steps,
        lr=spec.lr,
        lr_scales=spec.lr_scales,
        min_lr=spec.min_lr,
        batch=batching.batch if isinstance(batching, RandomPoints) else None,
        value_range=spec.value_range,
        seed=spec.seed,
        progress=spec.progress,
        checkpoint_every=spec.checkpoint_every,
        graph=spec.graph,
    )
    return fit(network, target.to(process.device), config, resume, save)
