"""The paper's printed results, once, as data: the values the reproduce items set ours beside.

Per table, a row name (the network as this package names it, or the row's label in Table 2) maps to the values
as the paper prints them. Parameter and MAC counts are in ``tables.py``, with the networks that reproduce
them.
"""

from __future__ import annotations

from typing import Dict

TABLE2: Dict[str, Dict[str, float]] = {  # Cameraman 512x512: #params (K), MACs (K), PSNR (dB)
    "KiloNeRF (3)": {"params_k": 250, "macs_k": 0.98, "psnr": 34.35},
    "LoE (4)": {"params_k": 126, "macs_k": 2.07, "psnr": 33.27},
    "SIREN (3)": {"params_k": 66.8, "macs_k": 66.3, "psnr": 28.62},
    "SIREN (4)": {"params_k": 133, "macs_k": 132, "psnr": 32.37},
    "ASMR (3)": {"params_k": 67.8, "macs_k": 1.29, "psnr": 31.44},
    "ASMR (4)": {"params_k": 134, "macs_k": 1.35, "psnr": 37.84},
}
TABLE3: Dict[str, Dict[str, float]] = {  # Kodak, mean over the 24 images
    "ffn": {"psnr": 31.037, "ssim": 0.841},
    "siren": {"psnr": 32.398, "ssim": 0.890},
    "mfn": {"psnr": 27.565, "ssim": 0.782},
    "wire": {"psnr": 31.266, "ssim": 0.854},
    "asmr": {"psnr": 33.087, "ssim": 0.892},
}
TABLE4: Dict[str, float] = {"ngp": 47.30, "kilonerf": 42.20, "siren": 46.21, "asmr": 61.66}
"""LibriSpeech, PSNR (dB)."""
TABLE5: Dict[str, float] = {"ngp": 33.61, "kilonerf": 27.91, "siren": 31.66, "asmr": 33.10}
"""Pluto 8192x8192, PSNR (dB)."""
TABLE6: Dict[str, float] = {"siren": 0.8927, "asmr": 0.8937}
"""55 ShapeNet objects, IoU."""
TABLE10: Dict[str, float] = {"siren": 34.641, "kilonerf": 29.560, "asmr": 31.506}
"""The 300-frame cat video, PSNR (dB)."""
