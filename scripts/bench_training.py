#!/usr/bin/env python
"""Training steps with and without activation sharing (= asmr-bench training).

python scripts/bench_training.py
python scripts/bench_training.py --runs 3 --json
"""

import sys

from asmr_plugin.commands import BENCHMARKS, run_entry

if __name__ == "__main__":
    run_entry(BENCHMARKS["training"], sys.argv[1:], description=__doc__)
