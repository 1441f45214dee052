#!/usr/bin/env python
"""Fit audio with ASMR, SIREN, KiloNeRF or Instant-NGP at the paper's ~33K-parameter configurations (Table 4).

python scripts/fit_audio.py                                   # a generated speech-like clip, ASMR
python scripts/fit_audio.py --model siren --data speech.flac
python scripts/fit_audio.py --data clips/ --steps 2000        # every clip, Table-4-style summary
"""

import sys

from asmr_plugin.commands import FITS, run_entry

if __name__ == "__main__":
    run_entry(FITS["audio"], sys.argv[1:], description=__doc__)
