"""Meta-learn ASMR and Instant-NGP on an image dataset (paper Fig. 5, Appendix I), resumable."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from inspect import signature
from pathlib import Path
from typing import Any, Dict, List, Tuple

import torch
from einops import rearrange
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import FIELDS
from asmr_plugin.fields.latent_modulated import LatentModulatedField
from asmr_plugin.fields.registry import LatentModelName, NetworkShape, build_field, check_positive, checking_only
from asmr_plugin.fitting.meta_learning import encode, meta_loss
from asmr_plugin.fitting.options import RunOptions
from asmr_plugin.fitting.results import CHECKPOINT, RESULTS, RunRecord, mean_std
from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint
from asmr_plugin.io.files import (
    check_output_dir,
    prepare_output_dir,
    run_folder,
    save_figure,
    write_json,
)
from asmr_plugin.io.image_sets import ImageSet, load_image_set
from asmr_plugin.memory import check_memory, check_points_memory
from asmr_plugin.paper.networks import META_LEARNING, NGP_META_DEFAULTS
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.loop import progress_bar
from asmr_plugin.training.optimization import AdamCosine
from asmr_plugin.training.step import capture_allowed, graph_wanted, training_step

META_CAPTURE_OBSTACLE = (
    "meta-learning's inner loop differentiates through autograd.grad (create_graph), which this package has not "
    "recorded in a CUDA graph on a GPU yet"
)
"""Why the meta-learning step runs eagerly under --graph (see docs/training.md)."""


@dataclass
class MetaLearnConfig(NetworkShape, RunOptions):
    """Meta-learn one network per model for a dataset of small images (COIN++ with the paper's settings)."""

    data: Path | None = None
    """A folder of images, or CIFAR-10's ``cifar-10-batches-py`` folder (its train and test batches).
    Default: scikit-image's LFW subset (200 grey 25x25 crops), offline."""
    models: Tuple[LatentModelName, ...] = ("asmr", "ngp")
    """Networks to meta-learn, one after the other (Fig. 5: ASMR and Instant-NGP)."""
    size: int = META_LEARNING["size"]
    """Images are centre-cropped to squares and resized to this side."""
    test_fraction: float = 0.2
    """Held-out share of a folder or of the LFW subset (CIFAR-10 uses its test batch)."""
    latent_dim: int = META_LEARNING["latent_dim"]
    mapping_layers: int = META_LEARNING["mapping_layers"]
    """Layers of the latent-to-shift map (1: linear, as COIN++'s default)."""
    mapping_hidden: int = META_LEARNING["mapping_hidden"]
    hidden_dim: int | None = META_LEARNING["hidden_dim"]
    num_layers: int | None = META_LEARNING["num_layers"]
    """Linear layers of each network (ASMR: its levels)."""
    bases: Tuple[str, ...] | None = None
    """ASMR bases per axis, e.g. '2,2,2,2,2'. Default: chosen for --size and --num-layers ([2]*5 for 32)."""
    omega0: float | None = META_LEARNING["omega0"]
    """ASMR's SIREN frequency (the paper's meta-learning value)."""
    inner_steps: int = META_LEARNING["inner_steps"]
    inner_lr: float = META_LEARNING["inner_lr"]
    """SGD learning rate of the latents in the inner loop."""
    outer_lr: float = META_LEARNING["outer_lr"]
    """Adam learning rate of the shared network and the latent map."""
    batch: int = META_LEARNING["batch"]
    steps: int = META_LEARNING["steps"]
    """Outer steps (with --resume: the total to reach)."""
    second_order: bool = True
    """Differentiate through the inner loop (MAML); --no-second-order: first-order, about 2.5x faster."""
    eval_every: int = 500
    eval_images: int = 256
    """Held-out images scored at each --eval-every (the final score uses every test image)."""
    grid_images: int = 8
    """Test images shown in reconstructions.png."""
    checkpoint_every: int = 500
    resume: bool = False
    """Continue the run in --out from each model's checkpoint.pt up to --steps."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        positive = ("size", "latent_dim", "mapping_layers", "batch", "steps", "inner_steps")
        for name in (*positive, "eval_every", "eval_images", "grid_images", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        check_positive({"inner_lr": self.inner_lr, "outer_lr": self.outer_lr, "test_fraction": self.test_fraction})
        check_memory(16 * self.latent_dim * self.mapping_hidden, f"--latent-dim {self.latent_dim}: the latent map")
        check_memory(
            16 * self.mapping_layers * self.mapping_hidden**2, f"--mapping-layers {self.mapping_layers}: the latent map"
        )
        if self.num_layers is not None and self.num_layers < 2:
            raise ValueError(
                f"--num-layers must be at least 2 (the latents modulate the hidden layers), got {self.num_layers}"
            )
        if not self.models:
            raise ValueError("--models needs at least one of asmr, ngp")
        if self.bases is not None and not any("bases" in signature(FIELDS[name]).parameters for name in self.models):
            raise ValueError(f"--bases applies to ASMR; --models {' '.join(self.models)} has no network with bases")
        if self.resume and self.out is None:
            raise ValueError("--resume needs --out, the folder of the run to continue")
        self.check_network_shape()
        self.check_run_options()


@dataclass
class Curve:
    """Train PSNR (the batch's mean after the inner loop, unclamped) per step; held-out PSNR per evaluation."""

    steps: List[int] = field(default_factory=list)
    train_psnr: List[float] = field(default_factory=list)
    eval_steps: List[int] = field(default_factory=list)
    test_psnr: List[float] = field(default_factory=list)
    seconds: float = 0.0


def build_meta_model(model: LatentModelName, channels: int, config: MetaLearnConfig) -> LatentModulatedField:
    shape = (config.size, config.size)
    if model == "ngp":
        defaults = {**NGP_META_DEFAULTS, "implementation": "torch"}
        network = build_field("ngp", shape, channels, None, config.num_layers, config.hidden_dim, defaults=defaults)
    else:  # ASMR, or a plug-in network that takes shifts
        network = config.build(model, shape, channels)
    return LatentModulatedField(network, config.latent_dim, config.mapping_layers, config.mapping_hidden)


def batch_indices(step: int, batch: int, count: int, seed: int) -> Tensor:
    """The training images of outer step ``step``: a fresh seeded permutation per epoch, read in order
    (a function of the step alone, so a resumed run draws what an uninterrupted one would)."""
    positions = torch.arange(step * batch, (step + 1) * batch)
    epochs = positions // count
    permutations = {
        int(epoch): torch.randperm(count, generator=torch.Generator().manual_seed(seed * 100_003 + int(epoch)))
        for epoch in epochs.unique()
    }
    return torch.stack([permutations[int(epoch)][position % count] for epoch, position in zip(epochs, positions)])


def instance_psnr(prediction: Float[Tensor, "B H W C"], target: Float[Tensor, "B H W C"]) -> Float[Tensor, "B"]:
    from torchmetrics.functional.image import peak_signal_noise_ratio  # slow to import: see asmr_plugin.metrics

    return peak_signal_noise_ratio(prediction, target, data_range=1.0, reduction="none", dim=(1, 2, 3))


def evaluate(
    model: LatentModulatedField, images: Float[Tensor, "N H W C"], config: MetaLearnConfig
) -> Tuple[Float[Tensor, "N"], Float[Tensor, "N H W C"]]:
    """Per-image PSNR (clamped) after ``inner_steps`` from the meta-learned start, and the reconstructions."""
    images = images.to(next(model.parameters()).device)
    _, reconstructions = encode(model, images, config.inner_steps, config.inner_lr, config.batch)
    return instance_psnr(reconstructions, images).cpu(), reconstructions.cpu()


def latent_map_params(model: LatentModulatedField) -> int:
    return sum(parameter.numel() for parameter in model.shifts.parameters())


def network_options(model: LatentModulatedField) -> Dict[str, Any]:
    """What a resumed run must match: the network's arguments and the latent map's size."""
    return {
        "init_kwargs": model.field.init_kwargs,
        "latent_dim": model.latent_dim,
        "mapping": [layer.out_features for layer in model.shifts.mlp.layers],
    }


def save_state(path: Path, model: LatentModulatedField, optimization: AdamCosine, step: int, curve: Curve) -> None:
    metadata = {
        "latent_map": model.shifts.state_dict(),
        "optimizer": optimization.state_dict()["optimizer"],
        "curve": asdict(curve),
        "options": network_options(model),
    }
    save_checkpoint(path, model.field, model.field.grid_shape, step, metadata)


def resume_state(
    path: Path, model: LatentModulatedField, optimization: AdamCosine, device: torch.device
) -> Tuple[int, Curve]:
    """Load a checkpoint written by :func:`save_state` into ``model`` and ``optimization``; the step and curve."""
    checkpoint = load_checkpoint(path, device)
    saved = checkpoint.metadata.get("options")
    if saved != network_options(model):
        raise ValueError(
            f"--resume: {path} was trained with {saved}, but these options give {network_options(model)}; "
            "pass the options of the original run"
        )
    model.field.load_state_dict(checkpoint.field.state_dict())
    model.shifts.load_state_dict(checkpoint.metadata["latent_map"])
    optimization.load_optimizer_state(checkpoint.metadata["optimizer"])
    return checkpoint.step, Curve(**checkpoint.metadata["curve"])


def train(
    name: LatentModelName, images: ImageSet, out: Path, config: MetaLearnConfig, console: Console
) -> Tuple[LatentModulatedField, Curve]:
    """Meta-learn one model, checkpointing into ``out``; returns it and its learning curve."""
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model = build_meta_model(name, images.train.shape[-1], config).to(device)
    graph = capture_allowed(graph_wanted(config.graph, device), META_CAPTURE_OBSTACLE)

    def loss(signals: Float[Tensor, "B H W C"]) -> Tuple[Tensor, Tensor]:
        outer, errors = meta_loss(model, signals, config.inner_steps, config.inner_lr, config.second_order)
        return outer, (-10 * torch.log10(errors)).mean()

    # a constant rate (min_lr = lr), as COIN++ trains
    step_on = training_step(loss, model.parameters(), config.outer_lr, config.steps, config.outer_lr, graph)
    optimization, pending = step_on.optimization, []
    checkpoint = out / CHECKPOINT
    step, curve = resume_state(checkpoint, model, optimization, device) if config.resume else (0, Curve())
    console.print(
        f"[bold]{name}[/]: {model.field.num_params():,} network params + {latent_map_params(model):,} in the latent map, "
        f"{model.field.macs().with_bias:,.1f} MACs/pixel, {f'resuming at step {step}' if step else 'from scratch'}"
    )

    start = time.perf_counter() - curve.seconds
    with progress_bar(config.progress) as progress:
        task = progress.add_task("meta", total=config.steps, completed=step, psnr="")
        while step < config.steps:
            signals = images.train[batch_indices(step, config.batch, images.train.shape[0], config.seed)].to(device)
            pending.append(step_on(signals)[1].clone())  # read back only when logged
            step += 1
            curve.steps.append(step)
            if step % config.eval_every == 0 or step % config.checkpoint_every == 0 or step == config.steps:
                curve.train_psnr.extend(torch.stack(pending).tolist())
                pending.clear()
                progress.update(task, completed=step, psnr=f"train {curve.train_psnr[-1]:.2f} dB")
            if step % config.eval_every == 0 or step == config.steps:
                test_psnr, _ = evaluate(model, images.test[: config.eval_images], config)
                curve.eval_steps.append(step)
                curve.test_psnr.append(test_psnr.mean().item())
            if step % config.checkpoint_every == 0 or step == config.steps:
                curve.seconds = time.perf_counter() - start
                save_state(checkpoint, model, optimization, step, curve)
    curve.seconds = time.perf_counter() - start
    return model, curve


def plot_curves(path: Path, curves: Dict[str, Curve]) -> None:
    figure = Figure(figsize=(6.5, 4))
    axes = figure.subplots()
    for name, curve in curves.items():
        (line,) = axes.plot(curve.steps, curve.train_psnr, alpha=0.5, label=f"{name} train batch")
        axes.plot(curve.eval_steps, curve.test_psnr, "o-", color=line.get_color(), label=f"{name} held-out")
    axes.set(xlabel="outer step", ylabel="PSNR after the inner loop (dB)", title="Meta-learning")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    save_figure(path, figure, dpi=120)


def plot_reconstructions(
    path: Path, truth: Float[Tensor, "N H W C"], rows: Dict[str, Float[Tensor, "N H W C"]], title: str
) -> None:
    """Fig. 5: the held-out images, then each model's reconstruction after the inner loop."""
    labelled = {"ground truth": truth, **rows}
    figure = Figure(figsize=(1.1 * truth.shape[0] + 1.2, 1.2 * len(labelled) + 0.5))
    for index, (label, images) in enumerate(labelled.items()):
        axes = figure.add_subplot(len(labelled), 1, index + 1)
        strip = rearrange(images.clamp(0, 1), "n h w c -> h (n w) c").numpy()
        axes.imshow(strip if strip.shape[-1] == 3 else strip[..., 0], cmap="gray", vmin=0, vmax=1)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_ylabel(label, rotation=0, ha="right", va="center")
    figure.suptitle(title)
    save_figure(path, figure, dpi=120, bbox_inches="tight")


def protocol(config: MetaLearnConfig) -> str:
    order = "second-order" if config.second_order else "first-order"
    return (
        f"{config.steps} outer steps of batch {config.batch} (Adam {config.outer_lr:g}), {config.inner_steps} inner "
        f"SGD steps (lr {config.inner_lr:g}) from zero latents of {config.latent_dim}, {order}; {config.size}x{config.size}"
    )


def run(config: MetaLearnConfig, console: Console | None = None) -> Dict[str, Any]:
    """Meta-learn each of ``config.models``; write checkpoints, curves, reconstructions and results."""
    config.check_options()
    console = console or Console()
    images = load_image_set(config.data, config.size, config.test_fraction, config.seed)
    check_points_memory(  # after the set: a --size too large for it is named as such
        config.batch * config.size**2,
        config.hidden_dim or META_LEARNING["hidden_dim"],
        f"--batch {config.batch} of {config.size}x{config.size} images: an outer step",
    )
    with checking_only():  # every option checked before anything is written
        for name in config.models:
            build_meta_model(name, images.train.shape[-1], config)
    if config.resume:
        missing = [name for name in config.models if not (config.out / name / "checkpoint.pt").is_file()]
        if missing:
            raise ValueError(f"--resume: {config.out} has no checkpoint.pt for {', '.join(missing)}")
    out = check_output_dir(config.output_dir("meta_learn", "-".join(config.models)), config.overwrite, config.resume)
    with run_folder(out):
        return learn_models(config, images, prepare_output_dir(out, config.overwrite, config.resume), console)


def learn_models(config: MetaLearnConfig, images: ImageSet, out: Path, console: Console) -> Dict[str, Any]:
    """Meta-learn each model into its folder of ``out``; write the comparison figures and results."""
    console.print(f"{images.description}: {images.train.shape[0]} train, {images.test.shape[0]} test images")
    curves, rows, results = {}, {}, {}
    for name in config.models:
        model_out = out / name
        model_out.mkdir(exist_ok=True)
        model, curve = train(name, images, model_out, config, console)
        test_psnr, reconstructions = evaluate(model, images.test, config)
        mean, std = mean_std(test_psnr.tolist())
        curves[name], rows[name] = curve, reconstructions[: config.grid_images]
        results[name] = {
            "test_psnr_mean": mean,
            "test_psnr_std": std,
            "test_images": images.test.shape[0],
            "final_train_psnr": curve.train_psnr[-1],
            "steps": curve.steps[-1],
            "seconds": curve.seconds,
            "latent_map_params": latent_map_params(model),
            **asdict(RunRecord.of(model.field, model.field.grid_shape, next(model.parameters()).device, config, None)),
        }
        write_json(model_out / RESULTS, results[name])
        console.print(f"{name}: held-out PSNR {mean:.2f} ± {std:.2f} dB after {config.inner_steps} inner steps")
    plot_curves(out / "learning_curve.png", curves)
    plot_reconstructions(
        out / "reconstructions.png",
        images.test[: config.grid_images],
        rows,
        f"{config.inner_steps} inner steps from the meta-learned start (held-out images)",
    )
    summary = {"data": images.description, "protocol": protocol(config), "models": results}
    write_json(out / RESULTS, summary)
    console.print(f"-> {out}")
    return summary
