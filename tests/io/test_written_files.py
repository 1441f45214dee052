"""Files a run writes: their modes follow the umask; checkpoints that cannot be read say why."""

import json
import os
import re

import pytest

from asmr_plugin.io.checkpoint import load_checkpoint
from asmr_plugin.io.files import atomic_path, write_json


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_json(tmp_path / "results.json", {"psnr": float("nan")})
        with atomic_path(tmp_path / "image.png") as temporary:
            temporary.write_bytes(b"png")
    finally:
        os.umask(previous)
    for name in ("results.json", "image.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads((tmp_path / "results.json").read_text()) == {"psnr": None}  # strict JSON: no NaN


def test_checkpoint_messages_say_what_happened(tmp_path):

    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    for path, message in [
        (tmp_path, "is a folder; give the checkpoint.pt file in it"),
        (tmp_path / "empty.pt", "is empty (0 bytes)"),
        (tmp_path / "junk.pt", "is not a readable asmr-plugin checkpoint (damaged, or written by another program;"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)) as error:
            load_checkpoint(path)
        assert "weights_only" not in str(error.value) and "issue" not in str(error.value)
