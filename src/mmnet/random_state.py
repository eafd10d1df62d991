"""torch's global random state kept for the caller: code that seeds torch for its own reproducible work (a fold of
``run_experiment``, the learned spotter's networks) sets back the generators it found, so that a notebook's own
``torch.rand`` stream goes on as if nothing had run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["kept_torch_random_state"]


@contextmanager
def kept_torch_random_state() -> Iterator[None]:
    """Inside: seed torch as wanted. After (returned or raised): torch's global CPU and CUDA random states as they
    were before; CUDA started inside is seeded as the caller's ``torch.manual_seed`` left it."""
    import torch

    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        elif torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(torch.initial_seed())
