#!/usr/bin/env python
"""Fit a megapixel image with random batches (Table 5); under torchrun, with data parallelism.

    python scripts/fit_megapixel.py --epochs 5                               # retina.jpg, ASMR
    python scripts/fit_megapixel.py --data pluto.png --model siren
    torchrun --standalone --nproc-per-node 2 scripts/fit_megapixel.py --epochs 5   # 2 processes
"""

from __future__ import annotations

import sys

import tyro

from asmr_plugin.fitting.megapixel import FitMegapixelConfig, run


def main() -> None:
    config = tyro.cli(FitMegapixelConfig, description=__doc__)
    try:
        run(config)
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
