"""``asmr-reproduce``: the paper's tables and figures re-run into docs/results, one item each."""
