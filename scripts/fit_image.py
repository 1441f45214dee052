#!/usr/bin/env python
"""Fit an image, or every image of a folder, with ASMR, SIREN or a baseline (FFN, MFN, WIRE, KiloNeRF, LoE, Instant-NGP).

Every network defaults to the paper's configuration and learning rate. Presets reproduce rows
of the paper's Tables 2 and 3; any other flag overrides them:

    python scripts/fit_image.py --preset cameraman-asmr4
    python scripts/fit_image.py --model kilonerf
    python scripts/fit_image.py --preset kodak-asmr --data ../shared/data/kodak
    python scripts/fit_image.py --model ffn --data photos/ --steps 2000 --downscale 2
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["image"], sys.argv[1:], description=__doc__)
