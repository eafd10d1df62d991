"""Clips prepared in worker processes (``mmnet prepare --workers N``), stopped cleanly.

A stop (Ctrl-C, or SIGTERM and SIGHUP that ``mmnet.cli`` turns into an interrupt) cancels the clips not started,
ends the workers at once and keeps the result of every clip that finished before it: a clip in progress is written
in a private temporary folder and renamed into place as its last step (the two renames that replace an earlier copy
with the signals held: ``process_clip``), so an ended worker leaves no half-written clip folder. The workers ignore
Ctrl-C and SIGHUP themselves (they reach the whole process group): the main process ends them.

A worker that dies (the system's out-of-memory killer, a crash in OpenCV or dlib) breaks the pool: the run ends
with a ``PreprocessError`` naming the clip that worker was preparing, and the finished clips' results are kept.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import PreprocessError

__all__ = ["default_workers", "run_in_workers"]

JOIN_S = 10.0  # how long an ended worker may take to exit


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _start_worker(initializer: Callable, initargs: tuple) -> None:
    # Ctrl-C and a closed terminal signal the whole process group: the main process ends the workers
    for signum in (signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])):
        signal.signal(signum, signal.SIG_IGN)
    initializer(*initargs)


def _noted(notes: Path, label: str, worker: Callable, args: tuple) -> Any:
    """``worker(*args)``, with the label of its task left where the main process finds it if this process dies."""
    try:
        (notes / f"worker-{os.getpid()}.task").write_text(label, encoding="utf-8")
    except OSError:  # a full disk: the task then fails on its own, with its error, and the others go on
        pass
    return worker(*args)


def run_in_workers(tasks: Mapping[int, tuple], labels: Mapping[int, str], worker: Callable, *, workers: int,
                   initializer: Callable, initargs: tuple, notes: Path, done: Callable[[int, Any], None]) -> None:
    """``done(key, worker(*tasks[key]))`` for every task, as the worker processes finish them.

    ``labels`` name the tasks in the error raised when a worker dies; ``notes`` is a private folder of this run,
    where the workers leave the label of the task they are on. On an interrupt, the tasks that finished before it
    are given to ``done`` and the interrupt is raised again once the workers are ended."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Not fork: a child forked while OpenCV's (or torch's) thread pool holds a lock deadlocks.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    pool, futures, settled = None, {}, set()
    try:
        with _hangup_held():
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                       initargs=(initializer, initargs), mp_context=multiprocessing.get_context(method))
            for key, args in tasks.items():
                futures[pool.submit(_noted, notes, labels[key], worker, args)] = key
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
            settled.add(futures[fut])
    except BrokenProcessPool:
        processes = _end(pool, futures, settled, done)
        raise PreprocessError(_died(processes, futures, settled, labels, notes)) from None
    except BaseException:  # an interrupt (or a bug): the finished clips are kept, the others not waited for
        _end(pool, futures, settled, done)
        raise
    pool.shutdown()


@contextmanager
def _hangup_held():
    """SIGHUP blocked while the pool starts its helper processes, which inherit the block: a closed terminal signals
    the whole process group, and multiprocessing's resource tracker killed by it prints tracebacks as the run ends
    (this process gets the signal once the block is lifted, and ends the workers)."""
    if not (hasattr(signal, "pthread_sigmask") and hasattr(signal, "SIGHUP")):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _end(pool, futures: dict, settled: set[int], done: Callable[[int, Any], None]) -> list:
    """Keep the results of the tasks finished so far, cancel those not started and end the workers (returned)."""
    for fut, key in futures.items():
        if key not in settled and fut.done() and not fut.cancelled() and fut.exception() is None:
            done(key, fut.result())
            settled.add(key)
    if pool is None:  # stopped while it was being made
        return []
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.exitcode is None:
            process.terminate()  # a worker renaming its clip into place holds the signal until it is done
    for process in processes:
        process.join(JOIN_S)
    return processes


def _died(processes: list, futures: dict, settled: set[int], labels: Mapping[int, str], notes: Path) -> str:
    """What a dead worker was doing, how it died and what to do."""
    exited = [p for p in processes if p.exitcode not in (None, 0)]
    dead = [p for p in exited if p.exitcode != -signal.SIGTERM] or exited  # the others were ended by the pool
    unsettled = {labels[key] for key in futures.values() if key not in settled}
    on, hows = [], set()
    for process in dead:
        try:
            label = (notes / f"worker-{process.pid}.task").read_text(encoding="utf-8")
        except OSError:
            continue
        if label in unsettled:
            on.append(label)
            hows.add(_how(process.exitcode))
    # how the worker on an unfinished clip died; the others may exit on their own once the pool is broken (255)
    how = ", ".join(sorted(hows or {_how(p.exitcode) for p in dead})) or "ended"
    clips = f" while preparing {' or '.join(on)}" if on else ""
    return (f"a worker process died ({how}){clips}; the {len(settled)} clip(s) finished are kept. Rerun the same "
            "command to continue, with fewer --workers if memory ran out; "
            "if it dies again on the same clip, a native library (OpenCV, dlib) crashes on its frames: move that "
            "clip away to prepare the others")


def _how(exitcode: int) -> str:
    if exitcode >= 0:
        return f"exit status {exitcode}"
    name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else f"signal {-exitcode}"
    if exitcode == -getattr(signal, "SIGKILL", 9):
        return f"killed by {name}, as the system's out-of-memory killer does"
    return f"killed by {name}"
