#!/usr/bin/env python
"""Render latency of every network against SIREN (= asmr-bench latency).

python scripts/bench_latency.py
python scripts/bench_latency.py --sizes 8192x8192 --models asmr --runs 3
"""

import sys

from asmr_plugin.commands import BENCHMARKS, run_entry

if __name__ == "__main__":
    run_entry(BENCHMARKS["latency"], sys.argv[1:], description=__doc__)
