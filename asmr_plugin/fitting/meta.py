"""Meta-learn ASMR and Instant-NGP on an image dataset (paper Fig. 5, Appendix I), resumable."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from inspect import signature
from pathlib import Path
from typing import Any, Dict, List, Tuple, Type

import torch
from einops import rearrange
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor, nn

from asmr_plugin.fields import FIELDS, GridField
from asmr_plugin.fields.latent_modulated import LatentModulatedField
from asmr_plugin.fields.registry import LatentModelName, NetworkShape, build_field, check_positive
from asmr_plugin.fitting.meta_learning import encode, meta_loss
from asmr_plugin.fitting.options import RunOptions
from asmr_plugin.fitting.results import CHECKPOINT, RESULTS, FitResult, Json, MetaMetrics, Metrics, RunRecord, mean_std
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.io.files import save_figure, write_json
from asmr_plugin.io.image_sets import ImageSet, load_image_set
from asmr_plugin.memory import check_memory, check_points_memory
from asmr_plugin.paper.networks import META_LEARNING, NGP_META_DEFAULTS
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.interrupts import after_each_step
from asmr_plugin.training.loop import TrainingState, progress_bar
from asmr_plugin.training.resume import ResumableFit
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


@dataclass
class MetaOutputs:
    """What the run's figures show of one model: its learning curve and its first held-out reconstructions."""

    curve: Curve
    reconstructions: Float[Tensor, "N H W C"]


class MetaSignal(Signal[MetaLearnConfig, ImageSet, Curve, MetaOutputs]):
    """A dataset of small images, one item per meta-learned model (each in its folder of the run); the run's
    results.json, learning curves and reconstructions compare them."""

    experiment = "meta_learn"
    extendable = ("steps",)

    def __init__(self, options: MetaLearnConfig, console: Console) -> None:
        super().__init__(options, console)
        self.images: ImageSet | None = None
        self.outputs: Dict[str, MetaOutputs] = {}

    def metrics_type(self) -> Type[Metrics]:
        return MetaMetrics

    def run_name(self) -> str:
        return "-".join(self.options.models)

    def items(self) -> List[Item]:
        return [Item(name, self.options.data, name) for name in self.options.models]

    def folder_run(self) -> bool:
        return True

    def load(self, item: Item) -> ImageSet:
        if self.images is None:
            config = self.options
            self.images = load_image_set(config.data, config.size, config.test_fraction, config.seed)
            check_points_memory(  # after the set: a --size too large for it is named as such
                config.batch * config.size**2,
                config.hidden_dim or META_LEARNING["hidden_dim"],
                f"--batch {config.batch} of {config.size}x{config.size} images: an outer step",
            )
            images = self.images
            self.console.print(
                f"{images.description}: {images.train.shape[0]} train, {images.test.shape[0]} test images"
            )
        return self.images

    def network(self, item: Item, target: ImageSet, process: Process) -> LatentModulatedField:  # type: ignore[override]
        return build_meta_model(item.name, target.train.shape[-1], self.options).to(process.device)

    def checkpointed(self, network: LatentModulatedField) -> Tuple[GridField, Dict[str, nn.Module]]:  # type: ignore[override]
        return network.field, {"latent_map": network.shifts}

    def grid_shape(self, target: ImageSet) -> Tuple[int, ...]:
        return (self.options.size, self.options.size)

    def announce(self, item: Item, target: ImageSet, network: LatentModulatedField, process: Process) -> str:  # type: ignore[override]
        return (
            f"[bold]{item.name}[/]: {network.field.num_params():,} network params + {latent_map_params(network):,} in "
            f"the latent map, {network.field.macs().with_bias:,.1f} MACs/pixel"
        )

    def train(  # type: ignore[override]
        self, item: Item, target: ImageSet, network: LatentModulatedField, resumable: ResumableFit, process: Process
    ) -> Curve:
        """Outer Adam steps at a constant rate (as COIN++ trains), held-out PSNR every --eval-every."""
        config, model = self.options, network
        graph = capture_allowed(graph_wanted(config.graph, process.device), META_CAPTURE_OBSTACLE)

        def loss(signals: Float[Tensor, "B H W C"]) -> Tuple[Tensor, Tensor]:
            outer, errors = meta_loss(model, signals, config.inner_steps, config.inner_lr, config.second_order)
            return outer, (-10 * torch.log10(errors)).mean()

        step_on = training_step(loss, model.parameters(), config.outer_lr, config.steps, config.outer_lr, graph)
        optimization, pending, step, curve = step_on.optimization, [], 0, Curve()
        if resumable.resumed is not None:  # Adam's moments alone: a larger --steps goes on at the same rate
            optimization.load_optimizer_state(resumable.resumed.optimization["optimizer"])
            step, curve = resumable.resumed.step, Curve(**resumable.resumed.history, seconds=resumable.resumed.seconds)
            self.console.print(f"{item.name}: resuming at step {step}")
        start = time.perf_counter() - curve.seconds

        def save(finished: int) -> str:
            curve.seconds = time.perf_counter() - start
            history = {key: value for key, value in asdict(curve).items() if key != "seconds"}
            state = TrainingState(
                finished, optimization.state_dict(), torch.Generator().get_state(), history, curve.seconds
            )
            return resumable.save(state)

        train_set = target.train
        with (
            progress_bar(config.progress) as progress,
            after_each_step(save, config.checkpoint_every, config.steps) as after_step,
        ):
            task = progress.add_task("meta", total=config.steps, completed=step, psnr="")
            while step < config.steps:
                signals = train_set[batch_indices(step, config.batch, train_set.shape[0], config.seed)]
                pending.append(step_on(signals.to(process.device))[1].clone())  # read back only when logged
                step += 1
                curve.steps.append(step)
                if step % config.eval_every == 0 or step % config.checkpoint_every == 0 or step == config.steps:
                    curve.train_psnr.extend(torch.stack(pending).tolist())
                    pending.clear()
                    progress.update(task, completed=step, psnr=f"train {curve.train_psnr[-1]:.2f} dB")
                if step % config.eval_every == 0 or step == config.steps:
                    test_psnr, _ = evaluate(model, target.test[: config.eval_images], config)
                    curve.eval_steps.append(step)
                    curve.test_psnr.append(test_psnr.mean().item())
                after_step(step)
        curve.seconds = time.perf_counter() - start
        return curve

    def evaluate(  # type: ignore[override]
        self, item: Item, target: ImageSet, network: LatentModulatedField, history: Curve, process: Process
    ) -> Tuple[FitResult, MetaOutputs]:
        config = self.options
        test_psnr, reconstructions = evaluate(network, target.test, config)
        mean, std = mean_std(test_psnr.tolist())
        details = {
            "test_images": target.test.shape[0],
            "final_train_psnr": history.train_psnr[-1],
            "steps": history.steps[-1],
            "seconds": history.seconds,
            "latent_map_params": latent_map_params(network),
        }
        shape = list(self.grid_shape(target))
        record = RunRecord.of(network.field, shape, process.device, config, None)
        result = FitResult(target.description, item.name, shape, MetaMetrics(mean, std), details, record)
        return result, MetaOutputs(history, reconstructions[: config.grid_images])

    def write_outputs(self, out: Path, item: Item, target: ImageSet, outputs: MetaOutputs, result: FitResult) -> None:
        self.outputs[item.name] = outputs  # the run's figures compare the models (summarize)

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return []

    def describe(self, result: FitResult) -> str:
        return (
            f"{result.model}: held-out PSNR {result.metrics.test_psnr_mean:.2f} ± "
            f"{result.metrics.test_psnr_std:.2f} dB after {self.options.inner_steps} inner steps"
        )

    def finished_outputs(self, out: Path, name: str) -> MetaOutputs:
        """The figures' view of a model fitted by an earlier run (``--resume``), from its checkpoint."""
        checkpoint = load_checkpoint(out / name / CHECKPOINT)
        config, training = self.options, checkpoint.metadata["training"]
        model = LatentModulatedField(checkpoint.field, config.latent_dim, config.mapping_layers, config.mapping_hidden)
        model.shifts.load_state_dict(checkpoint.metadata["modules"]["latent_map"])
        _, reconstructions = evaluate(model, self.load(Item(name, config.data, name)).test, config)
        curve = Curve(**training["history"], seconds=training["seconds"])
        return MetaOutputs(curve, reconstructions[: config.grid_images])

    def summarize(self, out: Path, runs: List[Dict[str, Json]], console: Console) -> Dict[str, Json]:
        """Fig. 5: the learning curves and reconstructions of every model, and the run's results.json."""
        config, images = self.options, self.images
        assert images is not None  # every item was loaded
        outputs = {
            str(run["model"]): self.outputs.get(str(run["model"])) or self.finished_outputs(out, str(run["model"]))
            for run in runs
        }
        plot_curves(out / "learning_curve.png", {name: output.curve for name, output in outputs.items()})
        plot_reconstructions(
            out / "reconstructions.png",
            images.test[: config.grid_images],
            {name: output.reconstructions for name, output in outputs.items()},
            f"{config.inner_steps} inner steps from the meta-learned start (held-out images)",
        )
        summary = {
            "data": images.description,
            "protocol": protocol(config),
            "models": {run["model"]: run for run in runs},
        }
        write_json(out / RESULTS, summary)
        console.print(f"-> {out}")
        return summary


def run(config: MetaLearnConfig, console: Console | None = None) -> Dict[str, Any] | None:
    """Meta-learn each of ``config.models``; write checkpoints, curves, reconstructions and results."""
    return run_experiment(MetaSignal(config, console or Console()))
