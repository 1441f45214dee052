"""Meshes to occupancy grids, IoU, surface extraction, and fitting occupancy end to end."""

import json
import math
import subprocess

import numpy as np
import pytest
import torch

from asmr_plugin.fitting.occupancy import FitOccupancyConfig, build_occupancy_field, run, sample_epoch
from asmr_plugin.io.meshes import (
    MARGIN,
    extract_surface,
    iou,
    load_mesh,
    occupancy_grid,
    save_mesh,
    signed_distance_grid,
    surface_points,
)
from asmr_plugin.io.open3d_loader import open3d
from helpers import write_sphere

o3d = open3d()


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".stl", ".off"])
def test_sphere_occupancy_matches_its_volume(tmp_path, suffix):
    mesh = load_mesh(write_sphere(tmp_path / f"sphere{suffix}"))  # radius 3, anywhere: normalized to the unit cube
    radius = 0.5 - MARGIN
    occupied = occupancy_grid(mesh, 64).float().mean().item()
    assert occupied == pytest.approx(4 / 3 * math.pi * radius**3, rel=0.02)


def test_open_meshes_still_give_an_interior(tmp_path):
    sphere = o3d.geometry.TriangleMesh.create_sphere(1.0, resolution=40)
    sphere.remove_triangles_by_index(list(range(10)))  # a small hole
    assert not sphere.is_watertight()
    o3d.io.write_triangle_mesh(str(tmp_path / "open.ply"), sphere)
    occupied = occupancy_grid(load_mesh(tmp_path / "open.ply"), 32).float().mean().item()
    assert occupied == pytest.approx(4 / 3 * math.pi * (0.5 - MARGIN) ** 3, rel=0.05)


def test_bad_meshes_are_clear_errors(tmp_path):
    (tmp_path / "empty.ply").write_text("ply\nformat ascii 1.0\nelement vertex 0\nelement face 0\nend_header\n")
    with pytest.raises(ValueError, match="holds no triangles"):
        load_mesh(tmp_path / "empty.ply")
    (tmp_path / "junk.obj").write_bytes(b"\x00\x01 not a mesh")
    with pytest.raises(ValueError, match="holds no triangles"):
        load_mesh(tmp_path / "junk.obj")
    with pytest.raises(ValueError, match="expected a mesh file"):
        load_mesh(write_sphere(tmp_path / "sphere.ply").rename(tmp_path / "sphere.txt"))
    empty = tmp_path / "folder"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no mesh files"):
        run(FitOccupancyConfig(data=empty, out=tmp_path / "out", progress=False))
    assert not (tmp_path / "out").exists()


def test_signed_distance_of_a_sphere(tmp_path):
    mesh = load_mesh(write_sphere(tmp_path / "sphere.ply"))
    distance = signed_distance_grid(mesh, 32)
    centres = (torch.arange(32) + 0.5) / 32
    grid = torch.stack(torch.meshgrid(centres, centres, centres, indexing="ij"), -1)
    exact = (grid - 0.5).norm(dim=-1) - (0.5 - MARGIN)
    assert (distance - exact).abs().max() < 0.005  # the tessellated sphere is within ~0.3% of the round one
    assert torch.equal(distance < 0, occupancy_grid(mesh, 32))


def test_iou_on_known_grids():
    a = torch.zeros(4, 4, 4, dtype=torch.bool)
    b = torch.zeros(4, 4, 4, dtype=torch.bool)
    a[:2], b[1:3] = True, True  # 32 voxels each, 16 shared
    assert iou(a, b) == pytest.approx(16 / 48)
    assert iou(a, a) == 1.0 and iou(a, ~a) == 0.0 and iou(b & ~b, a & ~a) == 1.0


def test_sampling_mixes_uniform_surface_and_near_points(tmp_path):
    mesh = load_mesh(write_sphere(tmp_path / "s.ply"))
    occupancy = occupancy_grid(mesh, 32)
    points, labels = sample_epoch(
        occupancy.float(), surface_points(mesh, 5000, 0), 10_000, 0.01, torch.Generator().manual_seed(0)
    )
    assert points.shape == (10_000, 3) and labels.shape == (10_000, 1)
    distance = ((points / 32 - 0.5).norm(dim=-1) - (0.5 - MARGIN)).abs()
    assert (distance[6000:8000] < 0.01).float().mean() > 0.99  # on the surface
    assert (distance[8000:] < 0.05).float().mean() > 0.95  # near it
    assert torch.equal(labels[:, 0].bool(), occupancy[tuple(points.long().unbind(-1))])


def test_extracted_surface_of_a_ball_and_of_nothing(tmp_path):
    coords = (torch.arange(32) + 0.5) / 32
    grid = torch.stack(torch.meshgrid(coords, coords, coords, indexing="ij"), -1)
    logits = 0.3 - (grid - 0.5).norm(dim=-1)  # a ball of radius 0.3
    mesh = extract_surface(logits)
    radii = (torch.tensor(mesh.vertices) - 0.5).norm(dim=-1)
    assert radii.mean().item() == pytest.approx(0.3, abs=0.02)
    save_mesh(tmp_path / "ball.ply", mesh)
    assert len(o3d.io.read_triangle_mesh(str(tmp_path / "ball.ply")).triangles) == len(mesh.triangles)
    assert len(extract_surface(-torch.ones(8, 8, 8)).triangles) == 0


@pytest.mark.slow
def test_fit_occupancy_script_writes_outputs_and_learns(tmp_path, script):
    write_sphere(tmp_path / "sphere.ply")
    command = [
        *script("fit_occupancy.py"),
        "--data",
        str(tmp_path / "sphere.ply"),
        "--resolution",
        "32",
        "--epochs",
        "10",
        "--points-per-epoch",
        "40000",
        "--hidden-dim",
        "64",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    results = json.loads((tmp_path / "out" / "sphere" / "results.json").read_text())
    assert results["iou"] > 0.6 and results["steps"] == 10 * 10  # 0.76 measured; an untrained field scores ~0.02
    assert (tmp_path / "out" / "sphere" / "preview.png").exists() and (
        tmp_path / "out" / "sphere" / "surface.ply"
    ).exists()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["iou_mean"] == pytest.approx(results["iou"])


@pytest.mark.slow
def test_sdf_mode_fits_signed_distances_and_reports_their_error(tmp_path):
    mesh_path = write_sphere(tmp_path / "sphere.ply")
    config = FitOccupancyConfig(
        data=mesh_path,
        model="siren",
        target="sdf",
        resolution=16,
        epochs=10,
        points_per_epoch=20_000,
        hidden_dim=32,
        lr=1e-3,
        out=tmp_path / "out",
        progress=False,
    )
    torch.manual_seed(config.seed)
    with torch.no_grad():
        untrained = build_occupancy_field(config).render()[..., 0]
    start_error = (untrained - signed_distance_grid(load_mesh(mesh_path), 16)).abs().mean().item()
    summary = run(config)
    results = json.loads((tmp_path / "out" / "sphere" / "results.json").read_text())
    assert results["target"] == "sdf" and results["sdf_mae"] < 0.75 * start_error  # 0.056 vs 0.12 measured
    assert results["iou"] > 0.5  # the predicted inside (SDF < 0) against the occupancy grid: 0.71 measured
    assert summary["sdf_mae_mean"] == pytest.approx(results["sdf_mae"])


def test_flat_and_open_meshes_are_refused_or_named(tmp_path, capsys):
    import open3d as o3d

    from asmr_plugin.io.meshes import load_mesh

    square = o3d.geometry.TriangleMesh()
    square.vertices = o3d.utility.Vector3dVector(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]))
    square.triangles = o3d.utility.Vector3iVector(np.array([[0, 1, 2], [0, 2, 3]]))
    o3d.io.write_triangle_mesh(str(tmp_path / "square.ply"), square)
    with pytest.raises(ValueError, match=r"square.ply is flat .* encloses no volume"):
        load_mesh(tmp_path / "square.ply")
    sphere = o3d.geometry.TriangleMesh.create_sphere()
    sphere.triangles = o3d.utility.Vector3iVector(np.asarray(sphere.triangles)[:-10])
    o3d.io.write_triangle_mesh(str(tmp_path / "open.ply"), sphere)
    load_mesh(tmp_path / "open.ply")
    assert f"warning: {tmp_path / 'open.ply'} is not watertight" in capsys.readouterr().err
    o3d.io.write_triangle_mesh(
        str(tmp_path / "box.stl"), o3d.geometry.TriangleMesh.create_box().compute_triangle_normals()
    )
    load_mesh(tmp_path / "box.stl")
    assert "warning" not in capsys.readouterr().err


def test_resolution_1_names_resolution():
    with pytest.raises(ValueError, match="--resolution must be at least 2"):
        FitOccupancyConfig(resolution=1).check_options()
