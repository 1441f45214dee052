"""Cosine annealing as a nerfstudio scheduler whose state reloads on any torch version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Type

from nerfstudio.engine.schedulers import Scheduler, SchedulerConfig
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

from asmr_plugin.schedule import PAPER_STEPS, CosineFactor


@dataclass
class CosineAnnealingSchedulerConfig(SchedulerConfig):
    """Cosine annealing from the optimizer's learning rate to ``lr_final`` over ``max_steps`` (the
    paper's), then constant.

    Unlike nerfstudio's schedulers, whose state holds numpy scalars, its state is plain Python
    floats, so checkpoints load with ``torch.load(weights_only=True)`` (the default since torch
    2.6): resume, ns-eval and ns-render work.
    """

    _target: Type = field(default_factory=lambda: CosineAnnealingScheduler)
    lr_final: float = 1e-6
    """Learning rate at ``max_steps``."""
    max_steps: int = PAPER_STEPS
    """Steps of the schedule; the method configs set it to ``--max-num-iterations``."""


class CosineAnnealingScheduler(Scheduler):
    config: CosineAnnealingSchedulerConfig

    def get_scheduler(self, optimizer: Optimizer, lr_init: float) -> LRScheduler:
        return LambdaLR(optimizer, CosineFactor(self.config.lr_final / lr_init, self.config.max_steps))
