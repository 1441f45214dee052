"""asmr-export refuses what it cannot export, writing nothing."""

import subprocess
from pathlib import Path

import pytest
import torch


@pytest.mark.slow
def test_export_refuses_an_unknown_model_and_an_unwritable_out(tmp_path, script):
    from asmr_plugin.fields import ASMRField
    from asmr_plugin.io.checkpoint import save_checkpoint

    script = [*script("export.py")]
    save_checkpoint(tmp_path / "good.pt", ASMRField(bases=[[2, 2], [2, 2]], hidden_dim=8, out_dim=1), (4, 4), step=1)
    payload = torch.load(tmp_path / "good.pt", weights_only=True)
    torch.save({**payload, "model": "nope"}, tmp_path / "bad.pt")
    for checkpoint, out, message in [
        ("bad.pt", tmp_path / "x.ts", "unknown model 'nope'"),
        ("good.pt", Path("/proc/asmr.ts"), "error: No such file or directory: /proc/asmr.ts"),
    ]:
        failed = subprocess.run(
            [*script, "--checkpoint", str(tmp_path / checkpoint), "--out", str(out)], capture_output=True, text=True
        )
        assert failed.returncode == 1 and message in failed.stderr and "Traceback" not in failed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.pt", "good.pt"]


def test_export_names_a_pipe_and_an_out_below_a_file(tmp_path):
    import os

    from helpers import cli_error

    from asmr_plugin.export import ExportConfig, export
    from asmr_plugin.fields import ASMRField
    from asmr_plugin.io.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "good.pt", ASMRField(bases=[[2, 2], [2, 2]], hidden_dim=8, out_dim=1), (4, 4), step=1)
    os.mkfifo(tmp_path / "pipe.pt")
    (tmp_path / "afile").write_text("")
    pipe = cli_error(ExportConfig, export, ["--checkpoint", str(tmp_path / "pipe.pt"), "--out", str(tmp_path / "x.ts")])
    assert pipe == f"error: checkpoint {tmp_path / 'pipe.pt'} is a named pipe; expected a file or a folder"
    below = cli_error(
        ExportConfig, export, ["--checkpoint", str(tmp_path / "good.pt"), "--out", str(tmp_path / "afile" / "x.ts")]
    )
    assert below == f"error: --out {tmp_path / 'afile' / 'x.ts'}: {tmp_path / 'afile'} is a file, not a directory"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile", "good.pt", "pipe.pt"]
