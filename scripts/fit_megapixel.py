#!/usr/bin/env python
"""Fit a megapixel image with random batches (Table 5); under torchrun, with data parallelism.

python scripts/fit_megapixel.py --epochs 5                               # retina.jpg, ASMR
python scripts/fit_megapixel.py --data pluto.png --model siren
torchrun --standalone --nproc-per-node 2 scripts/fit_megapixel.py --epochs 5   # 2 processes
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["megapixel"], sys.argv[1:], description=__doc__)
