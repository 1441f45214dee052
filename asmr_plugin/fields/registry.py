"""Networks by name for a signal grid: one builder for the scripts and the nerfstudio model."""

from __future__ import annotations

import inspect
from typing import Any, Dict, Literal, Tuple

from asmr_plugin import decomposition
from asmr_plugin.fields import FIELDS, ASMRField, GridField

DEFAULT_LEVELS = 4
ModelName = Literal["asmr", "siren", "ffn", "mfn", "wire", "kilonerf", "loe", "ngp"]
"""The names of ``FIELDS``, for command-line choices."""


def parse_bases_option(bases: Tuple[str, ...], num_axes: int, option_prefix: str = "--") -> decomposition.Bases:
    """'4,4,4,8' (every axis) or one such list per axis, as given to --bases."""
    try:
        per_axis = [[int(base) for base in axis.split(",") if base.strip()] for axis in bases]
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
    """Refuse options below or at zero (None means the default)."""
    for name, value in options.items():
        if value is not None and not value > 0:
            kind = "number" if isinstance(value, float) else "integer"
            raise ValueError(f"{option_prefix}{name.replace('_', '-')} must be a positive {kind}, got {value}")


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
) -> GridField:
    """The network named ``model`` for a signal grid of ``shape`` with ``channels`` outputs.

    Options left as None take ``defaults`` (a task's configuration of this network, e.g. the
    paper's audio networks), else the network's own defaults; an option the network does not
    have is an error. Errors name the options with ``option_prefix``.
    """
    if model not in FIELDS:
        raise ValueError(f"{option_prefix}model must be one of {', '.join(FIELDS)}; got {model!r}")
    options = {"bases": bases, "num_layers": num_layers, "hidden_dim": hidden_dim, "omega0": omega0}
    check_positive({name: options[name] for name in ("num_layers", "hidden_dim", "omega0")}, option_prefix)
    accepted = set(inspect.signature(FIELDS[model]).parameters)
    if model == "asmr":
        accepted.add("num_layers")  # ASMR takes it as the number of levels of its bases
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
    settings = {**(defaults or {}), **given}
    if model == "asmr":
        return asmr_field(
            shape,
            channels,
            settings.get("bases"),
            num_layers
            if num_layers is not None or bases is not None
            else settings.get("num_layers"),  # bases set levels
            settings.get("hidden_dim"),
            settings.get("omega0"),
            option_prefix,
        )
    try:
        return FIELDS[model](shape, out_dim=channels, **settings)
    except ValueError as error:
        raise ValueError(f"{model}: {error}") from error


def asmr_field(
    shape: Tuple[int, ...],
    channels: int,
    bases: decomposition.Bases | None,
    num_layers: int | None,
    hidden_dim: int | None,
    omega0: float | None,
    option_prefix: str,
) -> ASMRField:
    """ASMR takes its grid from the bases: the given ones, or bases chosen for ``shape``."""
    if bases is not None and num_layers is not None and num_layers != decomposition.num_levels(bases):
        raise ValueError(
            f"{option_prefix}num-layers {num_layers} disagrees with {option_prefix}bases, which give "
            f"{decomposition.num_levels(bases)} levels (ASMR has one layer per level)"
        )
    if bases is None:
        bases = decomposition.auto_bases(shape, DEFAULT_LEVELS if num_layers is None else num_layers)
    return ASMRField(bases, 256 if hidden_dim is None else hidden_dim, channels, 30.0 if omega0 is None else omega0)
