"""The training step: the body a CUDA graph records, run eagerly, equals a plain Adam + cosine loop; --graph's
choices and refusals; on CUDA, a replayed graph equals the eager step."""

import pytest
import torch

from asmr_plugin.fields import ASMRField, SIRENField
from asmr_plugin.fitting.image import FitImageConfig, run
from asmr_plugin.schedule import CosineFactor
from asmr_plugin.training.loop import FitConfig, batch_loss, fit, grid_loss
from asmr_plugin.training.optimization import AdamCosine
from asmr_plugin.training.step import EagerStep, GraphedStep, StaticStep, capture_allowed, graph_wanted

STEPS, LR = 25, 1e-3


def small_asmr() -> ASMRField:
    torch.manual_seed(0)
    return ASMRField(bases=[[2, 4, 4], [4, 2, 4]], hidden_dim=16, out_dim=3)  # 32 x 32


def reference_weights(field: torch.nn.Module, target: torch.Tensor) -> list[torch.Tensor]:
    """Adam with cosine annealing written out by hand: full-grid MSE steps."""
    optimizer = torch.optim.Adam(field.parameters(), lr=LR)
    factor = CosineFactor(1e-6 / LR, STEPS)
    for step in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = LR * factor(step)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(field.render(target.shape[:-1]), target).backward()
        optimizer.step()
    return [parameter.detach().clone() for parameter in field.parameters()]


@pytest.mark.parametrize("step_class", [StaticStep, EagerStep])
def test_the_recorded_step_run_eagerly_ends_with_the_weights_of_a_plain_loop(step_class):
    target = torch.rand(32, 32, 3)
    expected = reference_weights(small_asmr(), target)
    field = small_asmr()
    optimization = AdamCosine(field.parameters(), LR, STEPS, graphable=step_class is StaticStep)
    step = step_class(grid_loss(field, target, (0.0, 1.0)), optimization)
    for _ in range(STEPS):
        step()
    assert optimization.steps_taken == STEPS
    for got, want in zip(field.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, atol=1e-6, rtol=0)


def test_the_static_step_reads_its_batch_from_buffers_and_keeps_their_shape():
    torch.manual_seed(0)
    field = SIRENField(shape=(16, 16), out_dim=1, hidden_dim=8, num_layers=3)
    target = torch.rand(16, 16, 1)
    step = StaticStep(batch_loss(field, target), AdamCosine(field.parameters(), LR, 10, graphable=True))
    coords = torch.tensor([[0.0, 1.0], [5.0, 7.0]])
    step(coords)
    buffer = step.inputs[0]
    step(coords + 1)
    assert step.inputs[0] is buffer and torch.equal(buffer, coords + 1)
    with pytest.raises(ValueError, match="keeps its shapes"):
        step(torch.zeros(3, 2))


def test_graphable_optimization_saves_plain_learning_rates_and_resumes_either_way():
    field = small_asmr()
    graphed = AdamCosine(field.parameters(), LR, STEPS, graphable=True)
    StaticStep(grid_loss(field, torch.rand(32, 32, 3), (0.0, 1.0)), graphed)()
    state = graphed.state_dict()
    assert isinstance(state["optimizer"]["param_groups"][0]["lr"], float)
    eager = AdamCosine(field.parameters(), LR, STEPS)
    eager.load_state_dict(state)
    assert isinstance(eager.optimizer.param_groups[0]["lr"], float)
    again = AdamCosine(field.parameters(), LR, STEPS, graphable=True)
    again.load_state_dict(state)
    assert torch.is_tensor(again.optimizer.param_groups[0]["lr"])
    assert again.optimizer.param_groups[0]["lr"].item() == pytest.approx(eager.optimizer.param_groups[0]["lr"])


def test_graph_modes():
    cpu = torch.device("cpu")
    assert not graph_wanted("auto", cpu) and not graph_wanted("off", cpu)
    assert graph_wanted("auto", torch.device("cuda")) and not graph_wanted("off", torch.device("cuda"))
    with pytest.raises(ValueError, match="--graph on needs a CUDA device, but this run is on cpu"):
        graph_wanted("on", cpu)
    with pytest.raises(ValueError, match="--graph must be auto, on or off"):
        graph_wanted("sometimes", cpu)


def test_a_step_that_cannot_be_recorded_runs_eagerly_saying_why(capsys):
    assert capture_allowed(True, None) and not capture_allowed(False, "whatever")
    assert not capture_allowed(True, ASMRField(bases=[[2, 2]], hidden_dim=4).capture_obstacle(full_grid=False))
    assert "--graph: running the step eagerly: ASMR's random-batch step" in capsys.readouterr().err
    assert small_asmr().capture_obstacle(full_grid=True) is None


def test_graph_on_without_cuda_is_one_clear_error(tmp_path, monkeypatch, capsys):
    from PIL import Image
    from skimage import data

    Image.fromarray(data.camera()[::16, ::16]).save(tmp_path / "tiny.png")
    from asmr_plugin.cli import run_cli

    with pytest.raises(SystemExit) as exit_:
        run_cli(
            FitImageConfig,
            run,
            None,
            args=[
                "--data",
                str(tmp_path / "tiny.png"),
                "--graph",
                "on",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "out"),
            ],
        )
    assert exit_.value.code == "error: --graph on needs a CUDA device, but this run is on cpu; use --graph auto or off"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("batch", [None, 256], ids=["full-grid", "random-batch"])
def test_a_replayed_graph_equals_the_eager_step_on_cuda(batch):
    target = torch.rand(32, 32, 3, device="cuda")
    histories, weights = [], []
    for graph in ("off", "on"):
        torch.manual_seed(0)
        field = SIRENField(shape=(32, 32), out_dim=3, hidden_dim=32, num_layers=3).cuda()
        config = FitConfig(steps=60, lr=LR, batch=batch, progress=False, graph=graph)
        histories.append(fit(field, target, config))
        weights.append([p.detach() for p in field.parameters()])
    assert histories[1].psnr == pytest.approx(histories[0].psnr, abs=1e-3)
    for graphed, eager in zip(weights[1], weights[0]):
        torch.testing.assert_close(graphed, eager, atol=1e-5, rtol=1e-4)
    asmr = small_asmr().cuda()
    optimization = AdamCosine(asmr.parameters(), LR, 10, graphable=True)
    step = GraphedStep(grid_loss(asmr, target, (0.0, 1.0)), optimization)
    for _ in range(10):
        step()
    assert step.graph is not None and optimization.steps_taken == 10


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_bench_gpu_without_cuda_is_one_line_and_exit_1(tmp_path):
    from asmr_plugin.commands import bench

    with pytest.raises(SystemExit) as exit_info:
        bench(["gpu", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == (
        "error: asmr-bench gpu measures CUDA graphs: it needs a CUDA device, and torch sees none"
    )
    assert not (tmp_path / "r").exists()


def test_a_checkpoint_that_names_the_batch_batch_size_resumes(tmp_path):
    from functools import partial

    from asmr_plugin.fitting.resume import fit_options
    from asmr_plugin.fitting.runner import same_fit
    from asmr_plugin.io.checkpoint import load_checkpoint, save_checkpoint
    from asmr_plugin.training.loop import TrainingState
    from asmr_plugin.training.resume import load_training_state

    config = FitImageConfig(batch=64, out=tmp_path)
    field = small_asmr()
    state = TrainingState(step=3, optimization={}, generator=torch.Generator().get_state(), history={}, seconds=1.0)
    options = fit_options(config)
    options["batch_size"] = options.pop("batch")  # as versions before the rename wrote it
    save_checkpoint(tmp_path / "checkpoint.pt", field, (32, 32), 3, {"options": options, "training": state.as_dict()})
    assert load_training_state(tmp_path / "checkpoint.pt", small_asmr(), partial(same_fit, config, None, ())).step == 3
    with pytest.raises(ValueError, match="--batch 64 -> 32"):
        other = FitImageConfig(batch=32, out=tmp_path)
        load_training_state(tmp_path / "checkpoint.pt", small_asmr(), partial(same_fit, other, None, ()))
    assert load_checkpoint(tmp_path / "checkpoint.pt").metadata["options"]["batch_size"] == 64
