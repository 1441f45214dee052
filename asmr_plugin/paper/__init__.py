"""The paper (ASMR, ICLR 2024) as data, written once: its networks per task (``networks``) and the values its tables
print (``values``). Commands, presets, ``reproduce/``, ``benchmarks/`` and the MAC counts read it; it imports no
runner."""
