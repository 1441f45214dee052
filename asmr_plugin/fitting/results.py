"""What a run writes, typed once: each fit's ``results.json`` (``FitResult`` with its ``RunRecord``), and the
``summary.json`` / ``summary.md`` of a folder run (``Summary``: mean ± std of each metric, like the paper's tables)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple, Type

import numpy as np
import torch

from asmr_plugin.fields import GridField
from asmr_plugin.io.files import atomic_path, content_hash, write_json

RESULTS = "results.json"
"""Each fit's record, written last: its presence marks the fit finished."""
CHECKPOINT = "checkpoint.pt"
"""Each fit's weights (and, while it runs, its training state)."""
SUMMARY = "summary"
"""A folder run's summary.json and summary.md."""

METRICS = {
    "final_psnr": ("PSNR (dB)", ".3f"),
    "ssim": ("SSIM", ".4f"),
    "iou": ("IoU", ".4f"),
    "sdf_mae": ("SDF mean abs error", ".5f"),
    "psnr_mean": ("PSNR (dB)", ".3f"),
    "ssim_mean": ("SSIM", ".4f"),
}
"""Per-fit metrics (final values): label and number format."""

Json = object
"""A value of a JSON record (numbers, strings, lists, dicts, None)."""


def mean_std(values: Sequence[float | None]) -> Tuple[float | None, float | None]:
    """Mean and population standard deviation (ddof 0) of the defined values (None: not defined,
    e.g. SSIM of a tiny image); (None, None) when none is."""
    array = np.asarray([value for value in values if value is not None], dtype=np.float64)
    if array.size == 0:
        return None, None
    return float(array.mean()), float(array.std())


def formatted(value: float | None, spec: str) -> str:
    """``value`` in ``spec``, or n/a where it is not defined."""
    return "n/a" if value is None else f"{value:{spec}}"


def params_per_sample(params: int, shape: Sequence[int], channels: int) -> float:
    """Parameters over the signal's values (samples x channels): near 1 or above, a network can store the signal
    itself (memorization, not compression)."""
    return params / (math.prod(shape) * channels)


def recorded_options(options: object) -> Dict[str, Json]:
    """A command's options (a dataclass) as plain values, paths absolute."""
    return {
        key: str(Path(value).resolve()) if isinstance(value, Path) else value for key, value in asdict(options).items()
    }


@dataclass
class RunRecord:
    """What every results.json says about the network and the run: its arguments, size, MACs (both conventions),
    device, threads, the run's options and the SHA-256 of the data it fitted (None for a generated signal), which
    ``--resume`` checks (the runner records it: a signal passes ``data=None``)."""

    init_kwargs: Dict[str, Json]
    output_init: str
    params: int
    params_per_sample: float
    macs_weights: float
    macs_with_bias: float
    device: str
    torch_threads: int
    config: Dict[str, Json]
    data_sha256: str | None

    @classmethod
    def of(
        cls, network: GridField, shape: Sequence[int], device: torch.device | str, options: object, data: Path | None
    ) -> RunRecord:
        macs = network.macs(tuple(shape))
        return cls(
            init_kwargs=network.init_kwargs,
            output_init=network.initialization or "paper",
            params=network.num_params(),
            params_per_sample=params_per_sample(network.num_params(), shape, network.out_dim),
            macs_weights=macs.weights_only,
            macs_with_bias=macs.with_bias,
            device=str(device),
            torch_threads=torch.get_num_threads(),
            config=recorded_options(options),
            data_sha256=None if data is None else content_hash(Path(data)),
        )


RECORD_KEYS = tuple(entry.name for entry in fields(RunRecord))


@dataclass(frozen=True)
class Metrics:
    """A fit's final metrics, typed per signal: each field is a key of its results.json (None where a metric is not
    defined, e.g. SSIM below 6 pixels)."""

    def as_json(self) -> Dict[str, float | None]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Json]) -> "Metrics":
        return cls(**{entry.name: data.get(entry.name) for entry in fields(cls)})


@dataclass(frozen=True)
class PsnrMetrics(Metrics):
    """Audio (and any signal scored by PSNR alone)."""

    final_psnr: float


@dataclass(frozen=True)
class ImageMetrics(Metrics):
    """An image or a megapixel image."""

    final_psnr: float
    ssim: float | None


@dataclass(frozen=True)
class VideoMetrics(Metrics):
    """Per-frame PSNR and SSIM, averaged over the frames."""

    psnr_mean: float
    ssim_mean: float | None


@dataclass(frozen=True)
class OccupancyMetrics(Metrics):
    """The occupancy's intersection over union with the voxelized shape."""

    iou: float


@dataclass(frozen=True)
class SdfMetrics(OccupancyMetrics):
    """A signed distance field: the IoU of its inside and its mean absolute error."""

    sdf_mae: float


@dataclass(frozen=True)
class MetaMetrics(Metrics):
    """Held-out images' PSNR after the inner loop from the meta-learned start."""

    test_psnr_mean: float | None
    test_psnr_std: float | None


@dataclass
class FitResult:
    """One fit's results.json: what was fitted, its final metrics (``METRICS`` keys, None where not defined), the
    signal's own entries (rates, histories, per-frame values, ...), the run record and a note on the numbers."""

    data: str
    model: str
    shape: List[int]
    metrics: Metrics
    details: Dict[str, Json]
    record: RunRecord | None
    notes: str | None = None

    def as_json(self) -> Dict[str, Json]:
        record = {} if self.record is None else asdict(self.record)
        notes = {} if self.notes is None else {"notes": self.notes}
        return {
            "data": self.data,
            "model": self.model,
            "shape": self.shape,
            **self.metrics.as_json(),
            **self.details,
            **record,
            **notes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Json], metrics: Type[Metrics]) -> FitResult:
        """A results.json read back, its metrics as ``metrics``."""
        read = metrics.from_json(data)
        named = {"data", "model", "shape", "notes", *read.as_json(), *RECORD_KEYS}
        has_record = all(key in data for key in RECORD_KEYS)
        return cls(
            data=str(data["data"]),
            model=str(data["model"]),
            shape=list(data["shape"]),  # type: ignore[arg-type]
            metrics=read,
            details={key: value for key, value in data.items() if key not in named},
            record=RunRecord(**{key: data[key] for key in RECORD_KEYS}) if has_record else None,  # type: ignore
            notes=data.get("notes"),  # type: ignore[arg-type]
        )

    @property
    def params(self) -> int:
        assert self.record is not None
        return self.record.params


SUMMARY_NOTES = (
    "Metrics are final values (after the last step); std is the population std (ddof 0) over "
    "signals; a metric that is not defined for a signal (null, e.g. SSIM below 6 pixels) is left out of both."
)


@dataclass
class Summary:
    """A folder run's summary: mean ± std of ``metrics`` over its fits, their sizes, and one line per fit."""

    data: str
    model: str
    protocol: str
    runs: List[FitResult]
    metrics: Tuple[str, ...]
    statistics: Dict[str, Tuple[float | None, float | None]] = field(init=False)

    def __post_init__(self) -> None:
        self.statistics = {key: mean_std([getattr(run.metrics, key) for run in self.runs]) for key in self.metrics}

    def as_json(self) -> Dict[str, Json]:
        records = [run.record for run in self.runs if run.record is not None]
        return {
            "data": self.data,
            "model": self.model,
            "signals": len(self.runs),
            "protocol": self.protocol,
            **{
                f"{key.removeprefix('final_')}_{stat}": value
                for key, pair in self.statistics.items()
                for stat, value in zip(("mean", "std"), pair)
            },
            "params": sorted({record.params for record in records}),
            "params_per_sample": sorted({record.params_per_sample for record in records}),
            "macs_with_bias": sorted({record.macs_with_bias for record in records}),
            "macs_weights": sorted({record.macs_weights for record in records}),
            "seconds": sum(run.details["seconds"] for run in self.runs),  # type: ignore[misc]
            "device": records[0].device,
            "torch_threads": records[0].torch_threads,
            "notes": SUMMARY_NOTES,
            "runs": [self.line(run) for run in self.runs],
        }

    def line(self, run: FitResult) -> Dict[str, Json]:
        entries = {"data": run.data, "shape": run.shape, **run.details, **run.metrics.as_json()}
        return {key: entries[key] for key in ("data", "shape", "best_psnr", "seconds", *self.metrics) if key in entries}

    def markdown(self) -> str:
        summary = self.as_json()
        labels = [METRICS[key][0] for key in self.metrics]
        return "\n".join(
            [
                f"# {self.model} on {self.data} ({len(self.runs)} signals)",
                "",
                f"Protocol: {self.protocol}. Device: {summary['device']} ({summary['torch_threads']} threads).",
                "",
                "| Method | #Params | MACs/sample (+bias) | " + " | ".join(labels) + " |",
                "|---|---|---|" + "---|" * len(labels),
                f"| {self.model} | {', '.join(f'{p:,}' for p in summary['params'])} | "  # type: ignore[attr-defined]
                f"{', '.join(f'{m:,.1f}' for m in summary['macs_with_bias'])} | "  # type: ignore[attr-defined]
                + " | ".join(self.statistic(key) for key in self.metrics)
                + " |",
                "",
                "| Signal | Shape | " + " | ".join(labels) + " | Seconds |",
                "|---|---|" + "---|" * (len(labels) + 1),
                *(
                    f"| {Path(run.data).name} | {'x'.join(map(str, run.shape))} | "
                    + " | ".join(formatted(getattr(run.metrics, key), METRICS[key][1]) for key in self.metrics)
                    + f" | {run.details['seconds']:.1f} |"
                    for run in self.runs
                ),
                "",
                SUMMARY_NOTES,
                "",
            ]
        )

    def statistic(self, key: str) -> str:
        mean, std = self.statistics[key]
        return f"{formatted(mean, METRICS[key][1])} ± {formatted(std, METRICS[key][1])}"

    def headline(self) -> str:
        return f"{len(self.runs)} signals: " + ", ".join(
            f"{METRICS[key][0]} {self.statistic(key)}" for key in self.metrics
        )

    def write(self, out: Path) -> Dict[str, Json]:
        """summary.json and summary.md into ``out``; returns the JSON."""
        summary = self.as_json()
        write_json(out / f"{SUMMARY}.json", summary)
        with atomic_path(out / f"{SUMMARY}.md") as temporary:
            temporary.write_text(self.markdown())
        return summary
