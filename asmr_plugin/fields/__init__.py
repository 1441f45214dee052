"""One network per module, all with the ``GridField`` interface."""

from typing import Dict, Type

from asmr_plugin.fields.asmr import ASMRField
from asmr_plugin.fields.base import GridField
from asmr_plugin.fields.siren import SIRENField

FIELDS: Dict[str, Type[GridField]] = {"asmr": ASMRField, "siren": SIRENField}
"""Field classes by model name, as written in checkpoints and on the command line."""

__all__ = ["ASMRField", "FIELDS", "GridField", "SIRENField"]
