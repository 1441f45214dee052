import subprocess
import sys

import pytest
import torch

from asmr_plugin.export import export_render
from asmr_plugin.fields import ASMRField, SIRENField
from asmr_plugin.io.checkpoint import save_checkpoint


@pytest.mark.slow
@pytest.mark.parametrize(
    "field, shape",
    [
        (ASMRField(bases=[[4, 4, 8], [2, 3, 4]], hidden_dim=32, out_dim=3), (125, 23)),
        (ASMRField(bases=[[2, 2, 2], [2, 2, 2], [1, 2, 3]], hidden_dim=16, out_dim=2), (8, 8, 6)),
        (SIRENField((9, 7), hidden_dim=16, num_layers=3, out_dim=1), (9, 7)),
    ],
)
def test_exported_render_equals_the_field(tmp_path, field, shape):
    export_render(field, shape, tmp_path / "field.ts")
    with torch.no_grad():
        expected = field.render(shape)
    # a fresh interpreter that never imports asmr_plugin
    code = (
        "import sys, torch; sys.modules['asmr_plugin'] = None; "
        f"torch.save(torch.jit.load({str(tmp_path / 'field.ts')!r})(), {str(tmp_path / 'out.pt')!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert (torch.load(tmp_path / "out.pt") - expected).abs().max() <= 1e-6


@pytest.mark.slow
def test_export_script(tmp_path, script):
    field = ASMRField(bases=[[4, 4], [2, 8]], hidden_dim=16, out_dim=1)
    save_checkpoint(tmp_path / "checkpoint.pt", field, (16, 16), step=1)
    command = [
        *script("export.py"),
        "--checkpoint",
        str(tmp_path / "checkpoint.pt"),
        "--out",
        str(tmp_path / "field.ts"),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    with torch.no_grad():
        assert (torch.jit.load(tmp_path / "field.ts")() - field.render()).abs().max() <= 1e-6
    again = subprocess.run(command, capture_output=True, text=True)
    assert (
        again.returncode == 1
        and again.stderr.strip()
        == f"error: --out {tmp_path / 'field.ts'} exists; choose another path or pass --overwrite"
    )


def test_the_exported_render_is_a_plain_tensor_and_meta_checkpoints_are_refused(tmp_path):
    from asmr_plugin.export import ExportConfig, export, export_render
    from asmr_plugin.fields import ASMRField
    from asmr_plugin.io.checkpoint import save_checkpoint

    field = ASMRField(bases=[[2, 4], [4, 2]], hidden_dim=8, out_dim=1)
    export_render(field, (8, 8), tmp_path / "render.pt")
    rendered = torch.jit.load(str(tmp_path / "render.pt"))()
    assert not rendered.requires_grad and rendered.numpy().shape == (8, 8, 1)
    save_checkpoint(tmp_path / "meta.pt", field, (8, 8), 1, {"latent_map": {}})
    with pytest.raises(ValueError, match="is a meta-learning checkpoint"):
        export(ExportConfig(checkpoint=tmp_path / "meta.pt", out=tmp_path / "meta-render.pt"))
    assert not (tmp_path / "meta-render.pt").exists()


def test_a_failed_export_write_leaves_nothing_and_names_the_file(tmp_path, monkeypatch):
    from pathlib import Path

    from asmr_plugin.export import export_render
    from asmr_plugin.fields import ASMRField

    def full_disk(self, data):
        raise OSError(28, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        export_render(ASMRField(bases=[[2, 4], [4, 2]], hidden_dim=8, out_dim=1), (8, 8), tmp_path / "render.pt")
    assert list(tmp_path.iterdir()) == []
