#!/usr/bin/env python
"""Fit a megapixel image with random batches (Table 5); under torchrun, with data parallelism.

python scripts/fit_megapixel.py --epochs 5                               # retina.jpg, ASMR
python scripts/fit_megapixel.py --data pluto.png --model siren
torchrun --standalone --nproc-per-node 2 scripts/fit_megapixel.py --epochs 5   # 2 processes
"""

from __future__ import annotations

from asmr_plugin.fitting.cli import run_cli
from asmr_plugin.fitting.megapixel import FitMegapixelConfig, run

if __name__ == "__main__":
    run_cli(FitMegapixelConfig, run, __doc__)
