"""Fit 3-D occupancy grids of meshes (Table 6): mixed surface sampling, BCE, IoU, extracted surfaces.

A signed-distance mode shows the paper's limitation (Appendix M): ASMR fits smooth SDFs badly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Literal, Tuple

import numpy as np
import torch
from jaxtyping import Float
from matplotlib.figure import Figure
from rich.console import Console
from torch import Tensor

from asmr_plugin.fields import GridField
from asmr_plugin.fields.initialization import initialize_output, logit_mean
from asmr_plugin.fields.registry import checking_only, parse_bases_option
from asmr_plugin.fitting.options import NetworkOptions, ResumeOptions, RunOptions, require_positive
from asmr_plugin.fitting.summary import run_record, write_summary
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
from asmr_plugin.training.distributed import resolve_device
from asmr_plugin.training.epochs import EpochConfig, EpochPlan, train_epochs
from asmr_plugin.training.interrupts import resume_hint
from asmr_plugin.training.loop import TrainingState
from asmr_plugin.training.optimization import check_finite_weights
from asmr_plugin.training.resume import ResumableFit, check_resumable, finished_results
from asmr_plugin.training.step import capture_allowed, graph_wanted

if TYPE_CHECKING:
    import open3d as o3d

LOSS_NAMES = {"occupancy": "BCE", "sdf": "L1"}
VOXEL_BYTES = 2 * 12 + 1 + 4 + 4
"""What a voxel costs at least while its shape is fitted: its centre twice, its occupancy, target and prediction."""


OCCUPANCY_LR = 1e-4
"""The rate of the paper's occupancy networks."""
OCCUPANCY_WIDTH = 256
"""ASMR's and SIREN's default width for occupancy (the paper's SIREN: 512)."""


@dataclass
class FitOccupancyConfig(NetworkOptions, ResumeOptions, RunOptions):
    """Fit occupancy grids (or signed distances) of meshes with ASMR or SIREN (the paper's Appendix H sampling)."""

    signal_kind = "occupancy"

    data: Path | None = None
    """A mesh (OBJ, PLY, OFF, STL, GLB) or a folder of them. Default: a torus, an arrow and a sphere
    built with open3d, so the command runs offline."""
    model: Literal["asmr", "siren", "grid"] = "asmr"
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
        self.check_network_options()
        self.check_resume_options()
        self.check_run_options()


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
    graph = capture_allowed(graph_wanted(config.graph, device), field.capture_obstacle(full_grid=False))
    epochs = EpochConfig(
        config.epochs,
        config.batch,
        config.learning_rate(field, OCCUPANCY_LR),
        config.seed,
        config.progress,
        config.checkpoint_every,
        config.graph,
    )
    loop = train_epochs(plan, field.parameters(), epochs, graph, config.progress, resume, save)
    check_finite_weights(field)
    return {"steps": plan.total_steps, "seconds": loop.seconds, "losses": loop.losses}


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


def shapes_to_fit(data: Path | None) -> List[Tuple[str, o3d.geometry.TriangleMesh]]:
    if data is None:
        return list(default_shapes().items())
    data = Path(data)
    if data.is_dir():
        files = visible_files(data, MESH_SUFFIXES)
        if not files:
            raise ValueError(f"--data {data} holds no mesh files ({', '.join(sorted(MESH_SUFFIXES))})")
        return [(name, load_mesh(path)) for path, name in output_names(files).items()]
    return [(data.stem, load_mesh(data))]


def run(config: FitOccupancyConfig, console: Console | None = None) -> Dict[str, Any]:
    """Fit every shape, write each one's surface, preview, checkpoint and results, and a Table-6-style summary."""
    config.check_options()
    console = console or Console()
    shapes = shapes_to_fit(config.data)  # every mesh read before anything is written
    with checking_only():  # and the options checked
        build_occupancy_field(config)
    name = "default-shapes" if config.data is None else Path(config.data).stem
    out = check_output_dir(
        config.output_dir("fit_occupancy", f"{name}-{config.model}"),
        config.overwrite,
        config.resume,
    )
    check_resumable(config, out, "*/checkpoint.pt")
    with run_folder(out), resume_hint(out):
        return fit_shapes(config, shapes, prepare_output_dir(out, config.overwrite, config.resume), console)


def fit_shapes(
    config: FitOccupancyConfig, shapes: List[Tuple[str, o3d.geometry.TriangleMesh]], out: Path, console: Console
) -> Dict[str, Any]:
    """Fit each shape into its folder of ``out`` and write the summary."""
    device = resolve_device(config.device)
    runs = []
    for shape_name, mesh in shapes:
        shape_out, metadata = out / shape_name, {"shape": shape_name, "target": config.target}
        previous = finished_results(config, shape_out)
        if previous is not None:
            console.print(f"{shape_name}: already fitted -> {shape_out}")
            runs.append(previous)
            continue
        occupancy = occupancy_grid(mesh, config.resolution)
        values = signed_distance_grid(mesh, config.resolution) if config.target == "sdf" else occupancy.float()
        surface = surface_points(mesh, 100_000, config.seed)
        torch.manual_seed(config.seed)
        field = build_occupancy_field(config).to(device)
        mean = values.mean().reshape(1) if config.target == "sdf" else logit_mean(occupancy)
        initialize_output(field, mean, config.init, config.signal_kind)
        console.print(
            f"[bold]{config.model}[/] on {shape_name} ({config.target}, {config.resolution}^3, "
            f"{occupancy.float().mean():.1%} occupied): {field.num_params():,} params, "
            f"{field.macs().with_bias:,.1f} MACs/voxel"
        )
        resumable = ResumableFit(shape_out / "checkpoint.pt", field, (config.resolution,) * 3, config, metadata)
        with resumable.removed_if_diverged():
            history = fit_shape(field, values, surface, config, resumable.resumed, resumable.save)
        with torch.no_grad():
            prediction = field.render()[..., 0].cpu()
        inside_score = -prediction if config.target == "sdf" else prediction  # positive inside
        shape_iou = iou(inside_score > 0, occupancy)
        metrics = {"iou": shape_iou}
        if config.target == "sdf":
            metrics["sdf_mae"] = (prediction - values).abs().mean().item()
        shape_out.mkdir(exist_ok=True)  # --out was checked; the fit may have saved checkpoints in it
        surface_mesh = extract_surface(inside_score)
        save_checkpoint(shape_out / "checkpoint.pt", field, (config.resolution,) * 3, history["steps"], metadata)
        result = {
            "data": shape_name,
            "model": config.model,
            "target": config.target,
            "shape": [config.resolution] * 3,
            "lr": config.learning_rate(field, OCCUPANCY_LR),
            **metrics,
            "occupied_fraction": occupancy.float().mean().item(),
            "surface_triangles": len(surface_mesh.triangles),
            **history,
            **run_record(field, (config.resolution,) * 3, device, config),
        }
        write_json(shape_out / "results.json", result)  # the work first, then the surface and its picture
        if len(surface_mesh.triangles):
            save_mesh(shape_out / "surface.ply", surface_mesh)
        else:
            console.print("[yellow]the fit predicts no occupied voxel: no surface.ply (try a lower --lr)")
        plot_preview(
            shape_out / "preview.png",
            surface_mesh,
            f"{config.model} on {shape_name} ({config.target}): IoU {shape_iou:.4f}",
        )
        console.print(
            ", ".join(f"{key} {value:.4f}" for key, value in metrics.items())
            + f", {history['seconds']:.1f} s -> {shape_out}"
        )
        runs.append(result)
    protocol = (
        f"{config.epochs} epochs of {config.points_per_epoch:,} points (60% uniform, 20% surface, 20% near, sigma {config.near_sigma}), "
        f"batch {config.batch}, {config.target} with {LOSS_NAMES[config.target]} loss, Adam lr {runs[0]['lr']:g} cosine to 1e-6, grid {config.resolution}^3"
        + (
            ""
            if config.epochs == 200 and config.points_per_epoch == 250_000
            else ", a REDUCED protocol (the paper: 200 epochs of 250K)"
        )
    )
    metric_names = ("iou", "sdf_mae") if config.target == "sdf" else ("iou",)
    return write_summary(
        out, config.model, Path(config.data or "default shapes"), protocol, runs, metric_names, console
    )
