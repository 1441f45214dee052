#!/usr/bin/env python
"""Export a checkpoint written by fit_image.py as a TorchScript file that renders on its own.

python scripts/export.py --checkpoint outputs/fit_image/camera-asmr-<time>/checkpoint.pt --out camera.ts
python -c "import torch; image = torch.jit.load('camera.ts')()"   # [H, W, C], only PyTorch needed
"""

import sys

from asmr_plugin.commands import EXPORT, run_entry

if __name__ == "__main__":
    run_entry(EXPORT, sys.argv[1:], description=__doc__)
