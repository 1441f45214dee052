"""The paper's training schedule: 10K steps of Adam with cosine annealing of the learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass

PAPER_STEPS = 10_000
"""Optimizer steps of the paper's image and audio fits (Tables 2-4)."""


@dataclass
class CosineFactor:
    """The learning-rate factor at a step: cosine from 1 to ``final_factor`` over ``max_steps``, then
    constant. A plain object, so ``LambdaLR`` saves its fields as floats (checkpoints then load under
    ``torch.load(weights_only=True)``)."""

    final_factor: float
    max_steps: int

    def __call__(self, step: int) -> float:
        progress = min(step, self.max_steps) / max(self.max_steps, 1)
        return self.final_factor + (1.0 - self.final_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
