"""What training sets for the whole process, set back for a caller from Python: :func:`~mmnet.train.run_experiment`,
:func:`~mmnet.train.run_fold` (one fold), a sweep, and ``mmnet.cli.main([...])``.

A run flushes denormal floats to zero and keeps freed memory in the process on the CPU
(``runtime.configure_cpu_numerics``), turns cuDNN's autotuning on (``runtime.configure_cuda_numerics``) and
seeds torch's global random generators per fold; predict, explain and serve set torch's thread count
(``--threads``). The ``mmnet`` commands keep these for the whole process, which ends after the run; a call from
Python (a notebook) gets its own settings and random state back, whether the run returned or raised. Outside
``mmnet.train``, so that a command called from Python that does not train (predict, serve) does not import the
training stack for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .random_state import kept_torch_random_state
from .runtime import cpu_numerics_state, restore_cpu_numerics

__all__ = ["restored_process_state"]


@contextmanager
def restored_process_state() -> Iterator[None]:
    """Inside: the settings a run makes, as the commands have them. After: the denormal mode, the malloc settings
    (``runtime.restore_cpu_numerics``), ``cudnn.benchmark``, TF32 (``train.tf32``), torch's thread count
    (``--threads``) and its global random state (CPU and CUDA) as they were before."""
    import torch

    from .tf32 import restore_tf32, tf32_state

    numerics, tf32 = cpu_numerics_state(), tf32_state()
    benchmark = torch.backends.cudnn.benchmark
    threads = torch.get_num_threads()
    try:
        with kept_torch_random_state():
            yield
    finally:
        restore_cpu_numerics(numerics)
        torch.backends.cudnn.benchmark = benchmark
        restore_tf32(tf32)
        if torch.get_num_threads() != threads:  # setting it when unchanged would still rebuild the thread pool
            torch.set_num_threads(threads)
