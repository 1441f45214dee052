"""What one item of a reproduction sees (protocol, device, folders) and what it hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from matplotlib.figure import Figure
from rich.console import Console

from asmr_plugin.fields.initialization import DEFAULT_INIT

Protocol = Literal["paper", "reduced", "smoke"]
"""paper: the paper's protocol (GPU-hours for the ~130K-MAC baselines); reduced: every item on 2 CPU
cores in about an hour together (54 minutes with --jobs 2), every network started at the signal's mean (the default ``--init``);
smoke: seconds per item, for tests (the numbers mean nothing)."""

T = TypeVar("T")


@dataclass
class Context:
    """One item's run: its protocol, device and folders."""

    protocol: Protocol
    device: str | None
    work: Path
    """Scratch folder of this protocol and commit, shared by the items (fits, checkpoints)."""
    kodak: Path | None
    """The Kodak images (Table 3, Fig. 9), or None."""
    console: Console
    progress: bool

    @property
    def init(self) -> str:
        """The output layers' initialization of every network: the paper's under its protocol, else the default."""
        return "paper" if self.protocol == "paper" else DEFAULT_INIT

    def pick(self, paper: T, reduced: T, smoke: T) -> T:
        """The value of this context's protocol."""
        return {"paper": paper, "reduced": reduced, "smoke": smoke}[self.protocol]

    def run_options(self, out: Path) -> dict[str, Any]:
        """The RunOptions of a runner writing into ``out`` (a fresh folder each time)."""
        return {"out": out, "overwrite": True, "device": self.device, "progress": self.progress}


@dataclass
class Outcome:
    """What an item measured: a markdown body, its data, and one line comparing it with the paper."""

    body: str
    data: dict[str, Any]
    comparison: str
    reduced: str = ""
    """What this protocol changed from the paper's (empty for the paper's protocol)."""
    figure: Figure | Path | None = None


GRID_ROW = "Grid (ASMR's params)"
"""The dense-grid baseline's row in every table: values on a grid at ASMR's parameters, read by linear interpolation
(not in the paper; docs/studies/grid-baseline.md). Records name it so (Table 2), or "grid"."""


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""
    align = ["---:" if any(isinstance(row[i], (int, float)) for row in rows) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell_text(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def cell_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
