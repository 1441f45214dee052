"""One network per module, all with the ``GridField`` interface."""

from typing import Dict, Type

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
"""Field classes by model name, as written in checkpoints and on the command line."""

__all__ = [
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
