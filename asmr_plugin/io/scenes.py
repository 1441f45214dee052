"""A synthetic multi-view scene without downloads: textured primitives ray-cast by open3d on the CPU, shaded
Lambertian, written as RGBA views in nerfstudio's Blender format (``transforms_{train,val,test}.json``), which
nerfstudio's own ``blender-data`` parser reads."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
from jaxtyping import Float, Int
from PIL import Image
from rich.console import Console

from asmr_plugin.io.files import prepare_output_dir, run_folder, write_json
from asmr_plugin.io.open3d_loader import open3d

SPLITS = ("train", "val", "test")
CAMERA_ANGLE_X = 0.6911112070083618
"""The horizontal field of view of the Blender synthetic scenes (radians), so the scene frames like theirs."""
CAMERA_DISTANCE = 3.2
"""Distance of every camera from the origin; the objects lie within a radius of about 1 (nerfstudio's Blender scene
box is [-1.5, 1.5]^3)."""
LIGHT = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])
"""The direction the light comes from (world, z up)."""


@dataclass
class SceneConfig:
    """Render a synthetic multi-view scene (a striped sphere, a checkered box, a ringed torus; textures at two scales,
    Lambertian light) into --out in nerfstudio's Blender format, for ``ns-train ... --data OUT``."""

    out: Path
    """The scene's folder (transforms_train/val/test.json and the views)."""
    size: int = 64
    """Side of each square view (pixels)."""
    train: int = 60
    """Training views."""
    val: int = 10
    """Validation views (ns-train evaluates on these)."""
    test: int = 10
    """Test views (ns-eval scores these)."""
    seed: int = 0
    """Seed of the camera positions (the scene is the same for every seed)."""
    overwrite: bool = False
    """Allow writing into a non-empty --out (the scene's own files and folders are replaced)."""

    def check(self) -> None:
        if not 8 <= self.size <= 2048:
            raise ValueError(f"--size must be 8 to 2048 pixels, got {self.size}")
        for split in SPLITS:
            count = getattr(self, split)
            if not 1 <= count <= 10_000:
                raise ValueError(f"--{split} must be 1 to 10,000 views, got {count}")
        if not 0 <= self.seed <= 2**31 - 1:
            raise ValueError(f"--seed must be between 0 and {2**31 - 1}, got {self.seed}")


def meshes() -> List[object]:
    """The scene's objects (open3d tensor meshes, in the order of their geometry ids): a sphere, a box, a torus."""
    o3d = open3d()
    legacy = o3d.geometry.TriangleMesh
    sphere = legacy.create_sphere(radius=0.45, resolution=48).translate((-0.45, -0.1, 0.15))
    box = legacy.create_box(0.6, 0.6, 0.6).translate((0.05, -0.65, -0.75))
    torus = legacy.create_torus(torus_radius=0.38, tube_radius=0.12, radial_resolution=60, tubular_resolution=30)
    torus = torus.rotate(torus.get_rotation_matrix_from_xyz((math.pi / 3, 0.0, 0.4)), center=(0, 0, 0))
    torus = torus.translate((0.45, 0.45, 0.25))
    return [o3d.t.geometry.TriangleMesh.from_legacy(mesh) for mesh in (sphere, box, torus)]


def albedo(points: Float[np.ndarray, "N 3"], objects: Int[np.ndarray, "N"]) -> Float[np.ndarray, "N 3"]:
    """Each object's colour at its surface points: patterns at a coarse and a fine scale (detail at several
    resolutions)."""
    x, y, z = points.T
    colour = np.zeros_like(points)
    sphere, box, torus = objects == 0, objects == 1, objects == 2
    bands = 0.5 + 0.5 * np.sign(np.sin(14 * z))
    dots = (np.sin(45 * x) * np.sin(45 * y) > 0.3).astype(float)
    colour[sphere] = (np.array([0.9, 0.35, 0.2]) * (0.55 + 0.45 * bands[sphere, None])) * (
        1 - 0.35 * dots[sphere, None]
    )
    coarse = (np.floor(x / 0.2) + np.floor(y / 0.2) + np.floor(z / 0.2)) % 2
    fine = (np.floor(x / 0.05) + np.floor(y / 0.05) + np.floor(z / 0.05)) % 2
    light, dark = np.array([0.25, 0.55, 0.95]), np.array([0.95, 0.9, 0.3])
    checker = np.where(coarse[:, None] > 0, light, dark) * (0.75 + 0.25 * fine[:, None])
    colour[box] = checker[box]
    angle = np.arctan2(y - 0.45, x - 0.45)
    hue = 0.5 + 0.5 * np.stack([np.sin(3 * angle), np.sin(3 * angle + 2.1), np.sin(3 * angle + 4.2)], axis=-1)
    stripes = 0.7 + 0.3 * np.sign(np.sin(60 * (x + y + z)))
    colour[torus] = (0.2 + 0.7 * hue[torus]) * stripes[torus, None]
    return colour


def camera_positions(count: int, seed: int) -> Float[np.ndarray, "N 3"]:
    """``count`` camera centres on a sphere around the origin, elevations from -15 to 75 degrees, seeded."""
    generator = np.random.default_rng(seed)
    azimuth = generator.uniform(0, 2 * math.pi, count)
    elevation = np.arcsin(generator.uniform(math.sin(math.radians(-15)), math.sin(math.radians(75)), count))
    directions = np.stack(
        [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], axis=-1
    )
    return CAMERA_DISTANCE * directions


def look_at(eye: Float[np.ndarray, "3"]) -> Float[np.ndarray, "4 4"]:
    """The OpenGL camera-to-world matrix of a camera at ``eye`` looking at the origin, z up (Blender's convention:
    the camera looks along its -z, y up)."""
    forward = -eye / np.linalg.norm(eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, up, -forward, eye
    return matrix


def render_view(scene: object, camera_to_world: Float[np.ndarray, "4 4"], size: int) -> Float[np.ndarray, "H W 4"]:
    """One RGBA view (straight alpha: 0 where no object is hit), rays through the pixel centres as nerfstudio casts
    them."""
    o3d = open3d()
    focal = 0.5 * size / math.tan(0.5 * CAMERA_ANGLE_X)
    j, i = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    directions = np.stack([(j - size / 2) / focal, -(i - size / 2) / focal, -np.ones_like(i)], axis=-1)
    directions = directions @ camera_to_world[:3, :3].T
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    origins = np.broadcast_to(camera_to_world[:3, 3], directions.shape)
    rays = o3d.core.Tensor(np.concatenate([origins, directions], axis=-1).astype(np.float32))
    hits = scene.cast_rays(rays)
    distance = hits["t_hit"].numpy().reshape(-1)
    objects = hits["geometry_ids"].numpy().reshape(-1).astype(np.int64)
    normals = hits["primitive_normals"].numpy().reshape(-1, 3)
    hit = np.isfinite(distance)
    points = origins.reshape(-1, 3) + distance[:, None] * directions.reshape(-1, 3)
    rgb = np.zeros((size * size, 3))
    shade = 0.3 + 0.7 * np.clip(normals[hit] @ LIGHT, 0, None)
    rgb[hit] = np.clip(albedo(points[hit], objects[hit]) * shade[:, None], 0, 1)
    return np.concatenate([rgb, hit[:, None].astype(float)], axis=-1).reshape(size, size, 4)


def write_scene(options: SceneConfig) -> Dict[str, int]:
    """The scene's views and transforms in ``--out`` (Blender format), rendered into a temporary folder beside it and
    moved in at the end, so that a failure leaves nothing half-written; returns the views per split."""
    options.check()
    o3d = open3d()
    scene = o3d.t.geometry.RaycastingScene()
    for mesh in meshes():
        scene.add_triangles(mesh)
    positions = camera_positions(options.train + options.val + options.test, options.seed)
    counts, first = {}, 0
    out = Path(options.out)
    with run_folder(out):
        prepare_output_dir(out, options.overwrite)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as temporary:
            staging = Path(temporary)
            for split in SPLITS:
                count = getattr(options, split)
                (staging / split).mkdir()
                frames = []
                for index, eye in enumerate(positions[first : first + count]):
                    matrix = look_at(eye)
                    rgba = np.round(render_view(scene, matrix, options.size) * 255).astype(np.uint8)
                    Image.fromarray(rgba, "RGBA").save(staging / split / f"r_{index}.png")
                    frames.append({"file_path": f"./{split}/r_{index}", "transform_matrix": matrix.tolist()})
                transforms = {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames}
                write_json(staging / f"transforms_{split}.json", transforms)
                counts[split], first = count, first + count
            for name in [*SPLITS, *(f"transforms_{split}.json" for split in SPLITS)]:  # only now: never half a scene
                target = out / name
                if target.is_dir():
                    shutil.rmtree(target)
                (staging / name).replace(target)
    return counts


def run(config: SceneConfig, console: Console | None = None) -> Dict[str, int]:
    """``asmr-scene``: write the scene; the views per split."""
    start = time.perf_counter()
    counts = write_scene(config)
    views = ", ".join(f"{count} {split}" for split, count in counts.items())
    (console or Console()).print(
        f"{views} views of {config.size}x{config.size} in {time.perf_counter() - start:.1f} s -> {config.out}"
    )
    return counts
