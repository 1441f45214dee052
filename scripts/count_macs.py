#!/usr/bin/env python
"""Parameter and MAC counts of every network row of the paper's tables, ours beside the paper's (= asmr-count-macs).

python scripts/count_macs.py
python scripts/count_macs.py --json
"""

import sys

from asmr_plugin.commands import COUNT_MACS, run_entry

if __name__ == "__main__":
    run_entry(COUNT_MACS, sys.argv[1:], description=__doc__)
