"""The Signal interface: what one kind of signal (an image, a clip, a video, a mesh, ...) supplies to the one
experiment flow, ``runner.run_experiment``. A signal loads, builds, trains, evaluates and writes its own outputs;
it never names, checks, locks or resumes a folder, and never writes ``results.json`` or a checkpoint."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Dict, Generic, List, Tuple, Type, TypeVar

import torch
from rich.console import Console
from torch import Tensor, nn

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import checking_only
from asmr_plugin.fitting.options import EpochOptions, ExperimentOptions
from asmr_plugin.fitting.results import FitResult, Json, Metrics, Summary
from asmr_plugin.io.files import readable
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.resume import ResumableFit
from asmr_plugin.training.spec import EpochHistory, Epochs, train

OptionsT = TypeVar("OptionsT", bound=ExperimentOptions)
EpochOptionsT = TypeVar("EpochOptionsT", bound=EpochOptions)
TargetT = TypeVar("TargetT")
HistoryT = TypeVar("HistoryT")
OutputsT = TypeVar("OutputsT")


@dataclass(frozen=True)
class Item:
    """One signal of a run: its folder's name in a folder run, the file it comes from (None: generated, or held by
    ``payload``), and the label its results and messages give it."""

    name: str
    source: Path | None
    label: str
    payload: object = None
    """What ``items`` already read for it (e.g. a mesh), so nothing is read twice."""


class Signal(ABC, Generic[OptionsT, TargetT, HistoryT, OutputsT]):
    """One kind of signal, for the runner: its items, target, network, training, evaluation and outputs."""

    experiment: ClassVar[str]
    """Default output folders go under outputs/<experiment>/."""
    distributed: ClassVar[bool] = False
    """Whether its runs may be launched by torchrun on several processes (data-parallel)."""
    extendable: ClassVar[Tuple[str, ...]] = ()
    """Options a resumed run may raise: a fit made with a smaller value goes on to the new one (meta-learning's
    --steps, at a constant rate); every other option must be the same."""

    def __init__(self, options: OptionsT, console: Console) -> None:
        self.options, self.console = options, console

    @abstractmethod
    def run_name(self) -> str:
        """The default output folder's name: <data>-<model>."""

    @abstractmethod
    def items(self) -> List[Item]:
        """Every signal of the run (a file, a folder's files, or a generated one); a ValueError for a missing or
        unreadable one."""

    def folder_run(self) -> bool:
        """Whether each item gets its own folder of the run and the run a summary (a folder given as --data)."""
        return False

    def check(self, items: List[Item]) -> None:
        """Every item's network built without weights (a ValueError for options that do not fit one), in a folder run;
        a single item is checked when it is built, before anything is written."""
        if self.folder_run():
            for item in items:
                target = self.load(item)
                with checking_only():
                    self.network(item, target, Process(device=torch.device("meta")))

    @abstractmethod
    def load(self, item: Item) -> TargetT:
        """The item's target (a ValueError for one that cannot be fitted here)."""

    @abstractmethod
    def network(self, item: Item, target: TargetT, process: Process) -> GridField:
        """The freshly built and initialized network for ``target`` on the process's device (the runner seeds first);
        a ValueError for options that do not fit it."""

    @abstractmethod
    def grid_shape(self, target: TargetT) -> Tuple[int, ...]:
        """The signal grid the network covers (its checkpoint's shape)."""

    @abstractmethod
    def announce(self, item: Item, target: TargetT, network: GridField, process: Process) -> str:
        """The line printed before training."""

    def checkpoint_metadata(self, item: Item) -> Dict[str, object]:
        """What its checkpoints record beside the weights."""
        return {"data": item.label}

    def checkpointed(self, network: GridField) -> Tuple[GridField, Dict[str, nn.Module]]:
        """What its checkpoints hold: the field (what ``--resume`` and ``asmr-export`` rebuild) and the modules
        trained beside it (meta-learning's latent map), by name."""
        return network, {}

    @abstractmethod
    def train(
        self, item: Item, target: TargetT, network: GridField, resumable: ResumableFit, process: Process
    ) -> HistoryT:
        """Train ``network`` through the engine, from ``resumable.resumed`` and saving with ``resumable.save``."""

    @abstractmethod
    def evaluate(
        self, item: Item, target: TargetT, network: GridField, history: HistoryT, process: Process
    ) -> Tuple[FitResult, OutputsT]:
        """The fit's results and what its outputs are made of (on the main process)."""

    @abstractmethod
    def write_outputs(self, out: Path, item: Item, target: TargetT, outputs: OutputsT, result: FitResult) -> None:
        """Its reconstruction, plots, ... into ``out`` (the runner writes the checkpoint before, results.json after)."""

    @abstractmethod
    def output_files(self, results: Dict[str, Json]) -> List[str]:
        """The files ``write_outputs`` writes for a fit with these results (``--resume`` writes missing ones again)."""

    @abstractmethod
    def describe(self, result: FitResult) -> str:
        """The line printed after a fit (its final metrics)."""

    @abstractmethod
    def metrics_type(self) -> Type[Metrics]:
        """The typed metrics of its fits (how its results.json reads back)."""

    def summary_metrics(self) -> Tuple[str, ...]:
        """The metrics a folder run's summary averages."""
        return ("final_psnr",)

    def summary_source(self) -> str:
        """What a folder run's summary says it fitted."""
        return readable(self.options.data)

    def protocol(self, runs: List[FitResult]) -> str:
        """A folder run's training protocol, marked where it is not the paper's."""
        raise NotImplementedError(f"{type(self).__name__} has no folder runs")

    def summarize(self, out: Path, runs: List[Dict[str, Json]], console: Console) -> Dict[str, Json]:
        """A folder run's summary, written into ``out`` (inside the run's lock): by default the mean ± std of
        ``summary_metrics`` over the items (summary.json, summary.md)."""
        results = [FitResult.from_json(run, self.metrics_type()) for run in runs]
        options = self.options
        summary = Summary(self.summary_source(), options.model, self.protocol(results), results, self.summary_metrics())
        written = summary.write(out)
        console.print(f"{summary.headline()} -> {out}")
        return written


class EpochSignal(Signal[EpochOptionsT, Tensor, EpochHistory, OutputsT]):
    """A signal fitted by random batches counted in epochs (``--epochs``, ``--batch`` per process), on one process or
    several (torchrun): video, megapixel images."""

    distributed = True

    def train(
        self, item: Item, target: Tensor, network: GridField, resumable: ResumableFit, process: Process
    ) -> EpochHistory:
        spec = self.options.train_spec(network, Epochs(self.options.epochs, self.options.batch))
        return train(network, target, spec, resumable.resumed, resumable.save, process)

    def network_line(self, network: GridField, shape: Tuple[int, ...], process: Process) -> str:
        """Processes, device, parameters, MACs per sample and rate, for ``announce``."""
        return (
            f"{process.world_size} process(es) on {process.device}: {network.num_params():,} params, "
            f"{network.macs(shape).with_bias:,.1f} MACs/pixel, lr {self.options.learning_rate(network):g}"
        )
