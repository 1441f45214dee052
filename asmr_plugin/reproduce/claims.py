"""Whether an item's record confirms the paper's claim, contradicts it, or cannot test it, and why: one line per
item, computed from the numbers in its record (docs/results/README.md shows it beside the claim)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asmr_plugin.reproduce.headline import by_name
from asmr_plugin.reproduce.protocol import GRID_ROW

Verdict = tuple[str, str]
"""("confirms" | "contradicts" | "partly" | "cannot test", why)."""


def above(ours: float, others: dict[str, float]) -> tuple[list[str], list[str]]:
    """The names in ``others`` that ``ours`` is above, and those it is not."""
    return [name for name, value in others.items() if ours > value], [
        name for name, value in others.items() if ours <= value
    ]


def ordering(name: str, ours: float, others: dict[str, float], unit: str = "dB") -> Verdict:
    """ASMR above every one of the paper's ``others`` (confirms), some (partly) or none (contradicts); the dense grid
    among them (not the paper's) is reported beside the verdict and does not change it."""
    papers = {other: value for other, value in others.items() if other not in GRID_NAMES}
    beaten, not_beaten = above(ours, papers)
    values = ", ".join(f"{other} {value:.2f}" for other, value in papers.items())
    why = f"{name} {ours:.2f} {unit} against {values}"
    if not not_beaten:
        return "confirms", why + grid_note(others, ours, unit)
    return ("partly" if beaten else "contradicts"), why + f"; not above {', '.join(not_beaten)}" + grid_note(
        others, ours, unit
    )


GRID_NAMES = {"grid", "GRID", GRID_ROW}
"""How records name the dense-grid row (``reproduce.protocol.GRID_ROW``)."""


def grid_note(values: dict[str, float], ours: float, unit: str = "dB") -> str:
    """The dense grid at ASMR's parameters beside ASMR (not the paper's claim), or nothing without a grid row."""
    grid = next((value for name, value in values.items() if name in GRID_NAMES), None)
    if grid is None:
        return ""
    side = "under" if grid < ours else "above"
    value = f"IoU {grid:.3f}" if unit == "IoU" else f"{grid:.2f} {unit}"
    return f" (beyond the paper: the dense grid at ASMR's parameters {value}, {side} ASMR)"


def table2(data: dict[str, Any]) -> Verdict:
    rows = {name: row["final_psnr"] for name, row in by_name(data["rows"]).items()}
    asmr = rows.pop("ASMR (4)")
    rows.pop("ASMR (3)", None)
    return ordering("ASMR (4)", asmr, rows)


def table3(data: dict[str, Any]) -> Verdict:
    models = {name: model["psnr_mean"] for name, model in data["models"].items()}
    return ordering("ASMR", models.pop("asmr"), {name.upper(): value for name, value in models.items()})


def runner_table(metric: str, unit: str = "dB") -> Callable[[dict[str, Any]], Verdict]:
    def verdict(data: dict[str, Any]) -> Verdict:
        rows = {name: row[metric] for name, row in by_name(data["rows"]).items()}
        return ordering("ASMR", rows.pop("asmr"), rows, unit)

    return verdict


def table6(data: dict[str, Any]) -> Verdict:
    rows = {name: row["iou_mean"] for name, row in by_name(data["rows"]).items()}
    gap = rows["asmr"] - rows["siren"]
    why = f"IoU ASMR {rows['asmr']:.3f}, SIREN {rows['siren']:.3f}"
    why += " (the claim: equal IoU at a fraction of the MACs)" + grid_note(rows, rows["asmr"], "IoU")
    return ("confirms" if gap >= -0.01 else "contradicts"), why


def table10(data: dict[str, Any]) -> Verdict:
    rows = {name: row["psnr_mean"] for name, row in by_name(data["rows"]).items()}
    asmr, siren, kilonerf = rows["asmr"], rows["siren"], rows["kilonerf"]
    why = f"ASMR {asmr:.2f} dB, SIREN {siren:.2f}, KiloNeRF {kilonerf:.2f}; the paper: 3.1 dB under SIREN"
    why += grid_note(rows, asmr)
    if asmr > kilonerf and siren - asmr <= 3.2:
        return "confirms", why
    return ("partly" if asmr > kilonerf else "contradicts"), why


def fig5(data: dict[str, Any]) -> Verdict:
    models = data["result"]["models"]
    return ordering("ASMR", models["asmr"]["test_psnr_mean"], {"Instant-NGP": models["ngp"]["test_psnr_mean"]})


def fig7(data: dict[str, Any]) -> Verdict:
    curves = data["psnr"]
    asmr = next(value for name, value in curves.items() if name.startswith("ASMR") and "paper" in name)
    siren = next(value for name, value in curves.items() if name.startswith("SIREN") and "paper" in name)
    first = min(asmr, key=int)
    why = f"at step {first}, paper's initialization: ASMR {asmr[first]:.1f} dB, SIREN {siren[first]:.1f}"
    last = max(asmr, key=int)
    why += f"; at step {last}: {asmr[last]:.1f} against {siren[last]:.1f}"
    if all(asmr[step] > siren[step] for step in asmr):
        return "confirms", why
    return ("partly" if asmr[last] > siren[last] else "contradicts"), why


def fig3(data: dict[str, Any]) -> Verdict:
    asmr = sorted(
        (int(row["model"].split("(")[1].rstrip(")")), row["final_psnr"], row["macs_with_bias"])
        for row in data["rows"]
        if row["model"].startswith("ASMR")
    )
    why = ", ".join(f"ASMR ({layers}) {psnr:.2f} dB at {macs:,.0f} MACs" for layers, psnr, macs in asmr)
    rises = all(later[1] > earlier[1] for earlier, later in zip(asmr, asmr[1:]))
    return ("confirms" if rises else "partly" if asmr[-1][1] > asmr[0][1] else "contradicts"), why


VERDICTS: dict[str, Callable[[dict[str, Any]], Verdict]] = {
    "fig3": fig3,
    "table2": table2,
    "table3": table3,
    "table4": runner_table("final_psnr"),
    "table5": runner_table("final_psnr"),
    "table6": table6,
    "table10": table10,
    "fig5": fig5,
    "fig7": fig7,
}
"""Items whose claim a record can test; the others are exact by construction, qualitative or not the paper's."""
NOT_TESTED = {
    "fig2": ("confirms", "analytic counts, no training"),
    "fig8": ("confirms", "by construction (each layer's units on its own grid)"),
    "fig9": ("cannot test", "qualitative; the crops are of the Table 3 fits"),
    "study": ("cannot test", "not a claim of the paper"),
    "wallclock": ("cannot test", "not a claim of the paper"),
}


def verdict(name: str, data: dict[str, Any]) -> Verdict:
    """What ``name``'s record says of the paper's claim."""
    if name in VERDICTS:
        return VERDICTS[name](data)
    return NOT_TESTED.get(name, ("cannot test", "no claim recorded"))
