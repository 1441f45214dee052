"""``asmr-bake``: a trained asmr-nerf evaluated on its whole grid by activation sharing (``ASMRField.render``), written
as an ``.npz`` of density and colour (and a mesh by marching cubes), with the time and MACs per voxel against
point-by-point evaluation, and the test views rendered from the baked grid beside the field's own."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch
from einops import rearrange
from jaxtyping import Float
from nerfstudio.cameras.rays import Frustums, RaySamples
from nerfstudio.field_components.activations import trunc_exp
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.fields.base_field import Field, get_normalized_directions
from rich.console import Console
from torch import Tensor, nn

from asmr_plugin.fields.asmr import ASMRField
from asmr_plugin.fields.base import cells_of, grid_coords
from asmr_plugin.io.files import atomic_path, check_input, write_json
from asmr_plugin.macs import mlp_macs
from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig, radiance_field
from asmr_plugin.nerfstudio.radiance_field import ASMRRadianceField


@dataclass(frozen=True)
class BakedGrid:
    """The field's density and feature at the centre of every cell of its grid (``[*grid, 1]``, ``[*grid, F]``)."""

    density: Float[Tensor, "X Y Z 1"]
    features: Float[Tensor, "X Y Z F"]


def bake(field: ASMRRadianceField) -> BakedGrid:
    """Every cell of ``field``'s grid by activation sharing: each layer's matrix product once per distinct cell of its
    level, never per voxel."""
    with torch.no_grad():
        raw = field.network.render()
    return BakedGrid(trunc_exp(raw[..., :1]), raw[..., 1:])


def bake_point_by_point(field: ASMRRadianceField, chunk: int = 1 << 16) -> BakedGrid:
    """The same grid with the network run once per voxel (``forward_per_point``): the reference ``bake`` equals."""
    shape = tuple(int(size) for size in field.grid.tolist())
    coords = rearrange(grid_coords(shape, field.grid.device), "... d -> (...) d")
    with torch.no_grad():
        raw = torch.cat([field.network.forward_per_point(part) for part in coords.split(chunk)])
    raw = raw.reshape(*shape, -1)
    return BakedGrid(trunc_exp(raw[..., :1]), raw[..., 1:])


class BakedRadianceField(Field):
    """A baked grid read back cell by cell, with the trained field's colour head: the trained field's own values
    (ASMR is constant over each cell of its finest level)."""

    def __init__(self, trained: ASMRRadianceField, grid: BakedGrid) -> None:
        super().__init__()
        self.trained, self.grid = trained, grid

    def get_density(self, ray_samples: RaySamples) -> Tuple[Tensor, Tensor]:
        coords, inside = self.trained.grid_coords(ray_samples.frustums.get_positions())
        cells = cells_of(coords, self.grid.density.shape[:3]).unbind(-1)
        return self.grid.density[cells] * inside, self.grid.features[cells]

    def get_outputs(self, ray_samples: RaySamples, density_embedding: Tensor | None = None) -> Dict:
        assert density_embedding is not None
        directions = self.trained.direction_encoding(get_normalized_directions(ray_samples.frustums.directions))
        return {FieldHeadNames.RGB: self.trained.head(torch.cat([density_embedding, directions], dim=-1))}


def diffuse_colour(field: ASMRRadianceField, features: Float[Tensor, "*grid F"], views: int = 64) -> Tensor:
    """The colour of every cell averaged over ``views`` directions spread on the sphere (what a viewer-independent
    tool can show)."""
    index = torch.arange(views, dtype=torch.float32) + 0.5
    z = 1 - 2 * index / views
    angle = math.pi * (1 + 5**0.5) * index
    radius = (1 - z**2).sqrt()
    directions = torch.stack([radius * angle.cos(), radius * angle.sin(), z], dim=-1).to(features.device)
    encoded = field.direction_encoding((directions + 1) / 2)  # get_normalized_directions: [-1, 1] -> [0, 1]
    flat = rearrange(features, "... f -> (...) f")
    with torch.no_grad():
        colour = torch.stack(
            [field.head(torch.cat([flat, encoded[i].expand(len(flat), -1)], dim=-1)) for i in range(views)]
        ).mean(0)
    return colour.reshape(*features.shape[:-1], 3)


def time_nerf_mlp(
    model_config: ASMRNerfModelConfig, aabb: Float[Tensor, "2 3"], shape: Tuple[int, ...], chunk: int = 1 << 16
) -> Dict[str, float]:
    """Seconds and MACs per voxel of asmr-nerf's baseline, nerfstudio's ``NeRFField`` (``--pipeline.model.field
    nerf``), for the density and features of the same grid of points: its positional encoding and base MLP once per
    voxel. The cost of a forward pass does not depend on the weights, so a fresh field times it."""
    baseline = radiance_field(dataclasses.replace(model_config, field="nerf"), aabb.cpu()).to(aabb.device)
    unit = grid_coords(shape, aabb.device) / (torch.tensor(shape, device=aabb.device) - 1).clamp(min=1)
    positions = rearrange(aabb[0] + unit * (aabb[1] - aabb[0]), "... d -> (...) d")
    start = time.perf_counter()
    with torch.no_grad():
        for part in positions.split(chunk):
            ones = part.new_ones(len(part), 1)
            baseline.get_density(RaySamples(frustums=Frustums(part, part, ones * 0, ones * 0, ones)))
    seconds = time.perf_counter() - start
    layers = [m for m in (*baseline.mlp_base.modules(), baseline.field_output_density) if isinstance(m, nn.Linear)]
    return {
        "seconds": seconds,
        "macs_per_voxel": float(sum(m.in_features * m.out_features + m.out_features for m in layers)),
    }


def per_point_macs(network: ASMRField) -> float:
    """MACs (with biases) of one point through ASMR run point by point: the sine MLP and each level's modulation."""
    levels, axes = network.encoding.num_levels, len(network.bases)
    widths = [axes] + [network.hidden_dim] * (levels - 1) + [network.out_dim]
    return mlp_macs(widths).with_bias + (levels - 1) * axes * network.hidden_dim


@dataclass
class BakeConfig:
    """Bake a trained ``ns-train asmr-nerf`` run: its field on its whole grid by activation sharing, as an .npz of
    density and colour (and a PLY mesh), timed against point-by-point evaluation; the test views rendered from the
    baked grid beside the field's own."""

    load_config: Path
    """The run's config.yml (outputs/<scene>/asmr-nerf/<time>/config.yml)."""
    out: Path
    """The .npz to write (density [X, Y, Z], rgb [X, Y, Z, 3], the scene box and the grid's shape); a report beside
    it (<out>.json), and with --mesh-level a mesh (<out>.ply)."""
    mesh_level: float | None = 10.0
    """Density of the marching-cubes surface (None: no mesh)."""
    overwrite: bool = False
    """Replace an existing --out (and its .json, .ply)."""
    test_views: bool = True
    """Render the test views from the baked grid and from the field (their PSNR side by side)."""


def check_run_config(path: Path) -> None:
    """A ValueError unless ``path`` is the config.yml of an asmr-nerf run."""
    import yaml

    check_input(path, "--load-config")
    if not Path(path).is_file():
        raise ValueError(f"--load-config {path} is a folder; expected a run's config.yml")
    try:
        run_config = yaml.load(Path(path).read_text(), Loader=yaml.Loader)
    except (yaml.YAMLError, UnicodeDecodeError, TypeError, AttributeError) as error:
        raise ValueError(f"--load-config {path} is not a nerfstudio config.yml ({type(error).__name__})") from None
    method = getattr(run_config, "method_name", None)
    if method != "asmr-nerf":
        raise ValueError(f"--load-config {path} is {'a run of ' + method if method else 'no run'}, not of asmr-nerf")


def run(config: BakeConfig, console: Console | None = None) -> Dict[str, object]:
    from nerfstudio.utils.eval_utils import eval_setup

    console = console or Console()
    check_run_config(config.load_config)
    outputs = [
        config.out,
        config.out.with_suffix(".json"),
        *([config.out.with_suffix(".ply")] if config.mesh_level is not None else []),
    ]
    existing = [path for path in outputs if path.exists()]
    if existing and not config.overwrite:
        raise ValueError(f"--out: {existing[0]} exists; pass --overwrite to replace it")
    _, pipeline, _, _ = eval_setup(config.load_config, test_mode="test")
    field = pipeline.model.field
    if not isinstance(field, ASMRRadianceField):
        raise ValueError(
            f"--load-config {config.load_config} is not an asmr-nerf run (its field: {type(field).__name__})"
        )
    start = time.perf_counter()
    grid = bake(field)
    shared_seconds = time.perf_counter() - start
    start = time.perf_counter()
    reference = bake_point_by_point(field)
    per_point_seconds = time.perf_counter() - start
    nerf_mlp = time_nerf_mlp(pipeline.model.config, field.aabb, tuple(grid.density.shape[:3]))
    network = field.network
    report = {
        "grid": list(grid.density.shape[:3]),
        "seconds_shared": shared_seconds,
        "seconds_per_point": per_point_seconds,
        "speedup": per_point_seconds / shared_seconds,
        "macs_per_voxel_shared": network.macs().with_bias,
        "macs_per_voxel_per_point": per_point_macs(network),
        "seconds_nerf_mlp": nerf_mlp["seconds"],
        "macs_per_voxel_nerf_mlp": nerf_mlp["macs_per_voxel"],
        "speedup_vs_nerf_mlp": nerf_mlp["seconds"] / shared_seconds,
        "max_abs_difference": {
            "density": float((grid.density - reference.density).abs().max()),
            "features": float((grid.features - reference.features).abs().max()),
        },
    }
    rgb = diffuse_colour(field, grid.features)
    if config.test_views:
        report["test_psnr_field"] = pipeline.get_average_eval_image_metrics()["psnr"]
        pipeline.model.field = BakedRadianceField(field, grid)
        report["test_psnr_baked"] = pipeline.get_average_eval_image_metrics()["psnr"]
        pipeline.model.field = field
    if config.mesh_level is not None:  # before any file: a level the density never crosses writes nothing
        check_mesh_level(grid.density[..., 0], config.mesh_level)
    with atomic_path(config.out) as temporary:
        with open(temporary, "wb") as handle:
            np.savez_compressed(
                handle,
                density=grid.density[..., 0].cpu().numpy(),
                rgb=rgb.cpu().numpy(),
                aabb=field.aabb.cpu().numpy(),
            )
    if config.mesh_level is not None:
        report["mesh"] = write_mesh(config.out.with_suffix(".ply"), grid.density[..., 0], rgb, field, config.mesh_level)
    write_json(config.out.with_suffix(".json"), report)
    console.print(
        f"{'x'.join(map(str, report['grid']))} grid by activation sharing in {shared_seconds:.2f} s, point by point "
        f"{per_point_seconds:.1f} s ({report['speedup']:.0f}x), nerfstudio's NeRFField {nerf_mlp['seconds']:.1f} s "
        f"({report['speedup_vs_nerf_mlp']:.0f}x); largest difference {report['max_abs_difference']} -> {config.out}"
    )
    return report


def check_mesh_level(density: Tensor, level: float) -> None:
    """A ValueError naming --mesh-level when the density never crosses it (marching cubes would find no surface)."""
    low, high = float(density.min()), float(density.max())
    if not low < level < high:
        raise ValueError(
            f"--mesh-level {level}: the baked density lies in [{low:.3g}, {high:.3g}]; choose a level inside it"
        )


def write_mesh(path: Path, density: Tensor, rgb: Tensor, field: ASMRRadianceField, level: float) -> Dict[str, int]:
    """The surface where the density crosses ``level`` (marching cubes), in world coordinates, coloured by the grid;
    a ValueError when the density never crosses it."""
    from skimage.measure import marching_cubes

    from asmr_plugin.io.open3d_loader import open3d

    check_mesh_level(density, level)
    values = density.cpu().numpy()
    vertices, faces, _, _ = marching_cubes(values, level)
    cells = np.clip(np.round(vertices).astype(int), 0, np.array(values.shape) - 1)
    colours = rgb.cpu().numpy()[tuple(cells.T)]
    low, high = field.aabb.cpu().numpy()
    world = low + vertices / (np.array(values.shape) - 1) * (high - low)
    o3d = open3d()
    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(world), o3d.utility.Vector3iVector(faces))
    mesh.vertex_colors = o3d.utility.Vector3dVector(colours.astype(np.float64))
    with atomic_path(path) as temporary:
        written = Path(f"{temporary}.ply")
        if not o3d.io.write_triangle_mesh(str(written), mesh):
            raise OSError(f"{path} could not be written")
        written.replace(temporary)
    return {"vertices": len(world), "faces": len(faces)}
