"""Distributed data-parallel training under ``torchrun``: which rank this is, and the collectives needed.

``torchrun --nproc_per_node=N -m ccdstudio train ...`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
the trainer then joins a process group (NCCL on GPUs, gloo on CPU), splits the samples between ranks,
averages gradients through :class:`~torch.nn.parallel.DistributedDataParallel`, and lets rank 0 alone
write checkpoints and report events.

Cancelling: torchrun passes SIGINT/SIGTERM on to every rank, whose ``ccdstudio train`` turns it into a
cancel token; the ranks agree on it at every step (:meth:`Distributed.check`), so all stop at the same
step, rank 0 reports ``finished``/``cancelled``, and the best model on disk (written atomically) stays valid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ccdstudio.errors import Cancelled
from ccdstudio.jobs import CancelToken


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: ``world_size == 1`` when not distributed."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> range:
        """The indices of ``range(n)`` this rank handles (every ``world_size``-th)."""
        return self.shard_of(self.rank, n)

    def shard_of(self, rank: int, n: int) -> range:
        """The indices of ``range(n)`` that ``rank`` handles; rank 0's shard is the largest."""
        return range(rank, n, self.world_size)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over all ranks (in place; unchanged when not distributed)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank (so that all ranks stop together)."""
        if not self.enabled:
            return flag
        value = torch.tensor([float(flag)], device=_collective_device())
        return bool(self.sum(value).item() > 0)

    def check(self, cancel: CancelToken | None) -> None:
        """Raise :class:`~ccdstudio.errors.Cancelled` on every rank once any rank's ``cancel`` is set.

        Every rank must call it at the same points: all then stop at the same step, where a rank that
        stopped alone would leave the others waiting in their next collective until the timeout.
        """
        if self.any(cancel is not None and cancel.cancelled):
            raise Cancelled()


def _collective_device() -> torch.device:
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def from_environment() -> Distributed:
    """The rank layout that ``torchrun`` put in the environment (single process when absent)."""
    return Distributed(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                       int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> Distributed:
    """Join the process group if launched by ``torchrun``; each GPU rank uses its own device."""
    layout = from_environment()
    if layout.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(layout.local_rank)
        dist.init_process_group(backend=backend)
        if device.type == "cpu":  # ranks on one machine share its cores
            per_node = int(os.environ.get("LOCAL_WORLD_SIZE", str(layout.world_size)))
            torch.set_num_threads(max(1, torch.get_num_threads() // per_node))
    return layout


def local_device(device: torch.device, layout: Distributed) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` on GPUs."""
    return torch.device("cuda", layout.local_rank) if device.type == "cuda" and layout.enabled else device


def teardown(layout: Distributed, finished: bool = False) -> None:
    """Leave the process group; after a ``finished`` run, first wait for every rank to get there, so that no
    rank closes its connections while another still uses them (gloo aborts the process then)."""
    if layout.enabled and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()
