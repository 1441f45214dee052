"""The README's results table, written from the records in docs/results (``asmr-reproduce`` rewrites the marked
block; a test holds the README to it), so that no number on the front page is copied by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asmr_plugin.io.files import atomic_path
from asmr_plugin.paper import values as paper_values
from asmr_plugin.reproduce.protocol import GRID_ROW

BEGIN = "<!-- results: written by asmr-reproduce from docs/results/*.json; edit those, not this block -->"
END = "<!-- end of results -->"
MEASURED = "measured.json"
"""Runs made by hand under the paper's protocol (too long for ``asmr-reproduce --protocol reduced``), each with its
command and the page that records it: the front page's first rows."""


@dataclass(frozen=True)
class Row:
    what: str
    ours: str
    paper: str


def psnr_pair(first: float, second: float) -> str:
    return f"{first:.2f} / {second:.2f}"


def by_name(rows: list[dict[str, Any]], key: str = "row") -> dict[str, dict[str, Any]]:
    """A record's rows by their name (``key``)."""
    return {row[key]: row for row in rows}


def table2(data: dict[str, Any]) -> list[Row]:
    rows = by_name(data["rows"])
    asmr, siren = rows["ASMR (4)"], rows["SIREN (4)"]
    height, width = asmr["shape"]
    grid = rows.get(GRID_ROW)
    names = "ASMR (4) / SIREN (4)" + (" / grid" if grid else "")
    what = f"Table 2, {names} at {height}x{width}, widths /{data['downscale']}, {data['steps']:,} steps"
    ours = psnr_pair(asmr["final_psnr"], siren["final_psnr"]) + (f" / {grid['final_psnr']:.2f}" if grid else "")
    paper = psnr_pair(asmr["paper_psnr"], siren["paper_psnr"]) + (" / –" if grid else "")
    return [Row(what, ours, paper)]


def table3(data: dict[str, Any]) -> list[Row]:
    models = data["models"]
    shape = next(iter(models["asmr"]["images"].values()))["shape"]
    names = [name for name in ("asmr", "siren", "ffn", "grid") if name in models]
    what = f"Table 3, Kodak at {shape[0]}x{shape[1]} ({len(data['images'])} images), " + " / ".join(map(display, names))
    ours = " / ".join(f"{models[name]['psnr_mean']:.2f}" for name in names)
    paper = " / ".join(
        f"{paper_values.TABLE3[name]['psnr']:.2f}" if name in paper_values.TABLE3 else "–" for name in names
    )
    return [Row(what, ours, paper + " (24)")]


def runner_rows(
    label: str, names: tuple[str, ...], key: str = "final_psnr", digits: int = 2
) -> Callable[[dict[str, Any]], list[Row]]:
    """A table of runner rows (audio, megapixel, occupancy, video): ``names`` side by side, and the dense grid where
    the record has it."""

    def rows(data: dict[str, Any]) -> list[Row]:
        found = by_name(data["rows"])
        shown = (*names, "grid") if "grid" in found else names
        ours = " / ".join(f"{found[name][key]:.{digits}f}" for name in shown)
        paper = " / ".join(
            "–" if found[name]["paper"] is None else f"{found[name]['paper']:.{digits}f}" for name in shown
        )
        return [Row(f"{label}, {' / '.join(display(name) for name in shown)}", ours, paper)]

    return rows


def display(name: str) -> str:
    names = {
        "asmr": "ASMR",
        "siren": "SIREN",
        "ngp": "Instant-NGP",
        "kilonerf": "KiloNeRF",
        "ffn": "FFN",
        "grid": "grid",
    }
    return names.get(name, name)


def fig2(data: dict[str, Any]) -> list[Row]:
    rows = {(row["table"], row["model"]): row for row in data["rows"]}
    asmr, siren = rows[("7", "ASMR (4)")], rows[("7", "SIREN (4)")]
    return [
        Row(
            "MACs per pixel, Cameraman ASMR (4) / SIREN (4)",
            f"{asmr['macs_with_bias']:,.0f} / {siren['macs_with_bias']:,.0f}",
            f"{asmr['paper_macs'] / 1000:g}K / {siren['paper_macs'] / 1000:g}K",
        )
    ]


def fig5(data: dict[str, Any]) -> list[Row]:
    models = data["result"]["models"]
    ours = " / ".join(f"{models[name]['test_psnr_mean']:.2f}" for name in ("asmr", "ngp"))
    return [Row("Fig. 5, meta-learned ASMR / Instant-NGP, test images", ours, "(a figure)")]


def wallclock(data: dict[str, Any]) -> list[Row]:
    rows = by_name(data["rows"], "network")
    ours = psnr_pair(rows["ASMR (4)"]["final_psnr"], rows["SIREN (4)"]["final_psnr"])
    grid = rows.get(GRID_ROW)
    names = "ASMR (4) / SIREN (4)" + (" / grid" if grid else "")
    ours += f" / {grid['final_psnr']:.2f}" if grid else ""
    return [Row(f"Same {data['seconds']:g} s of training: {names}", ours, "(not in the paper)")]


HEADLINES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "fig2": fig2,
    "table2": table2,
    "table3": table3,
    "table4": runner_rows("Table 4, audio", ("asmr", "siren")),
    "table5": runner_rows("Table 5, megapixel", ("asmr", "ngp")),
    "table6": runner_rows("Table 6, occupancy IoU", ("asmr", "siren"), "iou_mean", 3),
    "table10": runner_rows("Table 10, video", ("asmr", "siren", "kilonerf"), "psnr_mean"),
    "fig5": fig5,
    "wallclock": wallclock,
}
"""The items on the front page, in its order, and how each record becomes its rows."""


def link(target: Path, readme: Path) -> str:
    return Path(os.path.relpath(target, readme.parent)).as_posix()


def table(results: Path, readme: Path) -> str:
    """The block's table: the hand-run measurements first, then one or more rows per item written so far."""
    lines = ["| What | Ours | Paper | Protocol, device | File |", "|---|---:|---:|---|---|"]
    measured = results / MEASURED
    if measured.is_file():
        for entry in json.loads(measured.read_text())["rows"]:
            where = link(readme.parent / entry["file"], readme)
            lines.append(
                f"| {entry['what']} | {entry['ours']} | {entry['paper']} | {entry['protocol']} | [{entry['file_label']}]({where}) |"
            )
    for name, rows in HEADLINES.items():
        path = results / f"{name}.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text())
        device = "CPU" if record["device"].startswith("cpu") else record["device"]
        protocol = record["protocol"] if record.get("reduced") else "nothing reduced"
        for row in rows(record["data"]):
            where = link(results / f"{name}.md", readme)
            lines.append(f"| {row.what} | {row.ours} | {row.paper} | {protocol}, {device} | [{name}]({where}) |")
    return "\n".join(lines)


def block(results: Path, readme: Path) -> str:
    return f"{BEGIN}\n{table(results, readme)}\n{END}"


def current_block(readme: Path) -> str | None:
    """The README's marked block as it is, or None when it has none."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def update_readme(readme: Path, results: Path) -> bool:
    """Rewrite ``readme``'s marked block from ``results``; False when the file has no block (nothing is written)."""
    old = current_block(readme)
    if old is None:
        return False
    text = readme.read_text(encoding="utf-8").replace(old, block(results, readme))
    with atomic_path(readme) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return True
