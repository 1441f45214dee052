"""Networks by name for a signal grid: one builder for the scripts and the nerfstudio model."""

from __future__ import annotations

import inspect
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, Literal, Sequence, Tuple

import torch

from asmr_plugin import decomposition
from asmr_plugin.fields import FIELDS, PLUGINS, GridField
from asmr_plugin.memory import check_memory


def model_choices(names: Iterable[str], plugins: Iterable[str] = PLUGINS) -> Any:
    """The command-line choices of ``--model``: ``names`` (the built-in networks a command offers) and the plug-in
    networks, as the ``Literal`` that tyro reads."""
    return Literal[tuple(dict.fromkeys([*names, *plugins]))]  # type: ignore[misc]


ModelName = model_choices(FIELDS)
"""Every network's name, for command-line choices."""
LatentModelName = model_choices([name for name, field in FIELDS.items() if hasattr(field, "shift_shape")], ())
"""The networks that take per-instance shifts (meta-learning)."""


def parse_bases_option(bases: Tuple[str, ...], num_axes: int, option_prefix: str = "--") -> decomposition.Bases:
    """'4,4,4,8' (every axis) or one such list per axis, as given to --bases."""
    try:
        per_axis = [[int(base) for base in axis.split(",")] for axis in bases]
    except ValueError as error:
        raise ValueError(
            f"{option_prefix}bases {' '.join(bases)}: expected comma-separated integers per axis, e.g. 4,4,4,8"
        ) from error
    if len(per_axis) == 1:
        per_axis = per_axis * num_axes
    try:
        return decomposition.parse_bases(per_axis, num_axes)
    except ValueError as error:
        raise ValueError(f"{option_prefix}bases: {error}") from error


def check_positive(options: Dict[str, float | None], option_prefix: str = "--") -> None:
    """Refuse options at or below zero, NaN or infinite (None means the default), naming them with ``option_prefix``."""
    for name, value in options.items():
        if value is not None and not value > 0:
            raise ValueError(f"{option_prefix}{name.replace('_', '-')} must be positive, got {value}")
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{option_prefix}{name.replace('_', '-')} must be a finite number, got {value}")


def check_network_memory(hidden_dim: int | None, num_layers: int | None, option_prefix: str = "--") -> None:
    """A ValueError when the hidden layers' weights alone (4 bytes x width^2 per layer, and Adam's two moments and the
    gradient as much again each) would not fit in this machine's memory."""
    if hidden_dim is not None:
        check_memory(
            4 * 4 * hidden_dim**2 * max((num_layers or 4) - 1, 1),
            f"{option_prefix}hidden-dim {hidden_dim}: training such a network (weights, gradients and Adam's moments)",
        )


def matched_params(shape: Sequence[int], channels: int, reference: Dict[str, Any] | None = None) -> int:
    """The parameters of ASMR built with ``reference`` (its options as a command builds it; default: its own) for
    this signal: the budget of a network compared with it at equal parameters (the dense grid's default)."""
    with checking_only():
        return FIELDS["asmr"](tuple(shape), out_dim=channels, **(reference or {})).num_params()


@contextmanager
def checking_only() -> Iterator[None]:
    """Networks built inside run every check of their options but hold no weights (PyTorch's meta device: shapes
    only) and draw no random numbers, e.g. to check each signal of a folder before the first fit writes anything."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        yield


def build_field(
    model: str,
    shape: Tuple[int, ...],
    channels: int,
    bases: Tuple[str, ...] | None = None,
    num_layers: int | None = None,
    hidden_dim: int | None = None,
    omega0: float | None = None,
    option_prefix: str = "--",
    defaults: Dict[str, Any] | None = None,
    params: int | None = None,
    reference: Dict[str, Any] | None = None,
) -> GridField:
    """The network named ``model`` for a signal grid of ``shape`` with ``channels`` outputs.

    Options left as None take ``defaults`` (a task's configuration of this network, e.g. the
    paper's audio networks), else the network's own defaults; an option the network does not
    have is an error. A network sized by a parameter budget (the dense grid) without ``params`` gets
    ASMR's on this signal, ASMR built with ``reference`` (the task's ASMR options). Errors name the
    options with ``option_prefix``.
    """
    if model not in FIELDS:
        raise ValueError(f"{option_prefix}model must be one of {', '.join(FIELDS)}; got {model!r}")
    options = {"bases": bases, "num_layers": num_layers, "hidden_dim": hidden_dim, "omega0": omega0, "params": params}
    check_positive({name: options[name] for name in ("num_layers", "hidden_dim", "omega0", "params")}, option_prefix)
    check_network_memory(hidden_dim, num_layers, option_prefix)
    accepted = set(inspect.signature(FIELDS[model]).parameters)
    for name, value in options.items():
        if value is not None and name not in accepted:
            raise ValueError(f"{option_prefix}{name.replace('_', '-')} does not apply to {model}")
    if bases is not None:
        options["bases"] = parse_bases_option(bases, len(shape), option_prefix)
        try:
            decomposition.check_bases(options["bases"], shape)
        except ValueError as error:
            raise ValueError(f"{option_prefix}bases do not fit the signal of shape {shape}: {error}") from error
    given = {name: value for name, value in options.items() if value is not None}
    if "params" in accepted and params is None and not {"params", "resolution"} & set(defaults or {}):
        given["params"] = matched_params(shape, channels, reference)
    task_defaults = {
        name: value
        for name, value in (defaults or {}).items()
        if not (name == "num_layers" and "bases" in given)  # given bases set the depth
    }
    try:
        return FIELDS[model](shape, out_dim=channels, **{**task_defaults, **given})
    except ValueError as error:
        spelled = " ".join(
            f"{option_prefix}{name.replace('_', '-')} {' '.join(value) if name == 'bases' else value}"
            for name, value in (
                ("bases", bases),
                ("num_layers", num_layers),
                ("hidden_dim", hidden_dim),
                ("params", params),
            )
            if value is not None
        )
        raise ValueError(f"{model}{f' with {spelled}' if spelled else ''}: {error}") from error


@dataclass
class NetworkShape:
    """A network's shape, as every fit command and the nerfstudio methods take it; None keeps the task's
    (the paper's) setting for the chosen network."""

    bases: Tuple[str, ...] | None = None
    """ASMR bases (LoE: weight-tile grids): one comma-separated list per axis (first axis first), or
    one list for every axis, e.g. '4,4,4,8' or '4,4,4,8' '4,4,6,8'. Default: chosen for the signal."""
    hidden_dim: int | None = None
    """Width of the hidden layers."""
    num_layers: int | None = None
    """Number of linear layers, the output included (ASMR: levels)."""
    omega0: float | None = None
    """Sine/Gabor frequency of SIREN, ASMR (also scales its modulators) and WIRE. Default: 30 (WIRE: 20)."""
    params: int | None = None
    """Dense grid (--model grid): its parameter budget, filled in the signal's aspect. Default: ASMR's parameters on
    the same signal, ASMR as this command builds it."""

    def check_network_shape(self, option_prefix: str = "--") -> None:
        """A ValueError naming the first size at or below zero."""
        check_positive(
            {
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "omega0": self.omega0,
                "params": self.params,
            },
            option_prefix,
        )

    def build(
        self,
        model: str,
        shape: Sequence[int],
        channels: int,
        option_prefix: str = "--",
        defaults: Dict[str, Any] | None = None,
        bases: Tuple[str, ...] | None = None,
        reference: Dict[str, Any] | None = None,
    ) -> GridField:
        """``model`` of this shape for a signal grid of ``shape`` (``bases`` in place of the given ones, e.g.
        adapted to the signal; ``reference``: the task's ASMR options, which size a dense grid); see
        ``build_field``."""
        return build_field(
            model,
            tuple(shape),
            channels,
            self.bases if bases is None else bases,
            self.num_layers,
            self.hidden_dim,
            self.omega0,
            option_prefix,
            defaults,
            self.params,
            reference,
        )
