#!/usr/bin/env python
"""Fit 3-D occupancy grids of meshes with ASMR or SIREN (Table 6) and extract their surfaces.

python scripts/fit_occupancy.py --epochs 20                      # a torus, an arrow and a sphere
python scripts/fit_occupancy.py --data bunny.ply --model siren
python scripts/fit_occupancy.py --data shapenet_chairs/           # every mesh: Table-6-style summary
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["occupancy"], sys.argv[1:], description=__doc__)
