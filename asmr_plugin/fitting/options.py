"""Options every experiment shares, once: where and how a run goes (``RunOptions``), its network
(``NetworkOptions``: ``NetworkShape`` and its training), checkpoints and ``--resume`` (``ResumeOptions``), and their checks."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from itertools import chain, count
from pathlib import Path
from typing import Any, ClassVar, Dict, Tuple

from torch import Tensor

from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.initialization import DEFAULT_INIT, InitName, SignalKind, channel_mean, initialize_output
from asmr_plugin.fields.registry import NetworkShape, check_positive
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.optimization import FINAL_LR
from asmr_plugin.training.spec import Batching, FullGrid, TrainSpec
from asmr_plugin.training.step import GraphMode, graph_wanted


def require_positive(config: Any, *names: str) -> None:
    """Refuse options of ``config`` at or below zero (or NaN); None keeps the default."""
    check_positive({name: getattr(config, name) for name in names})


MAX_SEED = 2**31 - 1
"""The largest seed every generator a run seeds takes (open3d's: a 32-bit integer)."""


@dataclass
class RunOptions:
    """Where a run writes, on which device, with which seed."""

    out: Path | None = None
    """Output folder. Default: outputs/<experiment>/<data>-<model>-<time>."""
    overwrite: bool = False
    """Allow writing into a non-empty --out folder (files of the same name are replaced)."""
    device: str | None = None
    """Torch device. Default: cuda when available, else cpu."""
    seed: int = 0
    """Seed for initialization and sampling."""
    progress: bool = True
    """Show a progress bar."""
    graph: GraphMode = "auto"
    """Record each training step as one CUDA graph and replay it: auto (on CUDA), on (CUDA only) or off. A step
    that cannot be recorded (ASMR's random batches) runs eagerly, saying why."""

    def check_run_options(self) -> None:
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"--seed must be between 0 and {MAX_SEED}, got {self.seed}")
        graph_wanted(self.graph, resolve_device(self.device))

    def output_dir(self, experiment: str, name: str) -> Path:
        """``--out``, or outputs/<experiment>/<name>-<time>-p<process id>: no other live process picks the same
        name, and a name this process used already gets a -2, -3, ... (runs started together never share one)."""
        if self.out is not None:
            return self.out
        base = Path("outputs") / experiment / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-p{os.getpid()}"
        candidates = chain([base], (Path(f"{base}-{n}") for n in count(2)))
        return next(path for path in candidates if not path.exists())


@dataclass
class ResumeOptions:
    """Checkpoints and ``--resume``, for the fits that write one."""

    checkpoint_every: int = 1000
    """Steps between checkpoints; Ctrl-C or SIGTERM also saves one (after the current step) and stops."""
    resume: bool = False
    """Continue the interrupted run in --out from its checkpoint.pt, with the same options (a run of
    several signals keeps those already finished). Ends as an uninterrupted run would."""

    def check_resume_options(self) -> None:
        require_positive(self, "checkpoint_every")
        if self.resume and getattr(self, "out") is None:
            raise ValueError("--resume needs --out, the folder of the run to continue")


@dataclass
class NetworkOptions(NetworkShape):
    """The network's shape and how it trains; None keeps the experiment's (the paper's) setting."""

    lr: float | None = None
    """Initial Adam learning rate, cosine annealing to 1e-6. Default: the network's paper rate."""
    init: InitName = DEFAULT_INIT
    """How the output layer starts: mean (its bias at the signal's mean and its weights at the gain measured best
    for this kind of signal: docs/studies/init-per-signal.md) or paper (the network's own initialization, as the
    paper trains)."""
    signal_kind: ClassVar[SignalKind]
    """The kind of signal the command fits (its ``--init mean`` gains)."""

    def check_network_options(self) -> None:
        self.check_network_shape()
        require_positive(self, "lr")
        if self.lr is not None and self.lr < FINAL_LR:
            raise ValueError(
                f"--lr {self.lr:g} is below {FINAL_LR:g}, where the cosine schedule ends: the rate would rise; "
                f"give {FINAL_LR:g} or more"
            )

    def initialize(self, field: GridField, signal: Tensor) -> None:
        """Start ``field``'s output as ``--init`` says, for ``signal`` (``[..., C]``)."""
        initialize_output(field, channel_mean(signal), self.init, self.signal_kind)

    def learning_rate(self, field: GridField, task_rate: float | None = None) -> float:
        """``--lr``; else the paper's rate for this task (``task_rate``, where the paper trains all its networks at one
        rate) for the paper's networks, and ``field``'s own rate for the others."""
        if self.lr is not None:
            return self.lr
        return task_rate if task_rate is not None and field.from_paper else field.lr_for(self.signal_kind)


@dataclass
class ExperimentOptions(NetworkOptions, ResumeOptions, RunOptions):
    """The options of an experiment that ``runner.run_experiment`` runs: its data, network, training, checkpoints
    and run folder."""

    data: Path | None = None
    """The signal to fit (a file or a folder of them). Default: the command's bundled one."""
    model: str = "asmr"
    """Network to fit."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        self.check_network_options()
        self.check_resume_options()
        self.check_run_options()

    def train_spec(
        self,
        network: GridField,
        batching: Batching = FullGrid(),
        steps: int = PAPER_STEPS,
        task_rate: float | None = None,
        lr_scales: Dict[str, float] | None = None,
        value_range: Tuple[float, float] = (0.0, 1.0),
    ) -> TrainSpec:
        """The engine's ``TrainSpec`` for ``network`` under these options: its rate (``learning_rate``, the paper's
        ``task_rate`` for the paper's networks), the seed, progress, checkpoints and graph mode."""
        return TrainSpec(
            lr=self.learning_rate(network, task_rate),
            steps=steps,
            batching=batching,
            lr_scales=lr_scales or {},
            value_range=value_range,
            seed=self.seed,
            progress=self.progress,
            checkpoint_every=self.checkpoint_every,
            graph=self.graph,
        )


@dataclass
class EpochOptions(ExperimentOptions):
    """An experiment trained by random batches counted in epochs."""

    epochs: float = 1.0
    """Passes over every sample (fractions allowed)."""
    batch: int = 1
    """Random samples per step and process."""
