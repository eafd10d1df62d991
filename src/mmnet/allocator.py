"""Run the process on mimalloc, a caching malloc, instead of glibc's.

Why: PyTorch's CPU tensors come straight from malloc, and glibc serves every block over 32 MiB
(its largest mmap threshold; a 224 px batch of 32 has activations of 200 MB) with a fresh mmap
that the kernel must zero on first touch and that is unmapped again on free. On a 2-core
Sapphire Rapids VM a third of a training step was the kernel's `clear_page_erms`. mimalloc with
purging off (`MIMALLOC_PURGE_DELAY=-1`) keeps freed memory for reuse: `benchmarks/bench_train.py`
(224 px, batch 32) went from 3.6-4.3 to 4.7-4.9 img/s in fp32 and from 10.3-10.5 to 13.8-14.0
img/s in bf16, peak RSS 4.2 -> 4.6 GiB. (glibc with mmap disabled was as fast but peaked at
6.2-8.5 GiB from fragmentation.)

A malloc can only be replaced before the process starts, so the command line re-executes
itself once with ``LD_PRELOAD`` (as Intel's PyTorch launcher does with jemalloc/tcmalloc). The
library comes from the ``cmeel-mimalloc`` wheel (a dependency on Linux x86_64); without it, or
with ``MMNET_ALLOCATOR=system``, nothing changes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["mimalloc_library", "reexec_with_mimalloc", "active_allocator"]

_GUARD = "MMNET_ALLOCATOR_REEXEC"  # set in the re-executed process: never re-execute twice


def mimalloc_library() -> Path | None:
    """The libmimalloc.so of the installed cmeel-mimalloc wheel, or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution("cmeel-mimalloc")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == "libmimalloc.so":
            path = Path(dist.locate_file(file))
            return path if path.is_file() else None
    return None


def mimalloc_environment(environ: Mapping[str, str], library: Path) -> dict[str, str]:
    """``environ`` with mimalloc preloaded and set to keep freed memory (user values win)."""
    env = dict(environ)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{library}:{preload}" if preload else str(library)
    env.setdefault("MIMALLOC_PURGE_DELAY", "-1")  # never return freed pages to the OS mid-run
    env[_GUARD] = "1"
    return env


def reexec_with_mimalloc() -> None:
    """Replace this process by the same command on mimalloc, when that applies; else return.

    Call it first thing in a program's entry point, before any work: nothing done before it
    survives. It returns (doing nothing) off Linux, with ``MMNET_ALLOCATOR=system``, when
    mimalloc is already loaded or missing, and in the re-executed process itself.
    """
    if sys.platform != "linux" or os.environ.get("MMNET_ALLOCATOR", "mimalloc") == "system":
        return
    if os.environ.get(_GUARD) or active_allocator() == "mimalloc":
        return
    library = mimalloc_library()
    if library is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    # orig_argv keeps "-m mmnet" or the script path exactly as the user ran it.
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], mimalloc_environment(os.environ, library))


def active_allocator() -> str:
    """"mimalloc" when it is loaded in this process, else "system" (for the run's environment record)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "system"
    return "mimalloc" if "libmimalloc" in maps else "system"
