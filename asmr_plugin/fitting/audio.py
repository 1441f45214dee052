"""Fit an audio clip (or a folder of clips) and write the reconstruction, a waveform plot, results and a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal

import torch
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.registry import checking_only
from asmr_plugin.fitting.options import NetworkOptions, ResumeOptions, RunOptions, require_positive
from asmr_plugin.fitting.summary import run_record, write_summary
from asmr_plugin.io.audio import load_audio, save_audio, speech_like_clip
from asmr_plugin.io.checkpoint import save_checkpoint
from asmr_plugin.io.files import (
    check_output_dir,
    output_names,
    prepare_output_dir,
    run_folder,
    save_figure,
    visible_files,
    write_json,
)
from asmr_plugin.memory import check_memory
from asmr_plugin.metrics import psnr
from asmr_plugin.schedule import PAPER_STEPS
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.interrupts import resume_hint
from asmr_plugin.training.loop import FitConfig
from asmr_plugin.training.resume import check_resumable, finished_results, fit_resumable

AUDIO_NETWORKS: Dict[str, Dict[str, Any]] = {
    "asmr": {"hidden_dim": 128},  # bases for 32,000 samples: [10, 10, 16, 20]
    "siren": {"hidden_dim": 128, "num_layers": 4, "first_omega0": 3000.0},
    "kilonerf": {"hidden_dim": 48, "num_layers": 5, "grid": 4, "num_frequencies": 12},
    "ngp": {
        "hidden_dim": 64,
        "num_layers": 2,
        "num_levels": 7,
        "min_res": 125,
        "max_res": 8000,
        "log2_hashmap_size": 11,
    },
    "grid": {},  # ASMR's parameters (--params to change)
}
"""The paper's ~33K-parameter audio networks (Appendix D, Table 4). SIREN's first layer uses
Sitzmann et al.'s audio frequency (omega0 = 3000): with 30 on [-1, 1] it cannot follow 2 s of
speech and predicts near silence (19.9 dB on the default clip, measured). Instant-NGP's tables hold 2^11
entries per level so that its parameters match (29.7K); the paper's tinycudann grid stores its
coarse levels densely, which nerfstudio's torch HashEncoding cannot."""

AUDIO_LR = 1e-4
"""The paper's rate for every audio network (Appendix D)."""

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".mp3"}


@dataclass
class FitAudioConfig(NetworkOptions, ResumeOptions, RunOptions):
    """Fit audio with a coordinate network (defaults: the paper's Table 4 protocol)."""

    signal_kind = "audio"

    data: Path | None = None
    """Audio file (WAV, FLAC, OGG, ...) or a folder of them (Table-4-style summary). Default: a
    generated speech-like clip, so the command runs offline."""
    model: Literal["asmr", "siren", "kilonerf", "ngp", "grid"] = "asmr"
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
        self.check_network_options()
        samples = round(self.seconds * self.rate)
        if samples < 2:
            raise ValueError(
                f"--seconds {self.seconds:g} at --rate {self.rate} Hz is {samples} sample(s); a clip needs at least 2"
            )
        check_memory(  # the clip, its coordinates, the prediction and its error: 4 floats a sample
            16 * samples, f"--seconds {self.seconds:g} at --rate {self.rate} Hz ({samples:,} samples): a full-clip fit"
        )
        self.check_resume_options()
        self.check_run_options()


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
    torch.manual_seed(config.seed)
    field = config.build(
        config.model, clip.shape[:1], 1, defaults=AUDIO_NETWORKS[config.model], reference=AUDIO_NETWORKS["asmr"]
    )
    config.initialize(field, clip)
    return field


def run(config: FitAudioConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit the clip (or every clip of the folder) given by ``--data``; write outputs and return the results.

    Every clip and its network are checked before anything is written; a run that fails leaves no
    empty folder behind.
    """
    config.check_options()
    console = console or Console()
    name = "speech-like" if config.data is None else Path(config.data).stem
    out = config.output_dir("fit_audio", f"{name}-{config.model}")
    out = check_output_dir(out, config.overwrite, config.resume)
    folder = config.data is not None and Path(config.data).is_dir()
    files = audio_files(Path(config.data)) if folder else [config.data]
    for path in files if folder else []:  # a single clip is checked by fit_one before it writes
        clip = load_target(config, path)
        with checking_only():
            network(config, clip)
    check_resumable(config, out, "*/checkpoint.pt" if folder else "checkpoint.pt")
    with run_folder(out), resume_hint(out):
        if not folder:
            return fit_one(config, config.data, out, console)
        out = prepare_output_dir(out, config.overwrite, config.resume)
        runs = [fit_one(config, path, out / stem, console) for path, stem in output_names(files).items()]
    protocol = (
        f"{config.steps} full-clip steps, Adam lr {runs[0]['lr']:g} cosine to 1e-6, {config.seconds:g} s at {config.rate} Hz, seed {config.seed}"
        + ("" if config.steps == PAPER_STEPS else f", a REDUCED protocol (the paper: {PAPER_STEPS} steps)")
    )
    return write_summary(out, config.model, Path(config.data), protocol, runs, ("final_psnr",), console)


def fit_one(config: FitAudioConfig, data: Path | None, out: Path, console: Console) -> Dict[str, Any]:
    """Fit one clip and write reconstruction.wav, target.wav, waveform.png, checkpoint.pt and results.json
    (with ``--resume``: continue from its checkpoint, or return the results of a finished fit)."""
    previous = finished_results(config, out, data)
    if previous is not None:
        console.print(f"{data}: already fitted -> {out}")
        return previous
    target = load_target(config, data)
    field = network(config, target)
    checkpoint = out / "checkpoint.pt"
    out = prepare_output_dir(out, config.overwrite, config.resume)
    device = resolve_device(config.device)
    field, target = field.to(device), target.to(device)
    macs = field.macs()
    source = "a generated speech-like clip" if data is None else str(data)
    console.print(
        f"[bold]{config.model}[/] on {source} ({target.shape[0]:,} samples at {config.rate} Hz) on {device}: "
        f"{field.num_params():,} params, {macs.with_bias:,.1f} MACs/sample"
    )
    lr = config.learning_rate(field, AUDIO_LR)
    fit_config = FitConfig(
        steps=config.steps,
        lr=lr,
        value_range=(-1.0, 1.0),
        seed=config.seed,
        progress=config.progress,
        checkpoint_every=config.checkpoint_every,
        graph=config.graph,
    )
    history = fit_resumable(field, target, fit_config, checkpoint, config, {"data": source})
    with torch.no_grad():
        reconstruction = field.render().clamp(-1, 1)
    results = {
        "data": source,
        "model": config.model,
        "shape": [target.shape[0]],
        "rate": config.rate,
        "lr": lr,
        "final_psnr": psnr(reconstruction, target, data_range=2.0).item(),
        "best_psnr": history.best_psnr,
        "best_step": history.best_step,
        "steps": config.steps,
        "seconds": history.seconds,
        **run_record(field, tuple(target.shape[:1]), device, config, data),
        "notes": "PSNR on [-1, 1] with data range 2; final_psnr after the last step, best_psnr the best step.",
    }
    save_checkpoint(  # the work first
        out / "checkpoint.pt", field, tuple(target.shape[:1]), config.steps, {"data": source, "rate": config.rate}
    )
    write_json(out / "results.json", results)
    save_audio(out / "reconstruction.wav", reconstruction, config.rate)
    save_audio(out / "target.wav", target, config.rate)
    plot_waveform(out / "waveform.png", target, reconstruction, config.rate, f"{config.model} on {Path(source).name}")
    console.print(
        f"final PSNR {results['final_psnr']:.2f} dB (best {results['best_psnr']:.2f} dB), {history.seconds:.1f} s -> {out}"
    )
    return results
