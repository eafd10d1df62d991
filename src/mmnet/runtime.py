"""Process and machine settings, in one place: allocator, freed memory, huge pages, denormals,
thread count, CPU features, and the choice of device, precision and memory layout.

Everything here reads or changes the process or the machine. The network and the training and
evaluation loops never do: they receive a :class:`ComputePlan` (device, precision, memory
format) decided here, so that a change of policy (or a new kind of machine) touches this module
only. Measured effects of each setting are in the README's "Measured" section and, per machine,
in docs/performance.md.

Allocator: PyTorch's CPU tensors come straight from malloc, and glibc serves every block over
32 MiB (its largest mmap threshold; a 224 px batch of 32 has ~200 MB of activations) with a
fresh mmap that the kernel zeroes on first touch and unmaps again on free. mimalloc with purging
off (``MIMALLOC_PURGE_DELAY=-1``) keeps freed memory for reuse. A malloc can only be replaced before the
process starts, so a command doing tensor work (its module's ``ON_MIMALLOC``) re-executes itself once, parsed,
with ``LD_PRELOAD`` (as Intel's PyTorch launcher does with jemalloc/tcmalloc). The library comes from the
``cmeel-mimalloc`` wheel (a dependency on Linux x86_64); without it, or with
``MMNET_ALLOCATOR=system``, nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the functions that need it: `mmnet --help` stays fast
    import torch

__all__ = ["ComputePlan", "plan_compute", "resolve_device", "check_device", "resolve_precision",
           "resolve_memory_format", "cpu_has_fast_bf16", "cpu_flags", "machine_fingerprint",
           "cpu_prefers_nchw_for_fp32", "nnpack_available", "configure_cpu_numerics", "configure_cuda_numerics",
           "keep_freed_memory", "cpu_numerics_state", "restore_cpu_numerics", "enable_huge_pages", "prepare_process",
           "mimalloc_library", "mimalloc_environment", "reexec_with_mimalloc", "active_allocator", "describe_machine",
           "cpu_model_name"]


# ----------------------------------------------------------------------------- decisions
@dataclass(frozen=True)
class ComputePlan:
    """Where and how a model runs: what the loops receive instead of probing the machine."""

    device: torch.device
    precision: str  # "fp32" | "bf16" (autocast)
    memory_format: torch.memory_format  # torch.channels_last | torch.contiguous_format
    # how precision and memory format were decided, for env.json: "config", "CUDA", "CPU flags (...)",
    # "calibration" (then ``calibration`` holds the measured figures, see mmnet.train.calibrate)
    basis: str = "config"
    calibration: dict | None = field(default=None, compare=False)
    # fp32 kernel routes measured faster on this CPU (mmnet.model.cpu_kernels.set_cpu_routes' arguments)
    cpu_routes: dict = field(default_factory=dict, compare=False)


def plan_compute(device: str, precision: str, memory_format: str, *, why: str = "") -> ComputePlan:
    """Resolve the config's ``train.device/precision/memory_format`` ("auto" included) from the
    device and the CPU's flags; ``why`` says why no measured choice was used (for the record).
    On CPU, training asks ``mmnet.train.calibrate.plan_training`` first, which measures instead."""
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    fmt = resolve_memory_format(memory_format, dev, prec)
    if "auto" not in (precision, memory_format):
        basis = "config"
    elif dev.type == "cuda":
        basis = "CUDA"
    else:
        basis = "CPU flags" + (f" ({why})" if why else "")
    return ComputePlan(dev, prec, fmt, basis)


def resolve_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_device(name: str, where: str = "train.device", *, here: bool = True) -> None:
    """Raise a one-line ConfigError if ``name`` is not a device of this machine (before any work starts); with
    ``here=False`` (the device of Ray workers or SLURM jobs) only if it is no device name at all."""
    from .config_types import check_device_name
    from .errors import ConfigError

    check_device_name(name, where)  # the syntax, as the config checks train.device
    if name in ("auto", "cpu"):  # nothing to look for: said without loading torch (seconds)
        return
    import torch

    device = torch.device(name)
    if device.type == "cuda" and here:
        if not torch.cuda.is_available():
            why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"{where}={name}, but {why} (torch {torch.__version__}). "
                              "Use --device cpu, or auto (a GPU when there is one).")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{where}={name}, but this machine has {torch.cuda.device_count()} CUDA GPU(s) "
                              f"(cuda:0..cuda:{torch.cuda.device_count() - 1}).")


def check_compile(device_name: str) -> None:
    """Raise a one-line ConfigError when ``train.compile`` cannot work here: torch.compile on CPU
    builds C++ kernels (inductor), so it needs a C++ compiler; on CUDA inductor writes triton kernels,
    so it needs triton, and triton builds its kernel launchers with a C compiler (gcc, clang or $CC)."""
    import importlib.util
    import shutil

    from .errors import ConfigError

    def on_path(variable: str, *names: str) -> bool:  # $variable's program, else one of names
        return any(c and shutil.which(c) for c in (os.environ.get(variable, ""), *names))

    device_type = resolve_device(device_name).type
    if device_type == "cpu":
        if not on_path("CXX", "g++", "clang++", "c++"):
            raise ConfigError("train.compile=true on CPU needs a C++ compiler (g++ or clang++, or $CXX), and none "
                              "is on PATH; install one (e.g. `apt-get install g++`) or set train.compile=false.")
    elif device_type == "cuda":
        if importlib.util.find_spec("triton") is None:
            raise ConfigError("train.compile=true on CUDA needs triton, and it is not installed; install the triton "
                              "release this torch was built with (`pip install triton`) or set train.compile=false.")
        if not on_path("CC", "gcc", "clang"):
            raise ConfigError("train.compile=true on CUDA needs a C compiler (gcc or clang, or $CC) for triton, and "
                              "none is on PATH; install one (e.g. `apt-get install gcc`) or set train.compile=false.")


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bf16 natively (AMX or AVX-512 BF16).

    Without them (e.g. AVX2-only CPUs) PyTorch emulates bf16 and a training step is many times
    slower than fp32, so the fallback of "auto" (no calibration) must not pick bf16 there.
    """
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def machine_fingerprint() -> dict:
    """What a measured CPU choice depends on: CPU model and flags, torch version, thread count, and a cap
    on oneDNN's instruction set (``ONEDNN_MAX_CPU_ISA``: e.g. AMX switched off makes bf16 convolutions 10x slower)."""
    import hashlib

    import torch

    return {"cpu_model": cpu_model_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_flags_sha1": hashlib.sha1(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:16],
            "onednn_max_cpu_isa": (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
                                   or "").upper(),
            "torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" on CUDA GPUs with bf16 and on CPUs with native bf16, else "fp32"."""
    import torch

    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def cpu_prefers_nchw_for_fp32() -> bool:
    """True on CPUs without AVX-512, where oneDNN's fp32 channels_last convolution backward is
    slower than NCHW (measured with ``benchmarks/bench_train.py --memory-format``)."""
    import torch

    return torch.backends.cpu.get_cpu_capability() != "AVX512"  # torch: "AVX2", "AVX512", "DEFAULT", ...


def resolve_memory_format(memory_format: str, device: torch.device, precision: str) -> torch.memory_format:
    """"auto" -> channels_last on CUDA, for bf16, and for fp32 on AVX-512 CPUs; NCHW for fp32 on
    other CPUs (see `cpu_prefers_nchw_for_fp32`). channels_last is what bf16 (AMX) and CUDA
    kernels are fastest in."""
    import torch

    if memory_format == "auto":
        nchw = device.type == "cpu" and precision != "bf16" and cpu_prefers_nchw_for_fp32()
        return torch.contiguous_format if nchw else torch.channels_last
    return torch.channels_last if memory_format == "channels_last" else torch.contiguous_format


def nnpack_available() -> bool:
    """Whether this PyTorch build has NNPACK's Winograd convolutions (for ``predict --fast``)."""
    import torch

    return bool(getattr(torch, "_nnpack_available", lambda: False)()) and hasattr(
        torch, "_nnpack_spatial_convolution")


# ----------------------------------------------------------------------------- process settings
def configure_cpu_numerics() -> None:
    """Flush denormal floats to zero (on x86 CPUs they stall fp32 training steps several-fold)
    and keep freed memory in the process (see ``keep_freed_memory``)."""
    import torch

    torch.set_flush_denormal(True)
    keep_freed_memory()


def configure_cuda_numerics(tf32: bool | None = None) -> None:
    """Let cuDNN time its convolution algorithms for each new input shape and keep the fastest: a run's shapes
    are fixed (one image size, one batch size, a smaller last batch), so it times each once. TF32: ``mmnet.tf32``."""
    import torch

    from .tf32 import set_tf32

    torch.backends.cudnn.benchmark = True
    set_tf32(tf32)


_GLIBC_M_TRIM_THRESHOLD, _GLIBC_M_MMAP_THRESHOLD = -1, -3
_GLIBC_MMAP_THRESHOLD_MAX = 32 << 20  # the largest value glibc accepts on 64-bit systems
_GLIBC_DEFAULT_THRESHOLD = 128 << 10  # both thresholds' default: what restore_cpu_numerics sets back
_freed_memory_kept = False  # keep_freed_memory's settings are in force


def keep_freed_memory() -> bool:
    """Make glibc keep freed blocks of up to 32 MiB in the process instead of unmapping them.

    glibc serves blocks over 128 KiB (most activations) with a fresh mmap and unmaps them on
    free, so every step page-faults them in again. Raising the mmap threshold to glibc's maximum
    and never trimming the heap keeps blocks up to 32 MiB; larger ones are still mapped per use
    (``enable_huge_pages`` makes those cheaper; mimalloc avoids the problem altogether). No
    effect (returns False) outside glibc, e.g. when mimalloc is preloaded it still applies to
    the few allocations glibc keeps serving.
    """
    global _freed_memory_kept
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_GLIBC_M_MMAP_THRESHOLD, _GLIBC_MMAP_THRESHOLD_MAX)
    ok &= libc.mallopt(_GLIBC_M_TRIM_THRESHOLD, 2**31 - 1)
    _freed_memory_kept = bool(ok)
    return _freed_memory_kept


def cpu_numerics_state() -> tuple[bool, bool]:
    """(denormals flushed, ``keep_freed_memory`` in force): what ``restore_cpu_numerics`` sets back (torch can set
    the denormal mode, not read it)."""
    import torch

    return torch.tensor([1e-40]).mul(1.0).item() == 0.0, _freed_memory_kept


def restore_cpu_numerics(state: tuple[bool, bool]) -> None:
    """Undo ``configure_cpu_numerics`` (a run called from Python) back to ``cpu_numerics_state()``. The malloc
    settings go back to glibc's defaults (128 KiB; glibc cannot report a program's earlier values, and its sliding
    mmap threshold stays off) and the freed memory is returned at once, so a notebook does not keep a run's memory."""
    global _freed_memory_kept
    import torch

    flushed, memory_kept = state
    torch.set_flush_denormal(flushed)
    if _freed_memory_kept and not memory_kept and (libc := _glibc()) is not None:
        libc.mallopt(_GLIBC_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.mallopt(_GLIBC_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.malloc_trim(0)
        _freed_memory_kept = False


def _glibc():
    """The C library where it is glibc (whose malloc settings these are), else None."""
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def enable_huge_pages() -> None:
    """Ask PyTorch to back blocks of 2 MiB and more with transparent huge pages (THP_MEM_ALLOC_ENABLE).

    PyTorch reads the variable once, at its first allocation, so this must run before ``import
    torch``. A value the user set is kept. Where the kernel's THP mode is ``never`` it does nothing.
    """
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def prepare_process(*, restart_on_mimalloc: bool = True) -> None:
    """The process-start settings of the benchmarks, before anything imports torch: restart once on mimalloc, then
    ask for huge pages (as cli.py does, restarting for the commands that do tensor work only)."""
    if restart_on_mimalloc:
        reexec_with_mimalloc()
    enable_huge_pages()


# ----------------------------------------------------------------------------- allocator
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
        maps = Path("/proc/self/maps").read_text(encoding="utf-8")
    except OSError:
        return "system"
    return "mimalloc" if "libmimalloc" in maps else "system"


def cpu_model_name() -> str:
    """The CPU's model name (e.g. "Intel(R) Xeon(R) Platinum 8480+"): /proc/cpuinfo's, else (macOS, Windows, Linux
    on ARM) what the system says (mmnet.cpu_model); "" only where nothing does."""
    from .cpu_model import cpu_model_without_proc

    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return " ".join(line.split(":", 1)[1].split())
    return cpu_model_without_proc()


def describe_machine(plan: ComputePlan) -> dict:
    """What a run folder's env.json records about the machine and the process settings."""
    import platform

    import torch

    device = plan.device
    name = str(device)
    if device.type == "cuda":
        with contextlib.suppress(RuntimeError, AssertionError):
            name += f" ({torch.cuda.get_device_name(device)})"
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "allocator": active_allocator(),
        "device": name,
        "precision": plan.precision,
        "memory_format": "channels_last" if plan.memory_format == torch.channels_last else "contiguous",
        "compute_basis": plan.basis,
        "cpu_routes": [name for name, on in plan.cpu_routes.items() if on],  # mmnet.model.cpu_kernels
        **({"calibration": plan.calibration} if plan.calibration is not None else {}),
    }
