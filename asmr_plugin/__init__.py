"""ASMR (Activation-Sharing Multi-Resolution coordinate networks, ICLR 2024) for nerfstudio."""

__version__ = "0.1.0"
