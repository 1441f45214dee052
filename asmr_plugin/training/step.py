"""One training step, the unit every fit loop repeats: the loss of a batch, its backward, Adam's update
and the schedule. Eager, or on CUDA recorded once as a CUDA graph and replayed, so that a step of a
small network costs one launch instead of a hundred.

The graph follows PyTorch's whole-network capture recipe: warm-up on a side stream, Adam
``capturable`` with its learning rate a device tensor that the schedule updates in place outside the
graph, static batch buffers copied into before each replay, and the loss, its logged value and the
finite-loss flag left in device buffers that the loop reads only when it logs or saves.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Literal, Sequence, Tuple

import torch
from rich.console import Console
from torch import Tensor

from asmr_plugin.training.optimization import FINAL_LR, AdamCosine

GraphMode = Literal["auto", "on", "off"]
"""``--graph``: auto records the step as a CUDA graph on CUDA and runs it eagerly elsewhere."""
WARMUP_STEPS = 3
"""Eager steps on a side stream before capture (they initialize cuBLAS, autograd and Adam's state;
their updates are undone)."""

LossFunction = Callable[..., Tuple[Tensor, Tensor]]
"""``loss(*batch) -> (loss, logged)``: the scalar to minimize and a scalar to log (e.g. the step's PSNR)."""


def graph_wanted(mode: GraphMode, device: torch.device) -> bool:
    """Whether ``--graph mode`` records the step on ``device``; a ValueError for ``on`` without CUDA."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"--graph must be auto, on or off, got {mode!r}")
    if mode == "on" and device.type != "cuda":
        raise ValueError(f"--graph on needs a CUDA device, but this run is on {device}; use --graph auto or off")
    return mode == "on" or (mode == "auto" and device.type == "cuda")


class EagerStep:
    """The step run as written: one kernel launch per operation."""

    graphed = False

    def __init__(self, loss: LossFunction, optimization: AdamCosine) -> None:
        self.loss, self.optimization = loss, optimization

    def __call__(self, *batch: Tensor) -> Tuple[Tensor, Tensor]:
        """One update on ``batch``; the loss (detached) and the logged value, on the device."""
        loss, logged = self.loss(*batch)
        self.optimization.step(loss)
        return loss.detach(), logged


class StaticStep:
    """The step a CUDA graph records, run eagerly: the batch is copied into buffers allocated on the
    first call, the loss reads only them, and nothing reads the device back."""

    graphed = False

    def __init__(self, loss: LossFunction, optimization: AdamCosine) -> None:
        self.loss, self.optimization = loss, optimization
        self.inputs: List[Tensor] | None = None

    def load(self, batch: Sequence[Tensor]) -> None:
        """Copy ``batch`` into the static input buffers (allocated on the first call)."""
        if self.inputs is None:
            self.inputs = [value.detach().clone() for value in batch]
            return
        if [value.shape for value in batch] != [value.shape for value in self.inputs]:
            raise ValueError(
                f"a static step's batch keeps its shapes: {[list(v.shape) for v in self.inputs]}, "
                f"got {[list(v.shape) for v in batch]}"
            )
        for static, value in zip(self.inputs, batch):
            static.copy_(value)

    def body(self) -> Tuple[Tensor, Tensor]:
        """Loss, backward and Adam's update on the static inputs (the gradients None or zero before)."""
        loss, logged = self.loss(*self.inputs)
        self.optimization.update(loss)
        return loss.detach(), logged.detach()

    def __call__(self, *batch: Tensor) -> Tuple[Tensor, Tensor]:
        self.load(batch)
        self.optimization.optimizer.zero_grad(set_to_none=True)
        outputs = self.body()
        self.optimization.advance()
        return outputs


class GraphedStep(StaticStep):
    """``StaticStep`` recorded once as a CUDA graph and replayed. Its outputs are static device tensors,
    overwritten by the next step (clone what must be kept). A batch of another shape runs eagerly."""

    graphed = True

    def __init__(self, loss: LossFunction, optimization: AdamCosine) -> None:
        if not optimization.graphable or optimization.device.type != "cuda":
            raise ValueError("a graphed step needs AdamCosine(..., graphable=True) on a CUDA device")
        super().__init__(loss, optimization)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.outputs: Tuple[Tensor, Tensor] | None = None

    def __call__(self, *batch: Tensor) -> Tuple[Tensor, Tensor]:
        if self.inputs is not None and [v.shape for v in batch] != [v.shape for v in self.inputs]:
            return self.eager(batch)  # e.g. an epoch's last, partial batch
        self.load(batch)
        if self.graph is None:
            self.capture()
        self.graph.replay()
        self.optimization.advance()
        return self.outputs

    def eager(self, batch: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """The step on a batch of another shape than the recorded one, run eagerly (on the same gradient buffers)."""
        self.optimization.optimizer.zero_grad(set_to_none=False)  # the graph keeps writing these gradient tensors
        loss, logged = self.loss(*batch)
        self.optimization.update(loss)
        self.optimization.advance()
        return loss.detach(), logged.detach()

    def capture(self) -> None:
        """Warm up on a side stream, undo the warm-up's updates, and record ``body``."""
        optimizer = self.optimization.optimizer
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        weights = [p.detach().clone() for p in parameters]
        moments = {p: {k: v.clone() for k, v in optimizer.state[p].items()} for p in parameters if p in optimizer.state}
        finite = self.optimization.all_finite.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                optimizer.zero_grad(set_to_none=True)
                self.body()
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():  # back to the state before the warm-up
            for parameter, weight in zip(parameters, weights):
                parameter.copy_(weight)
            for parameter in parameters:
                for key, value in optimizer.state[parameter].items():
                    value.copy_(moments[parameter][key]) if parameter in moments else value.zero_()
            self.optimization.all_finite.copy_(finite)
        optimizer.zero_grad(set_to_none=True)  # the graph's backward allocates the gradients it overwrites
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = self.body()


def capture_allowed(graph: bool, eager_because: str | None = None) -> bool:
    """Whether to record the step: ``graph`` (see ``graph_wanted``) unless ``eager_because`` says why this
    step cannot be captured, which is printed once."""
    if graph and eager_because is not None:
        Console(stderr=True).print(f"--graph: running the step eagerly: {eager_because}", highlight=False)
        return False
    return graph


def make_step(loss: LossFunction, optimization: AdamCosine) -> EagerStep | GraphedStep:
    """The step to repeat: graphed when ``optimization`` is graphable on CUDA, else eager."""
    if optimization.graphable and optimization.device.type == "cuda":
        return GraphedStep(loss, optimization)
    return EagerStep(loss, optimization)


def training_step(
    loss: LossFunction,
    parameters: Iterable[Tensor] | List[Dict[str, Any]],
    lr: float,
    total_steps: int,
    min_lr: float = FINAL_LR,
    graph: bool = False,
) -> EagerStep | GraphedStep:
    """Adam with cosine annealing from ``lr`` to ``min_lr`` over ``total_steps``, and the step that repeats ``loss``
    with it (graphed when ``graph`` on CUDA): how everything outside the fit loops (benchmarks, studies,
    meta-learning) trains, so that the engine alone builds optimizers. ``step.optimization`` holds its state."""
    return make_step(loss, AdamCosine(parameters, lr, total_steps, min_lr, graph))


def gradients(loss: Callable[[], Tensor], parameters: Sequence[Tensor]) -> List[Tensor]:
    """The gradients of ``loss()`` with respect to ``parameters`` at their current values (no update)."""
    return list(torch.autograd.grad(loss(), list(parameters)))


def record(function: Callable[[], Tensor]) -> Callable[[], Tensor]:
    """``function`` (no arguments, no gradients, e.g. a render) recorded once as a CUDA graph; calling the
    result replays it and returns its static output, overwritten by the next call."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(side):
        for _ in range(WARMUP_STEPS):
            function()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        output = function()

    def replay() -> Tensor:
        graph.replay()
        return output

    return replay
