"""Adam with cosine annealing, and the checks that stop a fit that diverged."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

import torch
from torch import Tensor

from asmr_plugin.schedule import CosineFactor

FINITE_CHECK_EVERY = 50
"""Steps between reads of the accumulated finite-loss check on an accelerator."""
EXPLODED_WEIGHT = 1e4
"""A weight this large has exploded (coordinate networks' weights stay near 1: Adam moves each by
about the learning rate per step)."""
FINAL_LR = 1e-6
"""The learning rate at the end of every cosine schedule (the paper's)."""
CAPTURABLE_DEVICES = ("cuda",)
"""Devices on which Adam's update can be captured in a CUDA graph (``capturable=True``)."""


class FitDiverged(ValueError):
    """The loss or the weights became non-finite, or the fit ended worse than it started."""


class AdamCosine:
    """Adam with cosine annealing to ``min_lr`` over ``total_steps``; a non-finite loss stops the fit
    (``FitDiverged``).

    The losses' finiteness accumulates in one device flag. On the CPU it is read before every update;
    on an accelerator, where reading it would stall the queue of kernels, every ``FINITE_CHECK_EVERY``
    steps and before a state is saved.

    ``graphable``: the learning rate is a 0-dim tensor on the parameters' device that the schedule
    updates in place, and on CUDA Adam is ``capturable``, so ``update`` can be recorded in a CUDA graph.
    """

    def __init__(
        self,
        parameters: Iterable[Tensor] | List[Dict[str, Any]],
        lr: float,
        total_steps: int,
        min_lr: float = FINAL_LR,
        graphable: bool = False,
    ) -> None:
        groups = list(parameters)
        first = groups[0]["params"][0] if isinstance(groups[0], dict) else groups[0]
        self.device, self.graphable = first.device, graphable
        capturable = graphable and self.device.type in CAPTURABLE_DEVICES
        self.optimizer = torch.optim.Adam(groups, lr=lr, capturable=capturable)
        if graphable:
            self._tensor_learning_rates()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, CosineFactor(min_lr / lr, total_steps))
        self.steps_taken, self.total_steps = 0, total_steps
        self.all_finite = torch.ones((), dtype=torch.bool, device=self.device)

    def _tensor_learning_rates(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=self.device)

    def note_finite(self, loss: Tensor) -> None:
        """Fold ``loss``'s finiteness into the device flag (no host sync)."""
        self.all_finite.logical_and_(torch.isfinite(loss.detach()))

    def update(self, loss: Tensor) -> None:
        """Note ``loss``'s finiteness, back-propagate it and update the weights: what a CUDA graph records
        (the gradients must be None or zero before)."""
        self.note_finite(loss)
        loss.backward()
        self.optimizer.step()

    def advance(self) -> int:
        """Advance the schedule after an update; the number of steps taken so far."""
        self.scheduler.step()
        self.steps_taken += 1
        if self.steps_taken % FINITE_CHECK_EVERY == 0:
            self.check_finite()
        return self.steps_taken

    def step(self, loss: Tensor) -> int:
        """Back-propagate ``loss``, update, advance the schedule; the number of steps taken so far."""
        if self.device.type == "cpu":
            self.note_finite(loss)
            self.check_finite()  # before the update, so a NaN never reaches the weights
        self.optimizer.zero_grad(set_to_none=True)
        self.update(loss)
        return self.advance()

    def anneal_to(self, fraction: float) -> None:
        """Set the rates where the schedule is ``fraction`` (0 to 1) of the way through, for a schedule over time
        instead of steps (the wall-clock study)."""
        factor = self.scheduler.lr_lambdas[0]
        position = min(int(fraction * self.total_steps), self.total_steps)
        for group, base in zip(self.optimizer.param_groups, self.scheduler.base_lrs):
            rate = base * factor(position)
            group["lr"].fill_(rate) if isinstance(group["lr"], Tensor) else group.update(lr=rate)

    def check_finite(self) -> None:
        """``FitDiverged`` when a loss since the last check was NaN or infinite."""
        if not bool(self.all_finite):
            raise FitDiverged(
                f"the fit diverged: the loss became non-finite by step {self.steps_taken + 1}; try a lower --lr"
            )

    def state_dict(self) -> Dict[str, Any]:
        """What resumes the optimization (learning rates as plain numbers, so an eager run can resume a
        graphed one and back); ``FitDiverged`` rather than a state after a non-finite loss."""
        self.check_finite()
        optimizer = self.optimizer.state_dict()
        for group in optimizer["param_groups"]:
            for key in ("lr", "initial_lr"):
                group[key] = float(group[key])
        scheduler = self.scheduler.state_dict()
        for key in ("base_lrs", "_last_lr"):
            scheduler[key] = [float(value) for value in scheduler[key]]
        return {"optimizer": optimizer, "scheduler": scheduler, "steps_taken": self.steps_taken}

    def load_optimizer_state(self, state: Dict[str, Any]) -> None:
        """Load Adam's state alone (a ``state_dict()["optimizer"]``)."""
        self.optimizer.load_state_dict(state)
        if self.graphable:
            self._tensor_learning_rates()

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.load_optimizer_state(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.steps_taken = state["steps_taken"]


def check_finite_weights(module: torch.nn.Module) -> None:
    """``FitDiverged`` when a weight of ``module`` is non-finite or beyond ``EXPLODED_WEIGHT``."""
    largest = max((p.detach().abs().max().item() for p in module.parameters() if p.numel()), default=0.0)
    if not largest <= EXPLODED_WEIGHT:
        raise FitDiverged(f"the fit diverged: the weights reached {largest:.3g}; try a lower --lr")
