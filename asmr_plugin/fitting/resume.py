"""``--resume``: which options a resumed run must repeat, whether a saved fit is the one asked for, and the results of
fits that already finished."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Mapping, Tuple

from asmr_plugin.fitting.options import RunOptions
from asmr_plugin.fitting.results import RESULTS, Json

RUN_ONLY_OPTIONS = ("out", "overwrite", "resume", "progress", "device", "checkpoint_every", "graph")
"""Options that do not change what a fit computes: a resumed run may change them."""
OPTIONS_BEFORE_THEY_EXISTED = {"init": "paper"}
"""What checkpoints written before an option existed were trained with."""
RENAMED_OPTIONS = {"batch_size": "batch"}
"""Options that checkpoints of earlier versions name otherwise."""
FORMER_DEFAULTS = {"audio": {"lr": 1e-4}, "occupancy": {"lr": 1e-4, "hidden_dim": 256}}
"""Per signal kind, defaults that became None (resolved per network since the dense grid came): what runs of earlier
versions recorded, and what None still resolves to for every network those versions had."""


def fit_options(options: RunOptions) -> Dict[str, Json]:
    """The options of a run that a resumed run must repeat, as plain values (paths resolved)."""
    return {key: plain(value) for key, value in asdict(options).items() if key not in RUN_ONLY_OPTIONS}


def plain(value: object) -> Json:
    """An option's value as its JSON record reads back: paths resolved, tuples as lists."""
    if isinstance(value, Path):
        return str(value.resolve())
    return list(value) if isinstance(value, tuple) else value


def same_paths(saved: Json, given: Json) -> bool:
    """Whether two recorded paths name the same file (a relative one resolved against the working folder)."""
    return saved is not None and given is not None and Path(str(saved)).resolve() == Path(str(given)).resolve()


def check_same_fit(
    saved: Mapping[str, Json],
    recorded_hash: str | None,
    options: RunOptions,
    data_hash: str | None,
    where: Path,
    extendable: Tuple[str, ...] = (),
) -> None:
    """A ValueError when the fit recorded in ``where`` (its options ``saved`` and its data's ``content_hash``) is not
    the one ``options`` ask for on data of ``data_hash``; the same data by another path is the same fit. The
    ``extendable`` options may have grown (the fit goes on to the new value), not shrunk."""
    saved = {**OPTIONS_BEFORE_THEY_EXISTED, **{RENAMED_OPTIONS.get(key, key): value for key, value in saved.items()}}
    for key, former in FORMER_DEFAULTS.get(getattr(options, "signal_kind", ""), {}).items():
        if saved.get(key) == former and getattr(options, key) is None:
            saved[key] = None
    paths = {key for key, value in asdict(options).items() if isinstance(value, Path) and key not in RUN_ONLY_OPTIONS}
    changed = {
        key: (saved.get(key), value)
        for key, value in fit_options(options).items()
        if saved.get(key) != value
        and not (key in paths and same_paths(saved.get(key), value))
        and not (key in extendable and grown(saved.get(key), value))
    }
    if recorded_hash is not None and data_hash is not None:
        if recorded_hash != data_hash:
            raise ValueError(
                f"--resume: the data differ from what {where} was made from (their content changed); "
                "resume with the same data, or start a new run"
            )
        changed = {key: values for key, values in changed.items() if key not in paths}  # moved, same content
    if changed:
        details = ", ".join(f"--{key.replace('_', '-')} {old!r} -> {new!r}" for key, (old, new) in changed.items())
        raise ValueError(f"--resume: {where} was written with other options ({details}); resume with the same ones")


def grown(saved: Json, given: Json) -> bool:
    """Whether the number ``given`` is above the ``saved`` one."""
    return isinstance(saved, (int, float)) and isinstance(given, (int, float)) and given > saved


def check_resumable(options: RunOptions, out: Path, checkpoints: str) -> None:
    """With ``--resume``, a ValueError unless ``out`` holds a checkpoint (the glob ``checkpoints``)."""
    if getattr(options, "resume", False) and not any(Path(out).glob(checkpoints)):
        raise ValueError(f"--resume: --out {out} holds no {checkpoints} to continue from")


RESULT_KEYS = {"data": str, "model": str, "shape": list, "config": dict}
"""What every fit's results.json holds, and of which JSON type."""


def read_results(path: Path) -> Dict[str, Json]:
    """A fit's results.json read back; a ValueError naming it when it is not JSON, or not a fit's record."""
    try:
        results = json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"--resume: {path} is not readable JSON ({error}); move it away to fit again") from None
    wrong = [
        key
        for key, kind in RESULT_KEYS.items()
        if not isinstance(results, dict) or not isinstance(results.get(key), kind)
    ]
    if wrong:
        raise ValueError(
            f"--resume: {path} is not a fit's results.json (no {', '.join(wrong)} of the right type); move it away "
            "to fit again"
        )
    return results


def finished_results(
    options: RunOptions, out: Path, data_hash: str | None = None, extendable: Tuple[str, ...] = ()
) -> Dict[str, Json] | None:
    """With ``--resume``, the results.json of a fit in ``out`` that already finished (written last), else None (also
    when ``extendable`` options grew: the fit goes on); a ValueError when that fit had other options or data
    (``data_hash``: the ``content_hash`` of what this run fits, None for a generated signal)."""
    path = Path(out) / RESULTS
    if not (getattr(options, "resume", False) and path.is_file()):
        return None
    results = read_results(path)
    saved = {key: value for key, value in results["config"].items() if key not in RUN_ONLY_OPTIONS}
    check_same_fit(saved, results.get("data_sha256"), options, data_hash, path, extendable)
    if any(saved.get(key) != getattr(options, key) for key in extendable):
        return None
    return results
