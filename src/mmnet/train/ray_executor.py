"""The Ray executor: each fold one Ray task (the extra ``ray``; docs/cluster.md).

Each :class:`~mmnet.train.tasks.FoldTask` becomes one Ray task with its own resource request
(CPUs, a GPU or a fraction of one). The worker calls :func:`~mmnet.train.fold.run_fold` and
writes the fold's files into the run folder itself, so the run folder must be on storage that
every node sees (checked before any fold starts).

The cached frames travel one of two ways (``transport``):

- ``"object-store"`` (default): the driver ``ray.put``s each frame cache once; every worker on a
  node maps the same shared-memory copy (numpy arrays are zero-copy in Ray's object store).
  Works whether or not the cache folder is shared.
- ``"shared-fs"``: workers memory-map the cache file by its path (no copy through Ray); the
  cache folder must then be on shared storage too, which the pre-flight check verifies.

Fault tolerance: a worker or node that dies takes its fold with it; Ray reruns that fold (up to
``max_retries`` times) and :func:`run_fold` continues from the fold's last per-epoch checkpoint.
Python exceptions inside a fold (a bad input, a bug) are not retried, since they would repeat,
except CUDA out-of-memory, which can come and go when folds share a GPU.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
from pathlib import Path

from ..config import ExecutorConfig
from ..data.cache_folder import release_entries
from ..errors import ConfigError, ExecutorError, install_hint
from ..progress import FoldProgress
from .faults import CRASH_ENV, after_first_checkpoint, failed_folds_error, kill_this_process
from .fold import run_fold
from .tasks import FoldTask

__all__ = ["run_ray", "import_ray", "CRASH_ENV"]

_RAY_MISSING = f"The Ray executor needs Ray, an optional extra: {install_hint('ray')}"


def import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(_RAY_MISSING) from None
    return ray


def _check_reachable(address: str | None) -> None:
    """Fail fast on a HOST:PORT nobody listens on (ray.init would keep retrying for minutes)."""
    import socket

    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        raise ExecutorError(f"No Ray cluster answers at {address!r} ({exc}). Start one with `ray start --head` "
                            "(docs/cluster.md), check the address and port (`ray status` on the head), or leave "
                            "--address out to start a private local Ray.") from None


def _init_failed(address: str | None, exc: Exception) -> str:
    """What failed in ray.init (other than a refused connection) and what to do."""
    detail = str(exc).strip().splitlines()
    what = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
    if address is None:
        return (f"Ray could not start or join a Ray instance on this machine ({what}). Run `ray start --head` and "
                "pass --address auto, check `ray status` and Ray's logs (/tmp/ray/session_latest/logs), or use "
                "--executor local.")
    return (f"Ray could not join the cluster at {address!r} ({what}). Check `ray status` on the head and that "
            "this machine runs the cluster's Ray and Python versions (docs/cluster.md).")


def _fold_device(task: FoldTask, gpus: float) -> str | None:
    """The device string run_fold gets on the worker (Ray decides which GPU it sees)."""
    device = task.config.train.device
    if device.startswith("cuda:"):
        raise ConfigError(f"train.device={device} cannot be used with the Ray executor: Ray assigns each fold its "
                          "GPU. Use train.device=auto (or cuda) with --gpus-per-fold.")
    if gpus == 0:
        if device == "cuda":
            raise ConfigError("train.device=cuda but no GPU requested per fold: pass --gpus-per-fold (e.g. 1 or 0.25).")
        return "cpu"  # even on a GPU node: the fold reserved no GPU
    return None  # "auto"/"cuda": the GPU Ray made visible


def _resources(task: FoldTask, cpus: float | None, gpus: float | None, cluster_gpus: float) -> tuple[float, float]:
    if gpus is None:
        gpus = 1.0 if cluster_gpus > 0 and task.config.train.device != "cpu" else 0.0
    return (1.0 if cpus is None else float(cpus)), float(gpus)


def _fold_on_worker(task: FoldTask, frames, device: str | None, threads: int, crash_marker: str | None) -> dict:
    """Body of one Ray task: train the fold (resuming from its checkpoint) on this worker."""
    import torch

    # Same thread count as the CPUs reserved: folds sharing a node then do not oversubscribe it,
    # and a CPU fold gives the same numbers as a local run with the same thread count.
    torch.set_num_threads(threads)
    stop = threading.Event()
    if crash_marker:
        threading.Thread(target=after_first_checkpoint, args=(task, crash_marker, stop, kill_this_process),
                         daemon=True).start()
    try:
        return run_fold(task, progress=False, device=device, frames=frames, keep_process_settings=True)
    finally:
        stop.set()
        release_entries()  # this worker process outlives the run: its cache entries may be pruned once it ends


def _check_workers_see(ray, paths: dict[str, str], needs: list[tuple[float, float]]) -> None:
    """On every node that can run a fold: the run folders (and shared caches) are the driver's files.

    The driver writes a random token into each folder; a zero-CPU task pinned to each node reads
    it back. A folder that merely has the same name on another machine fails the check.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from ..version import __version__

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    usable = [n for n in nodes if any(n["Resources"].get("CPU", 0) >= c and n["Resources"].get("GPU", 0) >= g
                                      for c, g in needs)]
    if not usable:
        sizes = ", ".join(f"{n['NodeManagerAddress']}: {n['Resources'].get('CPU', 0):g} CPU, "
                          f"{n['Resources'].get('GPU', 0):g} GPU" for n in nodes)
        want = ", ".join(sorted({f"{c:g} CPU + {g:g} GPU" for c, g in needs}))
        raise ExecutorError(f"No Ray node can run a fold: each fold asks for {want}, "
                            f"the nodes have {sizes or 'nothing'}. "
                            "Lower --cpus-per-fold / --gpus-per-fold, "
                            "or add nodes with `ray start --address HEAD:6379`.")
    tokens = {}
    for kind, path in paths.items():
        p = Path(path)
        folder = p if p.is_dir() else p.parent
        token_file = folder / f".mmnet-ray-check-{uuid.uuid4().hex}"
        token = uuid.uuid4().hex
        token_file.write_text(token, encoding="utf-8")
        tokens[kind] = (str(p), str(token_file), token)

    @ray.remote(num_cpus=0, max_retries=0)
    def look(tokens: dict) -> dict:
        import socket

        import mmnet

        problems = {}
        for kind, (path, token_file, token) in tokens.items():
            try:
                seen = Path(token_file).read_text(encoding="utf-8") if Path(path).exists() else None
            except OSError:
                seen = None
            if seen != token:
                problems[kind] = path
        return {"host": socket.gethostname(), "problems": problems, "version": mmnet.__version__}

    try:
        checks = ray.get([look.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                          .remote(tokens) for n in usable])
    finally:
        for _, token_file, _ in tokens.values():
            Path(token_file).unlink(missing_ok=True)
    bad = [(c["host"], kind, path) for c in checks for kind, path in c["problems"].items()]
    if bad:
        lines = "\n".join(f"  - node {h} does not see the driver's {kind} '{p}'" for h, kind, p in bad)
        raise ExecutorError(
            "Ray workers must write into the run folder themselves, so it has to be on storage that every node "
            f"mounts at the same path:\n{lines}\nPut --out (and, with the shared-fs transport, data.cache_dir) on "
            "a shared filesystem (NFS, Lustre, ...) mounted at the same path on every node; see docs/cluster.md.")
    versions = sorted({c["version"] for c in checks} - {__version__})
    if versions:
        raise ExecutorError(f"Ray workers run mmnet {', '.join(versions)} but this driver runs {__version__}: "
                            "install the same mmnet on every node (pip install -e . in the same checkout).")


def run_ray(tasks: list[FoldTask], options: ExecutorConfig, *, progress: bool = True, finished: int = 0) -> list[dict]:
    """Run the folds as Ray tasks on the cluster at ``options.address``; see the module docstring.

    Raises:
        ExecutorError: Ray missing, the cluster unreachable or too small, or some folds failed
            (finished folds are kept; rerunning the same command continues).
    """
    import numpy as np
    import torch

    address, transport = options.address, options.transport or "object-store"
    max_retries = 3 if options.max_retries is None else options.max_retries
    ray = import_ray()
    if not tasks:
        return []
    started_here = False
    if not ray.is_initialized():
        _check_reachable(address)
        try:
            # Without an address Ray may start a private local node: mmnet never uses its dashboard, which is
            # one more process that can fail to start (a cluster of `ray start` keeps its own).
            ray.init(address=address, **({"include_dashboard": False} if address is None else {}))
        except ConnectionError as exc:
            raise ExecutorError(
                f"Cannot connect to the Ray cluster at {address!r}: {exc}. Check the address (`ray status` on the "
                "head); with token authentication (Ray >= 2.59) this machine also needs the cluster's token "
                "(~/.ray/auth_token or RAY_AUTH_TOKEN) and, with an explicit address, RAY_AUTH_MODE=token in "
                "its environment (Ray's message then says the mode is 'disabled'; see docs/cluster.md).") from None
        except Exception as exc:  # e.g. a local node whose processes fail to start: one line, not Ray's traceback
            raise ExecutorError(_init_failed(address, exc)) from None
        started_here = True
    try:
        cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
        plan = []
        for task in tasks:
            cpus, gpus = _resources(task, options.cpus_per_fold, options.gpus_per_fold, cluster_gpus)
            plan.append((cpus, gpus, _fold_device(task, gpus)))
        paths = {f"run folder {i + 1}": d for i, d in enumerate(sorted({t.out_dir for t in tasks}))}
        if transport == "shared-fs":
            paths.update({f"frame cache {i + 1}": f for i, f in enumerate(sorted({t.frames_path for t in tasks}))})
        _check_workers_see(ray, paths, sorted({(c, g) for c, g, _ in plan}))

        # Ship each frame cache once; every fold of every run that uses it refers to the same object.
        frames = {f: (ray.put(np.load(f, mmap_mode="r")) if transport == "object-store" else None)
                  for f in sorted({t.frames_path for t in tasks})}
        crash_marker = os.environ.get(CRASH_ENV) or None
        remote = ray.remote(_fold_on_worker)
        pending = {}
        for i, (task, (cpus, gpus, device)) in enumerate(zip(tasks, plan)):
            ref = remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=max_retries,
                                 retry_exceptions=[torch.cuda.OutOfMemoryError],
                                 name=f"mmnet fold {task.label}").remote(
                task, frames[task.frames_path], device, max(1, math.floor(cpus)), crash_marker)
            pending[ref] = i
        return _collect(ray, tasks, pending, progress, finished)
    finally:
        if started_here:
            ray.shutdown()


def _collect(ray, tasks: list[FoldTask], pending: dict, progress: bool, finished: int = 0) -> list[dict]:
    """Wait for the folds as they finish (any order); one line each; raise once at the end on failures."""
    from ray.exceptions import RayError

    results: list[dict | None] = [None] * len(tasks)
    failures: list[tuple[int, str]] = []
    folds = FoldProgress(len(tasks), progress=progress, finished=finished)
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    results[i] = ray.get(ref)
                    folds.done(tasks[i].label, results[i])
                except RayError as exc:
                    failures.append((i, str(exc)))  # a task error carries the worker's traceback
                    folds.failed(tasks[i].label, type(getattr(exc, "cause", None) or exc).__name__)
    except KeyboardInterrupt:
        for ref in pending:  # stop the cluster's work too; finished folds and checkpoints are kept
            ray.cancel(ref, force=True)
        raise
    finally:
        folds.close()
    if failures:
        raise failed_folds_error([(tasks[i].label, error) for i, error in failures], len(tasks), "Ray")
    return results  # type: ignore[return-value]
