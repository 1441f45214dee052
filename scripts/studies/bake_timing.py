"""asmr-bake's timings on a 128^3 grid for asmr-nerf fields of several widths and feature sizes, against
point-by-point evaluation and nerfstudio's NeRFField (asmr-nerf's nerf baseline) on the same points, all in one
process under the same load (docs/studies/asmr-nerf.md). The cost of a forward pass does not depend on the weights,
so fresh fields time it; the best of three runs each.

python scripts/studies/bake_timing.py RESULTS.jsonl [--threads 2]
"""

import argparse
import json
import time
from pathlib import Path

import torch

from asmr_plugin.nerfstudio.bake import bake, bake_point_by_point, per_point_macs, time_nerf_mlp
from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig
from asmr_plugin.nerfstudio.radiance_field import ASMRRadianceField

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("results", type=Path)
parser.add_argument("--threads", type=int, default=2)
arguments = parser.parse_args()
torch.set_num_threads(arguments.threads)
aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


nerf = min((time_nerf_mlp(ASMRNerfModelConfig(), aabb, (128, 128, 128)) for _ in range(3)), key=lambda r: r["seconds"])
print(f"NeRFField: {nerf['seconds']:.2f} s, {nerf['macs_per_voxel']:,.0f} MACs per voxel")
for hidden, features in [(128, 15), (192, 15), (192, 7), (192, 3)]:
    field = ASMRRadianceField(aabb, [[2, 4, 4, 4]] * 3, hidden, features)
    shared = best_of(lambda: bake(field))
    per_point = best_of(lambda: bake_point_by_point(field), repeats=1)
    record = {
        "hidden_dim": hidden,
        "feature_dim": features,
        "threads": arguments.threads,
        "grid": 128,
        "seconds_shared": shared,
        "seconds_per_point": per_point,
        "seconds_nerf_mlp": nerf["seconds"],
        "macs_per_voxel_shared": field.network.macs().with_bias,
        "macs_per_voxel_per_point": per_point_macs(field.network),
        "macs_per_voxel_nerf_mlp": nerf["macs_per_voxel"],
    }
    print(
        f"h {hidden}, {features} features: {shared:.2f} s shared, {per_point:.1f} s per point "
        f"({per_point / shared:.0f}x), NeRFField {nerf['seconds'] / shared:.0f}x",
        flush=True,
    )
    with arguments.results.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
