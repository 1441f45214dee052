#!/usr/bin/env python
"""Meta-learn ASMR and Instant-NGP for a dataset of small images (paper Fig. 5, Appendix I; COIN++).

python scripts/meta_learn.py                                   # LFW faces from scikit-image, both models
python scripts/meta_learn.py --data cifar-10-batches-py/ --models asmr
python scripts/meta_learn.py --out outputs/meta --resume --steps 40000   # continue a run
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["meta"], sys.argv[1:], description=__doc__)
