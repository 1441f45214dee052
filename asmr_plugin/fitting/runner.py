"""``run_experiment``: the one flow every ``asmr-fit`` signal runs through.

Options checked; every item read and its network checked before anything is written; ``--out`` named, checked and
owned (one lock, held to the end); per item: resume or skip a finished fit, seed, build, train (checkpoints, Ctrl-C,
the last step saved: the final checkpoint), evaluate, outputs, and ``results.json`` LAST, the mark of a finished fit
(with ``--resume``, a finished fit whose outputs are missing writes them again from its checkpoint); a folder run's
summary written inside the lock. A run that fails leaves no empty folder behind."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Dict, Tuple

import torch
import torch.distributed as dist
from rich.console import Console

from asmr_plugin.fitting.options import ExperimentOptions
from asmr_plugin.fitting.results import CHECKPOINT, RESULTS, Json
from asmr_plugin.fitting.resume import check_resumable, check_same_fit, finished_results, fit_options
from asmr_plugin.fitting.signal import Item, Signal
from asmr_plugin.io.files import (
    check_input,
    check_output_dir,
    content_hash,
    prepare_output_dir,
    run_folder,
    write_json,
)
from asmr_plugin.training.distributed import Process, resolve_device, start_process
from asmr_plugin.training.interrupts import resume_hint
from asmr_plugin.training.resume import ResumableFit


def run_experiment(signal: Signal, console: Console | None = None) -> Dict[str, Json] | None:
    """Run ``signal``'s experiment; the results of its one fit, or the summary of a folder run (None on the processes
    of a data-parallel run other than the main one)."""
    signal.options.check_options()
    process = (
        start_process(signal.options.device)
        if signal.distributed
        else Process(device=resolve_device(signal.options.device))
    )
    try:
        return run_items(signal, process, console or signal.console)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_items(signal: Signal, process: Process, console: Console) -> Dict[str, Json] | None:
    options = signal.options
    if options.data is not None:
        check_input(options.data)
    items = signal.items()
    signal.check(items)  # before anything is written
    folder = signal.folder_run()
    out = check_output_dir(options.output_dir(signal.experiment, signal.run_name()), options.overwrite, options.resume)
    check_resumable(options, out, f"*/{CHECKPOINT}" if folder else CHECKPOINT)
    with run_folder(out) if process.is_main else nullcontext(), resume_hint(out):
        if folder:
            prepare_output_dir(out, options.overwrite, options.resume)
        runs = [fit_item(signal, item, out, item.name if folder else None, process, console) for item in items]
        if not process.is_main:
            return None
        if not folder:
            return runs[0]
        return signal.summarize(out, [run for run in runs if run is not None], console)


def fit_item(
    signal: Signal, item: Item, run: Path, folder: str | None, process: Process, console: Console
) -> Dict[str, Json] | None:
    """Fit one item into the run's folder ``run`` (into its subfolder ``folder`` in a folder run), or return the
    results of its finished fit (with ``--resume``). The run's own files never count as the item's data."""
    options = signal.options
    out = run if folder is None else run / folder
    data_hash = None if item.source is None else content_hash(item.source, exclude=run)
    previous = finished_results(options, out, data_hash, signal.extendable)
    if previous is not None:
        missing = [name for name in signal.output_files(previous) if not (out / name).is_file()]
        if not missing:
            if process.is_main:
                console.print(f"{item.label}: already fitted -> {out}")
            return previous if process.is_main else None
        if process.is_main:  # its checkpoint holds the last step: evaluated again, the outputs written again
            console.print(f"{item.label}: fitted, but {', '.join(missing)} missing in {out}: writing the outputs")
    target = signal.load(item)
    torch.manual_seed(options.seed)  # the same initial weights on every process
    network = signal.network(item, target, process)
    if process.is_main:
        if folder is not None:  # inside the run's own folder, under its lock
            check_output_dir(out, options.overwrite, options.resume).mkdir(exist_ok=True)
        else:
            prepare_output_dir(out, options.overwrite, options.resume)
        console.print(signal.announce(item, target, network, process))
    metadata = signal.checkpoint_metadata(item)
    field, modules = signal.checkpointed(network)
    resumable = ResumableFit(
        out / CHECKPOINT,
        field,
        signal.grid_shape(target),
        {**metadata, "options": fit_options(options), "data_sha256": data_hash},
        options.resume,
        partial(same_fit, options, data_hash, signal.extendable),
        modules,
    )
    with resumable.removed_if_diverged():
        history = signal.train(item, target, network, resumable, process)
    if not process.is_main:
        return None
    result, outputs = signal.evaluate(item, target, network, history, process)
    if result.record is not None:  # the data's hash, the run's own files left out
        result.record = replace(result.record, data_sha256=data_hash)
    signal.write_outputs(out, item, target, outputs, result)  # on a failure, the checkpoint of the last step resumes
    results = result.as_json()
    write_json(out / RESULTS, results)  # last: the fit is finished
    console.print(f"{signal.describe(result)} -> {out}")
    return results


def same_fit(
    options: ExperimentOptions,
    data_hash: str | None,
    extendable: Tuple[str, ...],
    saved: Dict[str, object],
    recorded_hash: str | None,
    where: Path,
) -> None:
    """The runner's ``SameFitCheck``: the checkpoint's options (but the ``extendable`` ones) and data are this run's."""
    check_same_fit(saved, recorded_hash, options, data_hash, where, extendable)
