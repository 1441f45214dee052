import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_decomposition_trains_inside_nerfstudio_nerf_field():
    example = runpy.run_path(str(EXAMPLES / "decomposition_in_nerf_field.py"))
    assert example["main"]() < 0.05  # nerfstudio's NeRFField fits a colour through the encoding
