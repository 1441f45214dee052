"""A fit that diverges stops: a non-finite loss at once, a fit that ends below its start at the end."""

import pytest
import torch

from asmr_plugin.training import loop
from asmr_plugin.training import optimization as optimization_module


def test_a_fit_that_ends_below_its_start_is_diverged():
    history = loop.FitHistory(steps=[0, 10], psnr=[12.0, 4.7])
    with pytest.raises(loop.FitDiverged, match="ended at 4.70 dB PSNR, below the 12.00 dB"):
        loop.check_converged(torch.nn.Linear(1, 1), history)
    loop.check_converged(torch.nn.Linear(1, 1), loop.FitHistory(steps=[0, 10], psnr=[12.0, float("inf")]))


@pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
)
def test_a_non_finite_loss_stops_the_fit(device):
    weight = torch.nn.Parameter(torch.ones(3, device=device))
    optimization = optimization_module.AdamCosine([weight], 1e-3, 1000)
    optimization.step((weight**2).sum())
    with pytest.raises(loop.FitDiverged, match="non-finite"):
        for _ in range(optimization_module.FINITE_CHECK_EVERY):  # on the CPU at once; elsewhere within this many steps
            optimization.step((weight * float("nan")).sum())
    assert optimization.steps_taken == (1 if device == "cpu" else optimization_module.FINITE_CHECK_EVERY)
