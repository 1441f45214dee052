"""Fit 3-D occupancy grids of meshes (Table 6): mixed surface sampling, BCE, IoU, extracted surfaces.

A signed-distance mode shows the paper's limitation (Appendix M): ASMR fits smooth SDFs badly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Literal, Tuple, Type

import numpy as np
import torch
from jaxtyping import Bool, Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.initialization import initialize_output, logit_mean
from asmr_plugin.fields.registry import checking_only, model_choices, parse_bases_option
from asmr_plugin.fitting.options import ExperimentOptions, require_positive
from asmr_plugin.fitting.results import FitResult, Json, Metrics, OccupancyMetrics, RunRecord, SdfMetrics
from asmr_plugin.fitting.runner import run_experiment
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.files import output_names, readable, save_figure, visible_files
from asmr_plugin.io.meshes import (
    MESH_SUFFIXES,
    default_shapes,
    extract_surface,
    iou,
    load_mesh,
    occupancy_grid,
    save_mesh,
    signed_distance_grid,
    surface_points,
)
from asmr_plugin.memory import check_memory
from asmr_plugin.paper.networks import OCCUPANCY_LR, OCCUPANCY_WIDTH
from asmr_plugin.training.distributed import Process
from asmr_plugin.training.epochs import EpochPlan
from asmr_plugin.training.loop import TrainingState
from asmr_plugin.training.resume import ResumableFit
from asmr_plugin.training.spec import Custom, train

if TYPE_CHECKING:
    import open3d as o3d

LOSS_NAMES = {"occupancy": "BCE", "sdf": "L1"}
POINT_BYTES = 2 * 4 * (3 + 3 + 1)
"""What a sampled point costs at least: its coordinates, its offset and its label in float32, twice over while
an epoch is drawn."""
VOXEL_BYTES = 2 * 12 + 1 + 4 + 4
"""What a voxel costs at least while its shape is fitted: its centre twice, its occupancy, target and prediction."""


OccupancyModel = model_choices(("asmr", "siren", "grid"))
"""The networks of the paper's Table 6 (and the dense grid), and plug-in networks (at their own defaults)."""


@dataclass
class FitOccupancyConfig(ExperimentOptions):
    """Fit occupancy grids (or signed distances) of meshes with ASMR or SIREN (the paper's Appendix H sampling)."""

    signal_kind = "occupancy"

    data: Path | None = None
    """A mesh (OBJ, PLY, OFF, STL, GLB) or a folder of them. Default: a torus, an arrow and a sphere
    built with open3d, so the command runs offline."""
    model: OccupancyModel = "asmr"
    target: Literal["occupancy", "sdf"] = "occupancy"
    """occupancy: inside or not per voxel, BCE (Table 6). sdf: the signed distance at voxel centres
    (unit-cube lengths, negative inside), L1 loss; IoU then compares the predicted inside (< 0)."""
    resolution: int = 128
    """Occupancy grid size per axis; ASMR uses base-2 bases (log2 of it levels) when it is a power of 2."""
    hidden_dim: int | None = None
    """Width. Default: 256 (the paper's SIREN: 512)."""
    num_layers: int | None = None
    """Linear layers. Default: log2(resolution) (ASMR: one per level; the paper's SIREN has 10)."""
    lr: float | None = None
    """Initial Adam learning rate, cosine annealing to 1e-6. Default: 1e-4 (the paper's for ASMR and SIREN); the
    dense grid's own rate for it."""
    bases: Tuple[str, ...] | None = None
    """ASMR bases per axis. Default: base 2 at every level when --resolution is a power of 2, else chosen for it."""
    epochs: int = 200
    points_per_epoch: int = 250_000
    """Samples per epoch: 60% uniform, 20% on the surface, 20% near it."""
    batch: int = 4096
    near_sigma: float = 0.01
    """Standard deviation of the near-surface offsets, in unit-cube lengths."""

    def check_options(self) -> None:
        """A ValueError naming the first bad option."""
        require_positive(self, "resolution", "epochs", "points_per_epoch", "batch", "near_sigma")
        if self.resolution < 2:
            raise ValueError(f"--resolution must be at least 2 voxels per axis, got {self.resolution}")
        check_memory(
            VOXEL_BYTES * self.resolution**3, f"--resolution {self.resolution}: a {self.resolution}^3 voxel grid"
        )
        check_memory(
            POINT_BYTES * self.points_per_epoch, f"--points-per-epoch {self.points_per_epoch}: an epoch's points"
        )
        super().check_options()


def sample_epoch(
    values: Float[Tensor, "R R R"],
    surface: Float[Tensor, "S 3"],
    count: int,
    sigma: float,
    generator: torch.Generator,
) -> Tuple[Float[Tensor, "N 3"], Float[Tensor, "N 1"]]:
    """``count`` points in voxel units (60% uniform, 20% on, 20% near the surface) and the values of their voxels."""
    resolution = values.shape[0]
    on, near = int(0.2 * count), int(0.2 * count)
    uniform = torch.rand(count - on - near, 3, generator=generator)
    chosen = surface[torch.randint(0, surface.shape[0], (on + near,), generator=generator)]
    offsets = torch.randn(near, 3, generator=generator) * sigma
    unit = torch.cat([uniform, chosen[:on], chosen[on:] + offsets]).clamp(0, 1 - 1e-6)
    points = unit * resolution
    labels = values[tuple(points.long().unbind(-1))].float()[:, None]
    return points, labels


def build_occupancy_field(config: FitOccupancyConfig) -> GridField:
    """ASMR with base-2 bases (when the resolution is a power of 2), a SIREN as deep, or a dense grid of ASMR's
    parameters."""
    shape, levels = (config.resolution,) * 3, round(math.log2(config.resolution))
    width = {"hidden_dim": OCCUPANCY_WIDTH}
    if config.model == "siren":
        return config.build("siren", shape, 1, defaults={"num_layers": levels, **width})
    base_two = (",".join(["2"] * levels),) if 2**levels == config.resolution and config.num_layers is None else None
    if config.model == "grid":
        asmr = {**width, "bases": parse_bases_option(base_two, 3)} if base_two else width
        return config.build("grid", shape, 1, reference=asmr)
    if config.model != "asmr":  # a plug-in network, at its own defaults
        return config.build(config.model, shape, 1)
    return config.build("asmr", shape, 1, defaults=width, bases=config.bases or base_two)


def target_loss(prediction: Float[Tensor, "N 1"], labels: Float[Tensor, "N 1"], target: str) -> Tensor:
    if target == "sdf":
        return torch.nn.functional.l1_loss(prediction, labels)
    return torch.nn.functional.binary_cross_entropy_with_logits(prediction, labels)


def fit_shape(
    field: GridField,
    values: Float[Tensor, "R R R"],
    surface: Float[Tensor, "S 3"],
    config: FitOccupancyConfig,
    resume: TrainingState | None = None,
    save: Callable[[TrainingState], str] | None = None,
) -> Dict[str, Any]:
    """Fit ``field`` to the voxel ``values`` with fresh points each epoch; ``resume`` and ``save``
    work as in :func:`~asmr_plugin.training.loop.fit`."""
    device = next(field.parameters()).device
    steps_per_epoch = math.ceil(config.points_per_epoch / config.batch)

    def batches(generator: torch.Generator, first_step: int) -> Iterator[Tuple[Tensor, Tensor]]:
        points, labels = sample_epoch(values, surface, config.points_per_epoch, config.near_sigma, generator)
        for first in range(first_step * config.batch, points.shape[0], config.batch):
            yield points[first : first + config.batch].to(device), labels[first : first + config.batch].to(device)

    def loss(points: Float[Tensor, "B 3"], labels: Float[Tensor, "B 1"]) -> Tuple[Tensor, Tensor]:
        value = target_loss(field(points), labels, config.target)
        return value, value.detach()

    plan = EpochPlan(
        steps_per_epoch,
        config.epochs * steps_per_epoch,
        batches,
        loss,
        lambda value: f"{LOSS_NAMES[config.target]} {value:.4f}",
        log_every=50,
    )
    spec = config.train_spec(field, Custom(plan), task_rate=OCCUPANCY_LR)
    return train(field, values, spec, resume, save, Process(device=device))


def plot_preview(path: Path, mesh: o3d.geometry.TriangleMesh, title: str, max_faces: int = 20_000) -> None:
    """A shaded matplotlib view of the extracted surface (no display or GPU needed)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if len(mesh.triangles) > max_faces:
        mesh = mesh.simplify_quadric_decimation(max_faces)
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.triangles)
    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot(projection="3d")
    if len(faces):
        triangles = vertices[faces]
        normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        shade = np.abs(normals @ np.array([0.3, 0.5, 0.8])) / (np.linalg.norm(normals, axis=1) + 1e-12)
        axes.add_collection3d(Poly3DCollection(triangles, facecolors=np.outer(0.3 + 0.7 * shade, [0.55, 0.7, 0.9])))
    axes.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1), title=title)
    axes.set_axis_off()
    save_figure(path, figure, dpi=110)


@dataclass
class ShapeTarget:
    """What a shape is fitted to: its voxels' occupancy, the fitted values (occupancy or signed distance) and points
    on its surface (for the sampling)."""

    occupancy: Bool[Tensor, "R R R"]
    values: Float[Tensor, "R R R"]
    surface: Float[Tensor, "S 3"]


@dataclass
class ShapeOutputs:
    """A fitted shape's extracted surface and its IoU (for the preview's title)."""

    surface: o3d.geometry.TriangleMesh
    iou: float


class OccupancySignal(Signal[FitOccupancyConfig, ShapeTarget, Dict[str, Any], ShapeOutputs]):
    """Each mesh of a run (the default shapes, a file, or a folder's files) fitted in a folder of its own, and a
    Table-6-style summary."""

    experiment = "fit_occupancy"

    def metrics_type(self) -> Type[Metrics]:
        return SdfMetrics if self.options.target == "sdf" else OccupancyMetrics

    def run_name(self) -> str:
        data = self.options.data
        return f"{'default-shapes' if data is None else Path(data).stem}-{self.options.model}"

    def folder_run(self) -> bool:
        return True

    def items(self) -> List[Item]:
        data = self.options.data
        if data is None:
            return [Item(name, None, name, mesh) for name, mesh in default_shapes().items()]
        data = Path(data)
        if not data.is_dir():
            return [Item(data.stem, data, readable(data.stem), load_mesh(data))]
        files = visible_files(data, MESH_SUFFIXES)
        if not files:
            raise ValueError(f"--data {data} holds no mesh files ({', '.join(sorted(MESH_SUFFIXES))})")
        return [Item(name, path, readable(name), load_mesh(path)) for path, name in output_names(files).items()]

    def check(self, items: List[Item]) -> None:
        with checking_only():  # the network does not depend on the shape
            build_occupancy_field(self.options)

    def load(self, item: Item) -> ShapeTarget:
        config, mesh = self.options, item.payload
        occupancy = occupancy_grid(mesh, config.resolution)
        values = signed_distance_grid(mesh, config.resolution) if config.target == "sdf" else occupancy.float()
        return ShapeTarget(occupancy, values, surface_points(mesh, 100_000, config.seed))

    def network(self, item: Item, target: ShapeTarget, process: Process) -> GridField:
        config = self.options
        field = build_occupancy_field(config).to(process.device)
        sdf = config.target == "sdf"
        mean = target.values.mean().reshape(1) if sdf else logit_mean(target.occupancy)
        initialize_output(field, mean, config.init, config.signal_kind)
        return field

    def grid_shape(self, target: ShapeTarget) -> Tuple[int, ...]:
        return (self.options.resolution,) * 3

    def announce(self, item: Item, target: ShapeTarget, network: GridField, process: Process) -> str:
        config = self.options
        return (
            f"[bold]{config.model}[/] on {item.label} ({config.target}, {config.resolution}^3, "
            f"{target.occupancy.float().mean():.1%} occupied): {network.num_params():,} params, "
            f"{network.macs().with_bias:,.1f} MACs/voxel"
        )

    def checkpoint_metadata(self, item: Item) -> Dict[str, object]:
        return {"shape": item.label, "target": self.options.target}

    def train(
        self, item: Item, target: ShapeTarget, network: GridField, resumable: ResumableFit, process: Process
    ) -> Dict[str, Any]:
        return fit_shape(network, target.values, target.surface, self.options, resumable.resumed, resumable.save)

    def evaluate(
        self, item: Item, target: ShapeTarget, network: GridField, history: Dict[str, Any], process: Process
    ) -> Tuple[FitResult, ShapeOutputs]:
        config = self.options
        with torch.no_grad():
            prediction = network.render()[..., 0].cpu()
        inside_score = -prediction if config.target == "sdf" else prediction  # positive inside
        shape_iou = iou(inside_score > 0, target.occupancy)
        if config.target == "sdf":
            metrics: OccupancyMetrics = SdfMetrics(shape_iou, (prediction - target.values).abs().mean().item())
        else:
            metrics = OccupancyMetrics(shape_iou)
        surface = extract_surface(inside_score)
        result = FitResult(
            data=item.label,
            model=config.model,
            shape=[config.resolution] * 3,
            metrics=metrics,
            details={
                "target": config.target,
                "lr": config.learning_rate(network, OCCUPANCY_LR),
                "occupied_fraction": target.occupancy.float().mean().item(),
                "surface_triangles": len(surface.triangles),
                **history,
            },
            record=RunRecord.of(network, self.grid_shape(target), process.device, config, None),
        )
        return result, ShapeOutputs(surface, shape_iou)

    def write_outputs(
        self, out: Path, item: Item, target: ShapeTarget, outputs: ShapeOutputs, result: FitResult
    ) -> None:
        config = self.options
        if len(outputs.surface.triangles):
            save_mesh(out / "surface.ply", outputs.surface)
        else:
            self.console.print("[yellow]the fit predicts no occupied voxel: no surface.ply (try a lower --lr)")
        title = f"{config.model} on {item.label} ({config.target}): IoU {outputs.iou:.4f}"
        plot_preview(out / "preview.png", outputs.surface, title)

    def output_files(self, results: Dict[str, Json]) -> List[str]:
        return ["preview.png"] + (["surface.ply"] if results.get("surface_triangles") else [])

    def describe(self, result: FitResult) -> str:
        metrics = ", ".join(f"{key} {value:.4f}" for key, value in result.metrics.as_json().items())
        return f"{metrics}, {result.details['seconds']:.1f} s"

    def summary_metrics(self) -> Tuple[str, ...]:
        return ("iou", "sdf_mae") if self.options.target == "sdf" else ("iou",)

    def summary_source(self) -> str:
        return readable(Path(self.options.data or "default shapes"))

    def protocol(self, runs: List[FitResult]) -> str:
        config = self.options
        return (
            f"{config.epochs} epochs of {config.points_per_epoch:,} points (60% uniform, 20% surface, 20% near, "
            f"sigma {config.near_sigma}), batch {config.batch}, {config.target} with {LOSS_NAMES[config.target]} "
            f"loss, Adam lr {runs[0].details['lr']:g} cosine to 1e-6, grid {config.resolution}^3"
            + (
                ""
                if config.epochs == 200 and config.points_per_epoch == 250_000
                else ", a REDUCED protocol (the paper: 200 epochs of 250K)"
            )
        )


def run(config: FitOccupancyConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit every shape, write each one's surface, preview, checkpoint and results, and a Table-6-style summary."""
    return run_experiment(OccupancySignal(config, console or Console()))
