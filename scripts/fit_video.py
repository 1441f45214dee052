#!/usr/bin/env python
"""Fit a video with ASMR, SIREN or KiloNeRF (Table 10); under torchrun, with data parallelism.

python scripts/fit_video.py --epochs 20 --hidden-dim 128             # the default pan across chelsea
python scripts/fit_video.py --data cat.mp4 --frames 60 --stride 5 --resize 256 256
torchrun --standalone --nproc-per-node 2 scripts/fit_video.py --epochs 20 --hidden-dim 128
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["video"], sys.argv[1:], description=__doc__)
