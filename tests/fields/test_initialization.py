"""The output layer's initialization: the paper's, or started at the signal's mean (``--init``)."""

import pytest
import torch

from asmr_plugin.fields import FIELDS, ASMRField, SIRENField
from asmr_plugin.fields.initialization import INITS, OutputInit, channel_mean, initialize_output, logit_mean
from asmr_plugin.training.loop import FitConfig, fit

MEAN = torch.tensor([0.2, 0.5, 0.7])


def build(name: str, seed: int = 0):
    torch.manual_seed(seed)
    options = {"implementation": "torch"} if name == "ngp" else {}
    return FIELDS[name]((32, 48), out_dim=3, **options)


NETWORKS = [name for name in FIELDS if name != "grid"]
"""The networks with an output layer (the dense grid's start: tests/fields/test_dense_grid.py)."""


@pytest.mark.parametrize("name", NETWORKS)
def test_every_network_starts_at_the_signals_mean(name):
    paper = build(name)
    with torch.no_grad():
        paper_render = paper.render()
    field = build(name)
    assert initialize_output(field, MEAN, "mean") == "mean"
    with torch.no_grad():
        render = field.render()
    # the output bias is the mean; the weighted hidden features add a zero-mean term
    weight, bias = field.output_layer()
    assert torch.equal(bias.real.reshape(-1, 3)[0], MEAN)
    assert (render.mean(dim=(0, 1)) - MEAN).abs().max() < (paper_render.mean(dim=(0, 1)) - MEAN).abs().max()
    assert (render.mean(dim=(0, 1)) - MEAN).abs().max() < 0.2
    gain = FIELDS[name].mean_start_gain("image")  # ASMR's x3 on images; the others keep their output weights
    assert torch.allclose(weight, paper.output_layer()[0] * gain) and gain == (3.0 if name == "asmr" else 1.0)


@pytest.mark.parametrize("name", list(FIELDS))
def test_the_paper_initialization_leaves_the_network_as_built(name):
    reference, field = build(name), build(name)
    assert initialize_output(field, MEAN, "paper") == "paper"
    for (key, expected), actual in zip(reference.state_dict().items(), field.state_dict().values()):
        assert torch.equal(expected, actual), key


def test_explicit_weight_gains_scale_any_output_layer():
    for name in ("asmr", "siren", "kilonerf", "ffn"):
        reference, field = build(name), build(name)
        OutputInit(False, 10.0).apply(field, MEAN)
        weight, reference_weight = field.output_layer()[0], reference.output_layer()[0]
        assert torch.allclose(weight, reference_weight * 10.0), name
        assert field.initialization == "paper, weights x10"
    assert OutputInit(True, 3.0).apply(build("asmr"), MEAN) == "bias = mean, weights x3"


@pytest.mark.parametrize(
    "signal, gain", [("image", 3.0), ("megapixel", 10.0), ("occupancy", 10.0), ("audio", 0.3), ("video", 1.0)]
)
def test_asmrs_output_gain_under_init_mean_is_the_one_measured_for_the_signal(signal, gain):
    reference, field = build("asmr"), build("asmr")
    assert initialize_output(field, MEAN, "mean", signal) == "mean"
    weight, bias = field.output_layer()
    assert torch.allclose(weight, reference.output_layer()[0] * gain) and torch.equal(bias, MEAN)
    assert ASMRField.mean_start_gains.get(signal, 1.0) == gain


def test_kilonerf_starts_every_tile_at_the_mean():
    field = build("kilonerf")
    initialize_output(field, MEAN, "mean")
    _, bias = field.output_layer()
    assert bias.shape[0] == 16 * 16 and torch.equal(bias, MEAN.expand_as(bias))


def test_an_unknown_init_is_refused():
    with pytest.raises(ValueError, match="--init must be one of mean, paper"):
        initialize_output(build("asmr"), MEAN, "zeros")


def test_fit_starts_a_fresh_network_as_its_config_says_and_never_twice():
    target = torch.rand(16, 16, 1)
    torch.manual_seed(0)
    fresh = ASMRField((16, 16), bases=[[2, 2, 4]] * 2)
    assert fresh.initialization is None
    fit(fresh, target, FitConfig(steps=1, progress=False))
    assert fresh.initialization == "mean"
    bias_after_one_fit = fresh.output.bias.detach().clone()
    fit(fresh, target, FitConfig(steps=1, progress=False))  # a second fit continues; it does not start again
    assert not torch.equal(fresh.output.bias, channel_mean(target))
    assert (fresh.output.bias - bias_after_one_fit).abs().max() < 1e-3
    torch.manual_seed(0)
    paper = SIRENField((16, 16))
    fit(paper, target, FitConfig(steps=1, progress=False, init="paper"))
    assert paper.initialization == "paper"


def test_starting_at_the_mean_is_better_than_the_papers_first_prediction():
    target = torch.rand(16, 16, 1) * 0.2 + 0.6  # far from 0, where SIREN's initialization starts
    first = {}
    for init in INITS:
        torch.manual_seed(0)
        field = ASMRField((16, 16), bases=[[2, 2, 4]] * 2)
        first[init] = fit(field, target, FitConfig(steps=1, progress=False, init=init)).psnr[0]
    assert first["mean"] > first["paper"] + 5


def test_logit_mean_is_the_occupied_fraction_through_a_sigmoid():
    occupancy = torch.zeros(4, 4, 4, dtype=torch.bool)
    occupancy[:1] = True
    assert torch.sigmoid(logit_mean(occupancy)).item() == pytest.approx(0.25)
    assert torch.isfinite(logit_mean(torch.zeros(3, 3, 3))).all()
