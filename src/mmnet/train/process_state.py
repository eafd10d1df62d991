"""What a training run sets for the whole process, set back when :func:`~mmnet.train.run_experiment` (or
:func:`~mmnet.train.run_fold`, one fold) returns.

A run flushes denormal floats to zero and keeps freed memory in the process on the CPU
(``runtime.configure_cpu_numerics``), turns cuDNN's autotuning on (``runtime.configure_cuda_numerics``) and
seeds torch's global random generators per fold. The ``mmnet`` commands keep these for the whole process,
which ends after the run; a call from Python (a notebook) gets its own settings and random state back,
whether the run returned or raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..progress import lines_silenced
from ..random_state import kept_torch_random_state
from ..runtime import cpu_numerics_state, restore_cpu_numerics

__all__ = ["restored_process_state", "called_from_python"]


@contextmanager
def restored_process_state() -> Iterator[None]:
    """Inside: the settings a run makes, as the commands have them. After: the denormal mode, the malloc settings
    (``runtime.restore_cpu_numerics``), ``cudnn.benchmark`` and torch's global random state (CPU and CUDA) as
    they were before."""
    import torch

    numerics = cpu_numerics_state()
    benchmark = torch.backends.cudnn.benchmark
    try:
        with kept_torch_random_state():
            yield
    finally:
        restore_cpu_numerics(numerics)
        torch.backends.cudnn.benchmark = benchmark


@contextmanager
def called_from_python(progress: bool) -> Iterator[None]:
    """A run or sweep called from Python: the process settings set back afterwards, and nothing on stderr
    without ``progress`` (the commands call the ``train_*`` functions directly and keep both)."""
    with restored_process_state(), lines_silenced(not progress):
        yield
