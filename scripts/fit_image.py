#!/usr/bin/env python
"""Fit an image, or every image of a folder, with ASMR, SIREN or a baseline (FFN, MFN, WIRE, KiloNeRF, LoE, Instant-NGP).

Every network defaults to the paper's configuration and learning rate. Presets reproduce rows
of the paper's Tables 2 and 3; any other flag overrides them:

    python scripts/fit_image.py --preset cameraman-asmr4
    python scripts/fit_image.py --model kilonerf
    python scripts/fit_image.py --preset kodak-asmr --data ../shared/data/kodak
    python scripts/fit_image.py --model ffn --data photos/ --steps 2000 --downscale 2
"""

from __future__ import annotations

import argparse
from typing import Dict

from asmr_plugin.fitting.cli import run_cli
from asmr_plugin.fitting.image import FitImageConfig, run

PRESETS: Dict[str, FitImageConfig] = {
    "cameraman-asmr3": FitImageConfig(model="asmr", bases=("8,8,8",)),
    "cameraman-asmr4": FitImageConfig(model="asmr", bases=("4,4,4,8",)),
    "cameraman-siren3": FitImageConfig(model="siren", num_layers=3),
    "cameraman-siren4": FitImageConfig(model="siren", num_layers=4),
    "cameraman-kilonerf3": FitImageConfig(model="kilonerf"),
    "cameraman-loe4": FitImageConfig(model="loe", bases=("8,8,8",)),
    "kodak-asmr": FitImageConfig(model="asmr", bases=("4,4,4,8", "4,4,6,8")),
}


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--preset", choices=sorted(PRESETS))
    known, rest = parser.parse_known_args()
    default = PRESETS[known.preset] if known.preset else FitImageConfig()
    description = __doc__ + f"\n--preset {{{','.join(sorted(PRESETS))}}} sets the defaults below."
    run_cli(FitImageConfig, run, description, default=default, args=rest)


if __name__ == "__main__":
    main()
