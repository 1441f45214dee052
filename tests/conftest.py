"""Shared test helpers: the checkout's root and the command line of one of its scripts."""

import sys
from pathlib import Path
from typing import Callable, List

import pytest

ROOT = Path(__file__).resolve().parents[1]
"""The checkout (pyproject.toml, scripts/, tests/)."""


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def script() -> Callable[[str], List[str]]:
    """``script("fit_image.py")``: the command that runs ``scripts/fit_image.py`` with this interpreter."""
    return lambda name: [sys.executable, str(ROOT / "scripts" / name)]


@pytest.fixture
def image(tmp_path) -> Path:
    """A 16 x 16 RGB photo of noise."""
    from helpers import random_image

    return random_image(tmp_path / "photo.png", 16, 16)
