"""Data-parallel runs launched by torchrun: gloo on CPU, NCCL on CUDA; a single process otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Process:
    """This process's place in a (possibly single-process) data-parallel run."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(device: str | None) -> torch.device:
    """The --device given, else cuda when available, else cpu; a ValueError for a device this machine lacks."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a device: expected cpu, cuda, cuda:N or mps") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (resolved.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }
    if resolved.type not in available:
        raise ValueError(f"--device {device!r}: expected cpu, cuda, cuda:N or mps")
    if not available[resolved.type]:
        raise ValueError(
            f"--device {device}: not available on this machine (torch {torch.__version__}); use --device cpu"
        )
    return resolved


def start_process(device: str | None) -> Process:
    """Join the torchrun process group when launched by torchrun (gloo on CPU, NCCL on CUDA)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Process(device=resolve_device(device))
    cuda = resolve_device(device).type == "cuda"
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local_rank)
    return Process(rank, world_size, torch.device(f"cuda:{local_rank}" if cuda else "cpu"))
