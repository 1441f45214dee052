"""One network per module, all with the ``GridField`` interface."""

import warnings
from importlib.metadata import entry_points
from typing import Dict, Tuple, Type

from asmr_plugin.fields.asmr import ASMRField
from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.dense_grid import DenseGridField
from asmr_plugin.fields.ffn import FFNField
from asmr_plugin.fields.kilonerf import KiloNeRFField
from asmr_plugin.fields.loe import LoEField
from asmr_plugin.fields.mfn import MFNField
from asmr_plugin.fields.ngp import NGPField
from asmr_plugin.fields.siren import SIRENField
from asmr_plugin.fields.wire import WIREField

FIELDS: Dict[str, Type[GridField]] = {
    "asmr": ASMRField,
    "siren": SIRENField,
    "ffn": FFNField,
    "mfn": MFNField,
    "wire": WIREField,
    "kilonerf": KiloNeRFField,
    "loe": LoEField,
    "ngp": NGPField,
    "grid": DenseGridField,
}
"""Field classes by model name, as written in checkpoints and on the command line (plug-ins included)."""

PLUGIN_GROUP = "asmr_plugin.fields"
"""Entry-point group through which another package adds a network: ``name = "package.module:FieldClass"`` (a
``GridField``). It then appears in every command's ``--model`` and in the benchmarks; docs/architecture.md."""
BUILT_IN = tuple(FIELDS)
"""The networks this package defines."""


def register_field(name: str, field_class: Type[GridField]) -> None:
    """Add a network under ``name`` (a ValueError for a name taken or a class that is not a ``GridField``)."""
    if not (isinstance(field_class, type) and issubclass(field_class, GridField)):
        raise ValueError(f"network {name!r}: {field_class!r} is not a GridField subclass")
    if FIELDS.get(name, field_class) is not field_class:
        raise ValueError(f"network {name!r} is already {FIELDS[name].__name__}")
    FIELDS[name] = field_class


def discover_plugins() -> Tuple[str, ...]:
    """Register the networks of the ``PLUGIN_GROUP`` entry points (one that fails to load is skipped with a
    warning, so that it breaks no command); their names."""
    found = []
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            register_field(entry.name, entry.load())
        except Exception as error:  # a broken plug-in must not break the package
            warnings.warn(f"network plug-in {entry.name} = {entry.value} not loaded: {error}", stacklevel=2)
            continue
        found.append(entry.name)
    return tuple(found)


PLUGINS = discover_plugins()
"""The networks added by other packages."""

__all__ = [
    "BUILT_IN",
    "PLUGINS",
    "PLUGIN_GROUP",
    "register_field",
    "ASMRField",
    "DenseGridField",
    "FFNField",
    "FIELDS",
    "GridField",
    "KiloNeRFField",
    "LoEField",
    "MFNField",
    "NGPField",
    "SIRENField",
    "WIREField",
]
