#!/usr/bin/env python
"""Parameter and MAC counts of the paper's ASMR and SIREN rows (Tables 2, 3, 7 and 9), ours beside the paper's.

MACs are per sample, in both of the paper's conventions: weights only, and with the bias and
modulation adds (the authors' counter). Each row compares ours with the paper in the
convention that row of the paper uses, and is flagged where they differ by more than one unit
of the paper's last printed digit.

    python scripts/count_macs.py
    python scripts/count_macs.py --json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, List, Literal, Tuple

import tyro
from rich.console import Console
from rich.table import Table

from asmr_plugin.decomposition import parse_bases
from asmr_plugin.fields import ASMRField, GridField, SIRENField

CAMERAMAN = (512, 512)
KODAK = (512, 768)


@dataclass(frozen=True)
class PaperRow:
    table: str
    model: str
    config: str
    build: Callable[[], GridField]
    paper_params: str
    """As printed, in thousands."""
    paper_macs: str
    """As printed, in thousands."""
    convention: Literal["weights", "with_bias"]
    """The MAC convention this row of the paper uses."""


def asmr(bases, out_dim: int = 1, hidden_dim: int = 256) -> Callable[[], GridField]:
    return lambda: ASMRField(parse_bases(bases, 2), hidden_dim, out_dim)


def siren(num_layers: int, shape: Tuple[int, int] = CAMERAMAN, out_dim: int = 1) -> Callable[[], GridField]:
    return lambda: SIRENField(shape, 256, num_layers, out_dim)


def cameraman_asmr_rows(table: str, rows: List[Tuple[List[int], str, str]]) -> List[PaperRow]:
    return [
        PaperRow(table, f"ASMR ({len(bases)})", f"bases {bases}, h=256, 512x512 grey", asmr(bases), params, macs, "with_bias")
        for bases, params, macs in rows
    ]


ROWS: List[PaperRow] = [
    PaperRow("2", "SIREN (3)", "3 layers, h=256, 512x512 grey", siren(3), "66.8", "66.3", "weights"),
    PaperRow("2", "SIREN (4)", "4 layers, h=256, 512x512 grey", siren(4), "133", "132", "weights"),
    *cameraman_asmr_rows("2", [([8, 8, 8], "67.8", "1.29"), ([4, 4, 4, 8], "134", "1.35")]),
    PaperRow("3", "SIREN", "4 layers, h=256, 512x768 RGB", siren(4, KODAK, 3), "133.1", "132.4", "weights"),
    PaperRow(
        "3", "ASMR", "bases [[4,4,4,8],[4,4,6,8]], h=256, 512x768 RGB",
        asmr([[4, 4, 4, 8], [4, 4, 6, 8]], out_dim=3), "134.7", "1.85", "with_bias",
    ),
    *[
        PaperRow("7", f"SIREN ({layers})", f"{layers} layers, h=256, 512x512 grey", siren(layers), params, macs, "with_bias")
        for layers, params, macs in [(7, "329", "323.0"), (6, "263", "264.2"), (5, "197", "198.4"), (4, "132", "132.6"), (3, "66", "66.8")]
    ],
    *cameraman_asmr_rows(
        "7",
        [
            ([2, 2, 2, 2, 2, 2, 8], "333", "1.6"),
            ([4, 2, 2, 2, 2, 8], "267", "1.6"),
            ([8, 2, 2, 2, 8], "200", "1.6"),
            ([4, 4, 4, 8], "134", "1.3"),
            ([8, 8, 8], "68", "1.3"),
        ],
    ),
    *cameraman_asmr_rows(
        "9",
        [
            ([4, 2, 2, 2, 2, 8], "267", "1.60"),
            ([8, 2, 2, 2, 8], "200", "1.60"),
            ([4, 4, 4, 8], "134", "1.30"),
            ([8, 8, 8], "68", "1.30"),
        ],
    ),
]


def last_digit_unit(printed: str) -> float:
    """One unit of the last printed digit, in the printed unit (thousands)."""
    return 10.0 ** -len(printed.split(".")[1]) if "." in printed else 1.0


def disagrees(ours: float, printed: str) -> bool:
    return abs(ours / 1000 - float(printed)) > last_digit_unit(printed) + 1e-9


def measure(row: PaperRow) -> dict:
    field = row.build()
    macs = field.macs()
    params = field.num_params()
    ours_in_paper_convention = macs.weights_only if row.convention == "weights" else macs.with_bias
    flags = []
    if disagrees(params, row.paper_params):
        flags.append("params differ from the paper")
    if disagrees(ours_in_paper_convention, row.paper_macs):
        flags.append(f"MACs ({row.convention.replace('_', ' ')}) differ from the paper")
    return {
        "table": row.table,
        "model": row.model,
        "config": row.config,
        "params": params,
        "macs_weights": macs.weights_only,
        "macs_with_bias": macs.with_bias,
        "paper_params": float(row.paper_params) * 1000,
        "paper_macs": float(row.paper_macs) * 1000,
        "paper_convention": row.convention,
        "flag": "; ".join(flags),
    }


@dataclass
class CountMacsConfig:
    """Print the paper's MAC/parameter rows with ours."""

    json: bool = False
    """Print a JSON list instead of a table."""


def main(config: CountMacsConfig) -> None:
    results = [measure(row) for row in ROWS]
    if config.json:
        print(json.dumps(results, indent=2))
        return
    table = Table(title="Per-sample MACs and parameters: ours vs the paper (K = thousands)")
    for column in ("table", "model", "config", "params", "paper", "MACs weights", "MACs +bias", "paper MACs", "flag"):
        table.add_column(column, justify="left" if column in ("model", "config", "flag") else "right")
    for result in results:
        table.add_row(
            result["table"],
            result["model"],
            result["config"],
            f"{result['params']:,}",
            f"{result['paper_params'] / 1000:g}K",
            f"{result['macs_weights']:,.1f}",
            f"{result['macs_with_bias']:,.1f}",
            f"{result['paper_macs'] / 1000:g}K ({'weights' if result['paper_convention'] == 'weights' else '+bias'})",
            result["flag"],
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main(tyro.cli(CountMacsConfig))
