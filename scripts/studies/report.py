"""Tables and plots of the studies' JSON-lines results (docs/studies/data/*.jsonl) for docs/studies/*.md.

python scripts/studies/report.py init docs/studies/data/init-audio.jsonl docs/studies/init-audio.png
python scripts/studies/report.py bases docs/studies/data/bases.jsonl docs/studies/bases.png
python scripts/studies/report.py scale docs/studies/data/scale.jsonl docs/studies/scale.png
python scripts/studies/report.py runner docs/studies/data/video.jsonl
python scripts/studies/report.py grid docs/studies/grid-baseline.png docs/studies/data/grid-*.jsonl
python scripts/studies/report.py nerf docs/studies/data/nerf.jsonl docs/studies/data/nerf-timing.jsonl docs/studies/asmr-nerf.png
"""

from __future__ import annotations

import itertools
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from harness import load, mean_spread


def table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows])


def seed_spread(records: list[dict]) -> float:
    """The mean over signals of the standard deviation between seeds."""
    by_signal = defaultdict(list)
    for record in records:
        by_signal[record["signal"]].append(record["final"])
    spreads = [statistics.stdev(values) for values in by_signal.values() if len(values) > 1]
    return statistics.fmean(spreads) if spreads else 0.0


def scale_of(record: dict) -> str:
    """'256 px' for an image study's signal 'camera@256', else the schedule's steps."""
    return (
        f"{record['signal'].split('@')[1]} px, {record['steps']:,}"
        if "@" in record["signal"]
        else f"{record['steps']:,}"
    )


def summary(records: list[dict], group: str = "setting") -> str:
    """Per scale (and schedule) and setting: mean final over signals and seeds, seed spread, PSNR at steps 100 and
    300, wall."""
    groups = defaultdict(list)
    for record in records:
        groups[(scale_of(record), record[group])].append(record)
    order = lambda text: tuple(int(part.split()[0].replace(",", "")) for part in text.split(", "))
    rows = []
    for (steps, setting), members in sorted(
        groups.items(), key=lambda item: (order(item[0][0]), -statistics.fmean(r["final"] for r in item[1]))
    ):
        final, _ = mean_spread(record["final"] for record in members)
        marks = [
            statistics.fmean(r["marks"][mark] for r in members if mark in r.get("marks", {}))
            if all(mark in r.get("marks", {}) for r in members)
            else ""
            for mark in ("100", "300")
        ]
        signals = len({record["signal"] for record in members})
        seeds = len({record["seed"] for record in members})
        rows.append(
            [
                steps,
                setting,
                final,
                f"±{seed_spread(members):.2f}",
                *marks,
                f"{signals} x {seeds}",
                f"{statistics.fmean(r['wall'] for r in members):.0f} s",
            ]
        )
    return table(
        [
            "scale, steps",
            "setting",
            "final PSNR, mean",
            "seed spread",
            "step 100",
            "step 300",
            "signals x seeds",
            "wall per fit",
        ],
        rows,
    )


def per_signal(records: list[dict], steps: int, group: str = "setting") -> str:
    """Mean final over seeds, one column per setting, one row per signal (the best in bold)."""
    cells = defaultdict(list)
    for record in records:
        if record["steps"] == steps:
            cells[(record["signal"], record[group])].append(record["final"])
    settings = sorted(
        {setting for _, setting in cells},
        key=lambda s: -statistics.fmean(v for (sig, st), vals in cells.items() if st == s for v in vals),
    )
    signals = sorted({signal for signal, _ in cells})
    rows = []
    for signal in signals:
        values = {
            setting: statistics.fmean(cells[(signal, setting)]) for setting in settings if (signal, setting) in cells
        }
        best = max(values.values())
        rows.append(
            [signal]
            + [
                ("**" + f"{values[s]:.2f}" + "**" if values[s] == best else f"{values[s]:.2f}") if s in values else ""
                for s in settings
            ]
        )
    return table(["signal"] + settings, rows)


def plot_lines(records: list[dict], path: Path, x_key: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = defaultdict(lambda: defaultdict(list))
    for record in records:
        groups[record["setting"]][record[x_key]].append(record["final"])
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for setting, points in sorted(groups.items()):
        xs = sorted(points)
        axis.errorbar(
            xs,
            [statistics.fmean(points[x]) for x in xs],
            yerr=[statistics.stdev(points[x]) if len(points[x]) > 1 else 0 for x in xs],
            marker="o",
            capsize=3,
            label=setting,
        )
    axis.set_title(title)
    axis.set_ylabel("final PSNR (dB)")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def scale_plot(records: list[dict], path: Path) -> None:
    """Final PSNR against image size, ASMR and SIREN, one panel per schedule: the mean over images (thick) and each
    image (thin), or each image alone (marked) where the images do not cover the same sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schedules = sorted({record["steps"] for record in records}, reverse=True)
    figure, axes = plt.subplots(1, len(schedules), figsize=(7 * len(schedules), 4.5), squeeze=False)
    colours = {"asmr": "tab:blue", "siren": "tab:orange"}
    for axis, steps in zip(axes[0], schedules):
        for model, colour in colours.items():
            members = [r for r in records if r["setting"] == model and r["steps"] == steps]
            curves = defaultdict(list)  # image: [(size, final)]
            for record in members:
                image, size = record["signal"].split("@")
                curves[image].append((int(size), record["final"]))
            sizes = sorted({size for points in curves.values() for size, _ in points})
            covered = all(len(points) == len(sizes) for points in curves.values())
            for (image, points), style in zip(sorted(curves.items()), itertools.cycle(["-", "--", ":", "-."])):
                if covered:
                    axis.plot(*zip(*sorted(points)), color=colour, alpha=0.25, linewidth=1)
                else:
                    label = f"{model.upper()} (4), {image}"
                    axis.plot(*zip(*sorted(points)), color=colour, linestyle=style, marker="o", label=label)
            if covered:
                means = [
                    statistics.fmean(final for points in curves.values() for s, final in points if s == size)
                    for size in sizes
                ]
                label = f"{model.upper()} (4), mean of {len(curves)} images"
                axis.plot(sizes, means, color=colour, marker="o", linewidth=2.5, label=label)
        axis.set_xscale("log", base=2)
        axis.set_title(f"{steps:,} full-image steps")
        axis.set_xlabel("image size (longer side, px); width 256·size/512 for both")
        axis.set_ylabel("final PSNR (dB)")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def init_plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schedules = sorted({record["steps"] for record in records})
    colours = dict(zip(sorted({record["setting"] for record in records}), plt.get_cmap("tab10").colors))
    figure, axes = plt.subplots(1, len(schedules), figsize=(5 * len(schedules), 4.5), squeeze=False)
    for axis, steps in zip(axes[0], schedules):
        members = [record for record in records if record["steps"] == steps]
        signals = sorted({record["signal"] for record in members})
        settings = sorted({record["setting"] for record in members})
        width = 0.8 / len(settings)
        for index, setting in enumerate(settings):
            values = [
                [r["final"] for r in members if r["signal"] == signal and r["setting"] == setting] for signal in signals
            ]
            axis.bar(
                [i + index * width for i in range(len(signals))],
                [statistics.fmean(v) if v else 0 for v in values],
                width,
                yerr=[statistics.stdev(v) if len(v) > 1 else 0 for v in values],
                color=colours[setting],
                label=setting,
                capsize=2,
            )
        axis.set_xticks(
            [i + 0.4 - width / 2 for i in range(len(signals))], signals, rotation=30, ha="right", fontsize=8
        )
        axis.set_title(f"{steps:,} steps")
        axis.set_ylabel("final PSNR (dB), mean of seeds")
        low = min(statistics.fmean(r["final"] for r in members if r["signal"] == s) for s in signals)
        axis.set_ylim(bottom=max(0, low - 15))
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


GRID_COLOURS = {"asmr": "tab:blue", "siren": "tab:orange", "grid": "tab:green"}
EXACT = 100.0
"""A PSNR above this is a lossless fit (a grid of one value per sample: float32 rounding only)."""


def grid_cells(records: list[dict]) -> dict[tuple[str, float], list[dict]]:
    """Records by (network, target ratio); settings are 'model@ratio'."""
    cells = defaultdict(list)
    for record in records:
        model, ratio = record["setting"].split("@")
        cells[(model, float(ratio))].append(record)
    return cells


def grid_table(records: list[dict]) -> str:
    """One row per parameters-per-sample target: each network's mean final over the signals, its mean measured
    ratio and MACs, and ASMR minus the grid."""
    cells = grid_cells(records)
    ratios = sorted({ratio for _, ratio in cells})
    models = [model for model in GRID_COLOURS if any(key[0] == model for key in cells)]
    rows = []
    for ratio in ratios:
        row: list[object] = [f"1/{round(1 / ratio)}" if ratio < 1 else f"{ratio:g}"]
        means = {}
        for model in models:
            members = cells.get((model, ratio), [])
            if not members:
                row += ["", ""]
                continue
            means[model] = statistics.fmean(r["final"] for r in members)
            macs = statistics.fmean(r["macs"] for r in members)
            shown = "exact" if all(r["final"] > EXACT for r in members) else means[model]
            row += [shown, f"{statistics.fmean(r['params_per_sample'] for r in members):.3g} / {macs:,.0f}"]
        exact = means.get("grid", 0) > EXACT
        row.append(
            ("−∞ (the grid is exact)" if exact else means["asmr"] - means["grid"])
            if {"asmr", "grid"} <= means.keys()
            else ""
        )
        row.append(len({r["signal"] for model in models for r in cells.get((model, ratio), [])}))
        rows.append(row)
    headers = ["params / sample"]
    for model in models:
        headers += [f"{model}: final", f"{model}: params/sample, MACs"]
    return table(headers + ["ASMR − grid", "signals"], rows)


def grid_plot(panels: dict[str, list[dict]], path: Path) -> None:
    """Final metric against parameters per sample, one line per network (the mean over signals; thin: each signal),
    one panel per signal kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for axis, (title, records) in zip(axes[0], panels.items()):
        top = max(r["final"] for r in records if r["final"] <= EXACT) + 4
        records = [{**r, "final": min(r["final"], top)} for r in records]  # lossless fits drawn at the top
        cells = grid_cells(records)
        for model, colour in GRID_COLOURS.items():
            ratios = sorted(ratio for key_model, ratio in cells if key_model == model)
            if not ratios:
                continue
            for signal in sorted({r["signal"] for ratio in ratios for r in cells[(model, ratio)]}):
                points = sorted(
                    (r["params_per_sample"], r["final"])
                    for ratio in ratios
                    for r in cells[(model, ratio)]
                    if r["signal"] == signal
                )
                axis.plot(*zip(*points), color=colour, alpha=0.2, linewidth=1)
            xs = [statistics.fmean(r["params_per_sample"] for r in cells[(model, ratio)]) for ratio in ratios]
            ys = [statistics.fmean(r["final"] for r in cells[(model, ratio)]) for ratio in ratios]
            axis.plot(
                xs,
                ys,
                color=colour,
                marker="o",
                linewidth=2.2,
                label=model.upper() if model != "grid" else "dense grid",
            )
        axis.set_xscale("log", base=2)
        axis.set_xlabel("parameters per sample")
        axis.set_ylabel("IoU" if "occupancy" in title else "final PSNR (dB)")
        axis.set_title(title, fontsize=10)
        if any(r["final"] >= top for r in records):
            axis.annotate("lossless", (1, top), textcoords="offset points", xytext=(-40, -12), fontsize=8)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


GRID_PANELS = {
    "grid-image": "images, 128 px",
    "grid-image512": "Cameraman, 512 px",
    "grid-audio": "speech, 2 s",
    "grid-occupancy": "occupancy, 64³",
}


def nerf_table(records: list[dict]) -> str:
    """Test PSNR of each asmr-nerf run at its checkpoints: one table per schedule, one row per field, seeds
    averaged."""
    schedules = sorted({record["max_iterations"] for record in records})
    return "\n\n".join(nerf_schedule_table([r for r in records if r["max_iterations"] == s]) for s in schedules)


def nerf_schedule_table(records: list[dict]) -> str:
    rows = defaultdict(lambda: defaultdict(list))
    for record in records:
        rows[(record["max_iterations"], record["field"])][record["iterations"]].append(record)
    marks = sorted({record["iterations"] for record in records})
    lines = []
    for (schedule, field), points in sorted(rows.items()):
        final = points[max(points)]
        seconds = statistics.fmean(r["train_seconds"] for r in final) / schedule
        cells = [f"{statistics.fmean(r['psnr'] for r in points[m]):.2f}" if m in points else "" for m in marks]
        seeds = ",".join(str(r["seed"]) for r in final)
        ssim = statistics.fmean(r["ssim"] for r in final)
        lines.append([field, schedule, seeds, final[0]["params"], f"{seconds:.2f}", *cells, f"{ssim:.3f}"])
    headers = [
        "field",
        "iterations",
        "seeds",
        "params",
        "s / iteration",
        *[f"PSNR at {m}" for m in marks],
        "final SSIM",
    ]
    return table(headers, lines)


def nerf_plot(records: list[dict], path: Path, timing: dict[str, float], schedule: int = 1000) -> None:
    """Test PSNR against iterations and against training seconds for the runs of ``schedule`` iterations (a
    checkpoint's seconds: its iterations times the field's seconds per iteration in ``timing``, all measured under
    the same load)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = defaultdict(list)
    for record in records:
        if record["max_iterations"] == schedule:
            runs[(record["field"], record["seed"])].append(record)
    figure, (by_iterations, by_seconds) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colours = {}
    for (field, seed), points in sorted(runs.items()):
        points.sort(key=lambda r: r["iterations"])
        label = None if field in colours else field  # one legend entry per field
        colour = colours.setdefault(field, f"C{len(colours)}")
        xs = [r["iterations"] for r in points]
        seconds = [timing[field] * r["iterations"] for r in points]
        psnrs = [r["psnr"] for r in points]
        by_iterations.plot(xs, psnrs, marker="o", color=colour, label=label)
        by_seconds.plot(seconds, psnrs, marker="o", color=colour)
    by_iterations.set_xlabel("iterations (512 rays each)")
    by_seconds.set_xlabel("training seconds (one thread, shared machine)")
    by_iterations.set_ylabel("test PSNR (dB), 10 views")
    by_iterations.legend(fontsize=8)
    for axis in (by_iterations, by_seconds):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    if sys.argv[1] == "grid":  # report.py grid PLOT.png FILE.jsonl ...
        panels = {}
        for source in sys.argv[3:]:
            name = GRID_PANELS.get(Path(source).stem, Path(source).stem)
            panels[name] = load(Path(source))
            print(f"\n{name}:\n")
            print(grid_table(panels[name]))
        grid_plot(panels, Path(sys.argv[2]))
        sys.exit()
    kind, source = sys.argv[1], Path(sys.argv[2])
    records = load(source)
    if kind == "nerf":  # report.py nerf RESULTS.jsonl [TIMING.jsonl PLOT.png]
        print(nerf_table(records))
        if len(sys.argv) > 4:
            timing = {record["field"]: record["iteration_seconds"] for record in load(Path(sys.argv[3]))}
            nerf_plot([r for r in records if r["field"] in timing], Path(sys.argv[4]), timing)
        sys.exit()
    if kind == "init":
        print(summary(records))
        for steps in sorted({r["steps"] for r in records}):
            print(f"\n{steps:,} steps, final PSNR per signal (mean of seeds):\n")
            print(per_signal(records, steps))
        if len(sys.argv) > 3:
            init_plot(records, Path(sys.argv[3]))
    elif kind == "scale":
        print(summary(records))
        for steps in sorted({r["steps"] for r in records}):
            print(f"\n{steps:,} steps, final PSNR per signal:\n")
            print(per_signal(records, steps))
        if len(sys.argv) > 3:
            scale_plot(records, Path(sys.argv[3]))
    elif kind in ("bases", "runner"):
        print(summary(records))
        for steps in sorted({r["steps"] for r in records}):
            print()
            print(per_signal(records, steps))
