"""Reusable network pieces; nothing here imports nerfstudio's models, pipelines or engine."""

from asmr_plugin.field_components.decomposition_encoding import CoordinateDecomposition
from asmr_plugin.field_components.modulation import HierarchicalModulation
from asmr_plugin.field_components.sine import SineLayer, siren_init_

__all__ = ["CoordinateDecomposition", "HierarchicalModulation", "SineLayer", "siren_init_"]
