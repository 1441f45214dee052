#!/usr/bin/env python
"""Fit audio with ASMR, SIREN, KiloNeRF or Instant-NGP at the paper's ~33K-parameter configurations (Table 4).

python scripts/fit_audio.py                                   # a generated speech-like clip, ASMR
python scripts/fit_audio.py --model siren --data speech.flac
python scripts/fit_audio.py --data clips/ --steps 2000        # every clip, Table-4-style summary
"""

from __future__ import annotations

from asmr_plugin.fitting.audio import FitAudioConfig, run
from asmr_plugin.fitting.cli import run_cli

if __name__ == "__main__":
    run_cli(FitAudioConfig, run, __doc__)
