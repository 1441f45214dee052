"""Parameter and MAC counts of every network row of the paper's Tables 2, 3, 4, 5, 7, 8 and 9, ours beside the paper's,
with a dense grid at ASMR's parameters in Tables 2-5 (not in the paper) and every row's parameters per sample.

MACs are per sample, in both of the paper's conventions: weights only, and with the bias and
modulation adds (the authors' counter). Each row compares ours with the paper in the
convention that row of the paper uses, and is flagged where they differ by more than one unit
of the paper's last printed digit; a flagged row says what is known about it. Instant-NGP
rows count the MLP only, as the paper does.

    asmr-count-macs            (or: python scripts/count_macs.py)
    asmr-count-macs --json
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from asmr_plugin.fitting.results import params_per_sample
from asmr_plugin.paper.tables import ROWS, PaperRow

UNITS = {"K": 1e3, "M": 1e6}


def last_digit_unit(printed: str) -> float:
    """One unit of the last printed digit, in the printed unit."""
    return 10.0 ** -len(printed.split(".")[1]) if "." in printed else 1.0


def disagrees(ours: float, printed: str, unit: str) -> bool:
    return abs(ours / UNITS[unit] - float(printed)) > last_digit_unit(printed) + 1e-9


def measure(row: PaperRow) -> dict:
    field = row.build()
    macs = field.macs()
    params = field.num_params()
    ours_in_paper_convention = macs.weights_only if row.convention == "weights" else macs.with_bias
    flags = []
    if row.paper_params is not None and disagrees(params, row.paper_params, row.unit):
        flags.append("params differ from the paper")
    if row.paper_macs is not None and disagrees(ours_in_paper_convention, row.paper_macs, row.unit):
        flags.append(f"MACs ({row.convention.replace('_', ' ')}) differ from the paper")
    if row.note:
        flags.append(row.note)
    return {
        "table": row.table,
        "model": row.model,
        "config": row.config,
        "params": params,
        "params_per_sample": params_per_sample(params, field.grid_shape, field.out_dim),
        "macs_weights": macs.weights_only,
        "macs_with_bias": macs.with_bias,
        "paper_params": None if row.paper_params is None else float(row.paper_params) * UNITS[row.unit],
        "paper_macs": None if row.paper_macs is None else float(row.paper_macs) * UNITS[row.unit],
        "paper_convention": row.convention,
        "flag": "; ".join(flags),
    }


def paper_number(value: float) -> str:
    return f"{value / 1e6:g}M" if value >= 1e6 else f"{value / 1e3:g}K"


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
    columns = (
        "table",
        "model",
        "config",
        "params",
        "paper",
        "params/sample",
        "MACs weights",
        "MACs +bias",
        "paper MACs",
    )
    for column in (*columns, "flag"):
        table.add_column(column, justify="left" if column in ("model", "config", "flag") else "right")
    for result in results:
        table.add_row(
            result["table"],
            result["model"],
            result["config"],
            f"{result['params']:,}",
            "-" if result["paper_params"] is None else paper_number(result["paper_params"]),
            f"{result['params_per_sample']:.3g}",
            f"{result['macs_weights']:,.1f}",
            f"{result['macs_with_bias']:,.1f}",
            "-"
            if result["paper_macs"] is None
            else f"{paper_number(result['paper_macs'])} ({'weights' if result['paper_convention'] == 'weights' else '+bias'})",
            result["flag"],
        )
    Console(width=200).print(table)
