import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_asmr_trains_inside_your_own_field_on_a_scene():
    example = runpy.run_path(str(EXAMPLES / "asmr_in_your_field.py"))
    before, after = example["main"](steps=100)
    assert after > before + 1.0  # the held-out view's PSNR rises: the field learns the scene
