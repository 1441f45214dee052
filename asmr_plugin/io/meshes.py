"""Meshes as occupancy grids (open3d), the default shapes, surface sampling and surface extraction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, Tuple

import numpy as np
import torch
from einops import rearrange
from jaxtyping import Bool, Float
from rich.console import Console
from skimage import measure
from torch import Tensor

from asmr_plugin.io.files import atomic_path
from asmr_plugin.io.open3d_loader import open3d

if TYPE_CHECKING:
    import open3d as o3d

MESH_SUFFIXES = {".obj", ".ply", ".off", ".stl", ".glb", ".gltf"}
MARGIN = 0.05
"""Free space left around a normalized mesh on each side of the unit cube."""


FLAT = 1e-6
"""A mesh whose bounding box is thinner than this fraction of its size along some axis encloses no volume."""


def normalized(mesh: o3d.geometry.TriangleMesh, name: str = "the mesh") -> o3d.geometry.TriangleMesh:
    """The mesh scaled uniformly and centred so that its bounding box fits [MARGIN, 1 - MARGIN]^3; a ValueError
    naming ``name`` when it has no extent, or is flat (no volume inside)."""
    o3d = open3d()
    box = mesh.get_axis_aligned_bounding_box()
    extents = np.asarray(box.get_extent(), dtype=float)
    extent = float(np.max(extents))
    if extent <= 0:
        raise ValueError(f"{name} has no extent (all vertices coincide)")
    if float(np.min(extents)) <= FLAT * extent:
        raise ValueError(f"{name} is flat (no thickness along one axis): it encloses no volume to fit as occupancy")
    scaled = o3d.geometry.TriangleMesh(mesh)
    scaled.translate(-box.get_center())
    scaled.scale((1 - 2 * MARGIN) / extent, center=np.zeros(3))
    scaled.translate(np.full(3, 0.5))
    return scaled


def declared_counts(path: Path) -> Tuple[int, int] | None:
    """The vertex and face counts a PLY or OFF header declares, or a binary STL's triangles as its size allows (a
    file cut short reads as a partial mesh, without an error, in open3d); None for other formats."""
    suffix = path.suffix.lower()
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if suffix == ".ply":
        header = head.split(b"end_header", 1)[0].decode("ascii", "replace").splitlines()
        counts = {
            fields[1]: int(fields[2])
            for fields in (line.split() for line in header)
            if len(fields) == 3 and fields[0] == "element" and fields[2].isdigit()
        }
        return (counts["vertex"], counts["face"]) if {"vertex", "face"} <= counts.keys() else None
    if suffix == ".off":
        words = [line.split("#", 1)[0].split() for line in head.decode("ascii", "replace").splitlines()]
        numbers = [word for line in words for word in line if word != "OFF"]
        return (
            (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 and all(w.isdigit() for w in numbers[:2]) else None
        )
    if suffix == ".stl" and not head.lstrip().startswith(b"solid") and len(head) >= 84:
        triangles = int.from_bytes(head[80:84], "little")
        complete = min(triangles, (path.stat().st_size - 84) // 50)
        return (0, triangles) if complete < triangles else None
    return None


def load_mesh(path: Path) -> o3d.geometry.TriangleMesh:
    """A mesh file (OBJ, PLY, OFF, STL, GLB/GLTF) normalized to the unit cube."""
    o3d = open3d()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--data {path} does not exist")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"--data {path}: expected a mesh file ({', '.join(sorted(MESH_SUFFIXES))})")
    mesh = o3d.io.read_triangle_mesh(str(path))
    if len(mesh.triangles) == 0:
        raise ValueError(f"{path} holds no triangles (an empty or unreadable mesh)")
    declared = declared_counts(path)
    if declared is not None and (len(mesh.vertices) < declared[0] or len(mesh.triangles) < declared[1]):
        raise ValueError(
            f"{path} is damaged or cut short: it declares {declared[0]:,} vertices and {declared[1]:,} faces, "
            f"{len(mesh.vertices):,} and {len(mesh.triangles):,} triangles could be read"
        )
    if not np.isfinite(np.asarray(mesh.vertices)).all():
        raise ValueError(f"{path} holds non-finite vertex coordinates (NaN or infinity)")
    scaled = normalized(mesh, str(path))
    welded = o3d.geometry.TriangleMesh(scaled).remove_duplicated_vertices()  # STL repeats each triangle's vertices
    if not welded.is_watertight():
        Console(stderr=True).print(
            f"warning: {path} is not watertight (open, with holes or self-intersecting): its inside is not well "
            "defined; the occupancy target is a vote of rays and may not be what you expect",
            highlight=False,
            soft_wrap=True,
        )
    return scaled


def default_shapes() -> Dict[str, o3d.geometry.TriangleMesh]:
    """Shapes built from open3d primitives, so the experiment runs offline."""
    o3d = open3d()
    arrow = o3d.geometry.TriangleMesh.create_arrow(0.15, 0.3, 0.8, 0.5, resolution=40)
    return {
        "torus": normalized(o3d.geometry.TriangleMesh.create_torus(1.0, 0.35, 60, 30)),
        "arrow": normalized(arrow),
        "sphere": normalized(o3d.geometry.TriangleMesh.create_sphere(1.0, resolution=40)),
    }


def voxel_centres(resolution: int) -> Float[Tensor, "R R R 3"]:
    axis = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1)


def _scene_and_centres(
    mesh: o3d.geometry.TriangleMesh, resolution: int
) -> tuple[o3d.t.geometry.RaycastingScene, o3d.core.Tensor]:
    o3d = open3d()
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(mesh))
    return scene, o3d.core.Tensor(rearrange(voxel_centres(resolution), "x y z d -> (x y z) d").numpy())


def occupancy_grid(mesh: o3d.geometry.TriangleMesh, resolution: int, rays: int = 3) -> Bool[Tensor, "R R R"]:
    """Whether each voxel centre lies inside the mesh: the majority over ``rays`` ray-parity tests,
    which tolerates meshes that are not quite watertight."""
    scene, points = _scene_and_centres(mesh, resolution)
    inside = scene.compute_occupancy(points, nsamples=rays).numpy() > 0.5
    return torch.from_numpy(inside).reshape(resolution, resolution, resolution)


def signed_distance_grid(mesh: o3d.geometry.TriangleMesh, resolution: int, rays: int = 3) -> Float[Tensor, "R R R"]:
    """The signed distance from each voxel centre to the surface, in unit-cube lengths, negative
    inside (the sign by the majority of ``rays`` ray-parity tests, as in :func:`occupancy_grid`)."""
    scene, points = _scene_and_centres(mesh, resolution)
    distance = scene.compute_signed_distance(points, nsamples=rays).numpy()
    return torch.from_numpy(distance).reshape(resolution, resolution, resolution)


def surface_points(mesh: o3d.geometry.TriangleMesh, count: int, seed: int) -> Float[Tensor, "N 3"]:
    """Points drawn uniformly on the surface, in unit-cube coordinates."""
    o3d = open3d()
    o3d.utility.random.seed(seed)
    return torch.from_numpy(np.asarray(mesh.sample_points_uniformly(count).points, dtype=np.float32))


def iou(predicted: Bool[Tensor, "*grid"], target: Bool[Tensor, "*grid"]) -> float:
    """Intersection over union of two occupancy grids (1 when both are empty)."""
    union = (predicted | target).sum().item()
    return 1.0 if union == 0 else (predicted & target).sum().item() / union


def extract_surface(logits: Float[Tensor, "R R R"]) -> o3d.geometry.TriangleMesh:
    """Marching cubes at level 0 of a grid positive inside (occupancy logits, or minus a signed
    distance), closed at the grid's border, in unit-cube coordinates."""
    o3d = open3d()
    resolution = logits.shape[0]
    padded = np.pad(logits.numpy(), 1, constant_values=-1.0)
    if padded.max() <= 0:
        return o3d.geometry.TriangleMesh()
    vertices, faces, _, _ = measure.marching_cubes(padded, level=0.0)
    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector((vertices - 0.5) / resolution), o3d.utility.Vector3iVector(faces)
    )
    mesh.compute_vertex_normals()
    return mesh


def save_mesh(path: Path, mesh: o3d.geometry.TriangleMesh) -> None:
    o3d = open3d()
    with atomic_path(path) as temporary:
        if not o3d.io.write_triangle_mesh(str(temporary), mesh):
            raise OSError(f"open3d could not write {path}")
