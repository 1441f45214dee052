"""Fit an audio clip (or a folder of clips) and write the reconstruction, a waveform plot, results and a checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import torch
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import model_choices
from asmr_plugin.fitting.options import ExperimentOptions, require_positive
from asmr_plugin.fitting.results import FitResult, Json, Metrics, PsnrMetrics, RunRecord
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.audio import GENERATED_MIN_RATE, load_audio, save_audio, speech_like_clip
from asmr_plugin.io.files import output_names, readable, save_figure, visible_files
from asmr_plugin.memory import check_memory
from asmr_plugin.metrics import psnr
from asmr_plugin.paper.networks import AUDIO_LR, AUDIO_NETWORKS
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.loop import FitHistory
from asmr_plugin.training.resume import ResumableFit
from asmr_plugin.training.spec import FullGrid, train

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".mp3"}


AudioModel = model_choices(AUDIO_NETWORKS)
"""The networks of the paper's audio table, and plug-in networks (at their own defaults)."""


@dataclass
class FitAudioConfig(ExperimentOptions):
    """Fit audio with a coordinate network (defaults: the paper's Table 4 protocol)."""

    signal_kind = "audio"

    data: Path | None = None
    """Audio file (WAV, FLAC, OGG, ...) or a folder of them (Table-4-style summary). Default: a
    generated speech-like clip, so the command runs offline."""
    model: AudioModel = "asmr"
    """Network to fit, at the paper's ~33K-parameter configuration."""
    rate: int = 16_000
    """Sample rate the clip is resampled to (Hz)."""
    seconds: float = 2.0
    """Length fitted: the first this many seconds (2 s at 16 kHz = 32,000 samples)."""
    pad: bool = False
    """Zero-pad clips shorter than --seconds instead of refusing them."""
    steps: int = PAPER_STEPS
    """Optimizer steps (the whole clip every step)."""
    lr: float | None = None
    """Initial Adam learning rate, cosine annealing to 1e-6. Default: 1e-4, the paper's for every audio network
    (Appendix D); the dense grid's own rate for it."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        require_positive(self, "rate", "seconds", "steps")
        if self.data is None and self.rate < GENERATED_MIN_RATE:
            raise ValueError(
                f"--rate {self.rate}: the generated speech-like clip needs at least {GENERATED_MIN_RATE} Hz (its voice "
                "and first formants); pass --data for a recording at a lower rate"
            )
        samples = round(self.seconds * self.rate)
        if samples < 2:
            raise ValueError(
                f"--seconds {self.seconds:g} at --rate {self.rate} Hz is {samples} sample(s); a clip needs at least 2"
            )
        check_memory(  # the clip, its coordinates, the prediction and its error: 4 floats a sample
            16 * samples, f"--seconds {self.seconds:g} at --rate {self.rate} Hz ({samples:,} samples): a full-clip fit"
        )
        super().check_options()


def plot_waveform(
    path: Path, target: Float[Tensor, "N 1"], reconstruction: Float[Tensor, "N 1"], rate: int, title: str
) -> None:
    figure = Figure(figsize=(10, 5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    seconds = torch.arange(target.shape[0]) / rate
    top.plot(seconds, target[:, 0].cpu(), linewidth=0.5, label="target")
    top.plot(seconds, reconstruction[:, 0].cpu(), linewidth=0.5, alpha=0.7, label="reconstruction")
    top.legend(loc="upper right")
    top.set_title(title)
    bottom.plot(seconds, (reconstruction - target)[:, 0].cpu(), linewidth=0.5, color="tab:red")
    bottom.set_ylabel("error")
    bottom.set_xlabel("time (s)")
    figure.tight_layout()
    save_figure(path, figure, dpi=120)


def audio_files(folder: Path) -> List[Path]:
    files = visible_files(folder, AUDIO_SUFFIXES)
    if not files:
        raise ValueError(f"--data {folder} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return files


def load_target(config: FitAudioConfig, data: Path | None) -> Float[Tensor, "N 1"]:
    """The clip to fit (without ``--data``, a generated speech-like one); ValueError for a file that is not one."""
    if data is None:
        return speech_like_clip(config.rate, config.seconds)
    return load_audio(data, config.rate, config.seconds, config.pad)


def network(config: FitAudioConfig, clip: Float[Tensor, "N 1"]) -> GridField:
    """The freshly initialized network for ``clip``; ValueError for options that do not fit it."""
    field = config.build(
        config.model, clip.shape[:1], 1, defaults=AUDIO_NETWORKS.get(config.model, {}), reference=AUDIO_NETWORKS["asmr"]
    )
    config.initialize(field, clip)
    samples = math.prod(field.grid_shape)  # ASMR's padded grid where its bases' product exceeds the clip
    check_memory(
        16 * samples, f"a full render of {config.model}'s {samples:,} samples", "choose bases near the clip's length"
    )
    return field


GENERATED = "a generated speech-like clip"


class AudioSignal(Signal[FitAudioConfig, Tensor, FitHistory, Tensor]):
    """A clip, or each clip of a folder (a Table-4-style summary), fitted whole at every step."""

    experiment = "fit_audio"

    def metrics_type(self) -> Type[Metrics]:
        return PsnrMetrics

    def run_name(self) -> str:
        return f"{'speech-like' if self.options.data is None else Path(self.options.data).stem}-{self.options.model}"

    def folder_run(self) -> bool:
        return self.options.data is not None and Path(self.options.data).is_dir()

    def items(self) -> List[Item]:
        data = self.options.data
        if data is None:
            return [Item("speech-like", None, GENERATED)]
        if not self.folder_run():
            return [Item(Path(data).stem, Path(data), readable(data))]
        return [Item(name, path, readable(path)) for path, name in output_names(audio_files(Path(data))).items()]

    def load(self, item: Item) -> Tensor:
        return load_target(self.options, item.source)

    def network(self, item: Item, target: Tensor, process: Process) -> GridField:
        return network(self.options, target).to(process.device)

    def grid_shape(self, target: Tensor) -> Tuple[int, ...]:
        return tuple(target.shape[:1])

    def announce(self, item: Item, target: Tensor, network: GridField, process: Process) -> str:
        return (
            f"[bold]{self.options.model}[/] on {item.label} ({target.shape[0]:,} samples at {self.options.rate} Hz) on "
            f"{process.device}: {network.num_params():,} params, {network.macs().with_bias:,.1f} MACs/sample"
        )

    def checkpoint_metadata(self, item: Item) -> Dict[str, object]:
        return {"data": item.label, "rate": self.options.rate}

    def train(
        self, item: Item, target: Tensor, network: GridField, resumable: ResumableFit, process: Process
    ) -> FitHistory:
        config = self.options
        spec = config.train_spec(network, FullGrid(), config.steps, AUDIO_LR, value_range=(-1.0, 1.0))
        return train(network, target, spec, resumable.resumed, resumable.save, process)

    def evaluate(
        self, item: Item, target: Tensor, network: GridField, history: FitHistory, process: Process
    ) -> Tuple[FitResult, Tensor]:
        config, target = self.options, target.to(process.device)
        with torch.no_grad():
            reconstruction = network.render().clamp(-1, 1)
        result = FitResult(
            data=item.label,
            model=config.model,
            shape=[target.shape[0]],
            metrics=PsnrMetrics(psnr(reconstruction, target, data_range=2.0).item()),
            details={
                "rate": config.rate,
                "lr": config.learning_rate(network, AUDIO_LR),
                "best_psnr": history.best_psnr,
                "best_step": history.best_step,
                "steps": config.steps,
                "seconds": history.seconds,
            },
            record=RunRecord.of(network, self.grid_shape(target), process.device, config, None),
            notes="PSNR on [-1, 1] with data range 2; final_psnr after the last step, best_psnr the best step.",
        )
        return result, reconstruction

    def write_outputs(self, out: Path, item: Item, target: Tensor, outputs: Tensor, result: FitResult) -> None:
        rate = self.options.rate
        save_audio(out / "reconstruction.wav", outputs, rate)
        save_audio(out / "target.wav", target, rate)
        plot_waveform(out / "waveform.png", target, outputs, rate, f"{self.options.model} on {Path(item.label).name}")

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return ["reconstruction.wav", "target.wav", "waveform.png"]

    def describe(self, result: FitResult) -> str:
        return (
            f"final PSNR {result.metrics.final_psnr:.2f} dB (best {result.details['best_psnr']:.2f} dB), "
            f"{result.details['seconds']:.1f} s"
        )

    def protocol(self, runs: List[FitResult]) -> str:
        config = self.options
        return (
            f"{config.steps} full-clip steps, Adam lr {runs[0].details['lr']:g} cosine to 1e-6, {config.seconds:g} s at "
            f"{config.rate} Hz, seed {config.seed}"
            + ("" if config.steps == PAPER_STEPS else f", a REDUCED protocol (the paper: {PAPER_STEPS} steps)")
        )


def run(config: FitAudioConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit the clip (or every clip of the folder) given by ``--data``; write outputs and return the results."""
    return run_experiment(AudioSignal(config, console or Console()))
