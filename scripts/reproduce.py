#!/usr/bin/env python
"""The paper's tables and figures re-run into docs/results (= asmr-reproduce).

python scripts/reproduce.py --protocol reduced --kodak ../shared/data/kodak
python scripts/reproduce.py --protocol paper --only table2 fig7 --device cuda
"""

import sys

from asmr_plugin.commands import REPRODUCE, run_entry

if __name__ == "__main__":
    run_entry(REPRODUCE, sys.argv[1:], description=__doc__)
