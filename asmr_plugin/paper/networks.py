"""The paper's networks per task (appendices D-I): widths, depths, bases, frequencies and rates, as the commands
build them by default. A ``{}`` entry: the network at its own defaults for the signal (the dense grid: ASMR's
parameters)."""

from __future__ import annotations

from typing import Any, Dict, List

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

VIDEO_NETWORKS: Dict[str, Dict[str, Any]] = {
    "asmr": {"hidden_dim": 512, "num_layers": 7},
    "siren": {"hidden_dim": 512, "num_layers": 7},
    "kilonerf": {"hidden_dim": 32, "num_layers": 6, "num_frequencies": 10, "grid": (1, 16, 16)},
    "grid": {},  # ASMR's parameters (--params to change)
}
"""The paper's cat-video networks (Appendix F, Table 10). KiloNeRF's grid is the paper's [16, 16] over the frame,
time untiled (1.2M parameters on the cat video as in the paper's Table 10; 16 tiles along time too would be 16x
that); ASMR's bases default to 7 levels chosen per axis, padded with bases of 1."""

MEGAPIXEL_NETWORKS: Dict[str, Dict[str, Any]] = {
    "asmr": {"hidden_dim": 512, "num_layers": 6},  # 8192^2: bases [4,4,4,4,4,8] per axis
    "siren": {"hidden_dim": 512, "num_layers": 6},
    "kilonerf": {"hidden_dim": 32, "num_layers": 6, "grid": 16, "num_frequencies": 10},
    "ngp": {"hidden_dim": 64, "num_layers": 3, "num_levels": 16, "min_res": 16, "log2_hashmap_size": 16},
    "grid": {},  # ASMR's parameters (--params to change)
}
"""The paper's megapixel networks (Appendix E, Table 5); NGP's finest resolution is half the image."""

OCCUPANCY_LR = 1e-4
"""The rate of the paper's occupancy networks."""
OCCUPANCY_NETWORKS: Dict[str, Any] = {"num_layers": 10, "hidden_dim": 512}
"""The paper's occupancy networks (Section 4.3, Table 6): a 10-layer SIREN of 512 units and its ASMR counterpart
(bases of 2)."""
OCCUPANCY_WIDTH = 256
"""ASMR's and SIREN's default width for occupancy (the paper's SIREN: 512)."""

META_LEARNING = {
    "size": 32,
    "latent_dim": 128,
    "mapping_layers": 1,
    "mapping_hidden": 256,
    "hidden_dim": 512,
    "num_layers": 5,
    "omega0": 50.0,
    "inner_steps": 3,
    "inner_lr": 1e-2,
    "outer_lr": 3e-6,
    "batch": 64,
    "steps": 20_000,
}
"""Appendix I's meta-learning (COIN++ with ASMR, Fig. 5): 32 x 32 images, latents of 128 mapped linearly to the
shifts of a 5-layer, 512-wide network (ASMR's omega0 50), 3 inner SGD steps at 1e-2, Adam 3e-6 outside, batch 64,
20K outer steps."""

NGP_META_DEFAULTS = {"num_levels": 4, "features_per_level": 2, "log2_hashmap_size": 16, "min_res": 2}
"""Appendix I's hash grid: 4 levels of 2 features, 2^16 entries, base resolution 2, scale 2 (finest 16
for 32 x 32 images); the MLP runs in torch, since the instance shifts enter its hidden layers."""

CAMERAMAN_WIDTH = 256
"""Table 2's width on Cameraman (512 x 512) for ASMR and SIREN."""
KODAK_BASES = ("4,4,4,8", "4,4,6,8")
"""Table 3's ASMR bases on 512 x 768 Kodak images (rows, columns)."""
PLUTO_BASES: List[List[int]] = [[4, 4, 4, 4, 4, 8]] * 2
"""Table 5's ASMR bases on the 8192 x 8192 Pluto image (per axis)."""
IMAGE_PRESETS: Dict[str, Dict[str, Any]] = {
    "cameraman-asmr3": {"model": "asmr", "bases": ("8,8,8",)},
    "cameraman-asmr4": {"model": "asmr", "bases": ("4,4,4,8",)},
    "cameraman-siren3": {"model": "siren", "num_layers": 3},
    "cameraman-siren4": {"model": "siren", "num_layers": 4},
    "cameraman-kilonerf3": {"model": "kilonerf"},
    "cameraman-loe4": {"model": "loe", "bases": ("8,8,8",)},
    "kodak-asmr": {"model": "asmr", "bases": KODAK_BASES},
}
"""Rows of Tables 2 and 3 as ``asmr-fit image`` options (``--preset``)."""
