"""What a long job tells the person waiting for it, on stderr.

- Bars (tqdm) only when stderr is a terminal and progress is on. On a file or a pipe tqdm writes
  every update into one ever-growing line (hundreds of KB for a real run); there we write plain
  lines instead.
- One lasting line per finished fold, on every executor and also with ``--no-progress``:
  ``[fold 3/26] seed 0 fold casme2_03: 74 epochs in 12m05s on cpu, test acc 0.714; ETA 4h10m``.
- Without a terminal (and with progress on), a fold also writes a plain line per epoch, at most
  one a minute, so a log shows that a long fold is alive.
- Inside ``lines_silenced`` (``run_experiment(progress=False)`` called from Python) nothing on stderr: the
  lasting lines (folds, SLURM job ids and what to do next) go to the ``mmnet.progress`` logger at INFO instead,
  for a caller who wants them (``logging.basicConfig(level=logging.INFO)``).
- mmnet's log records (``mmnet.*``, WARNING and above) in a command: ``warning: <message>`` (``command_log``).
- In a command with a run folder, every lasting line also goes, timestamped, to its ``mmnet.log``, and the folds and
  epochs to its ``status.json`` (``mmnet.run_log``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from . import run_log

__all__ = ["bars_wanted", "write_line", "lines_silenced", "command_log", "format_seconds",
           "FoldProgress", "EpochProgress", "FrameProgress", "CountProgress"]

EPOCH_LINE_EVERY_S = 60.0  # plain epoch lines (no terminal): at most one per this many seconds
_silenced = False  # inside lines_silenced: write_line logs at INFO instead of writing
_progress_log = logging.getLogger("mmnet.progress")


def bars_wanted(progress: bool) -> bool:
    """Progress bars only for a person at a terminal; a log file gets plain lines."""
    return bool(progress) and sys.stderr.isatty()


def write_line(line: str, bar=None) -> None:
    """One lasting line on stderr (above the bars, when there are any); inside ``lines_silenced`` an INFO record of
    the ``mmnet.progress`` logger instead (silent unless the caller's logging shows INFO). Also into the command's
    run log, if it has one."""
    run_log.copy(line)
    if _silenced:
        _progress_log.info(line)
        return
    if bar is not None:
        bar.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


@contextmanager
def lines_silenced(silent: bool = True) -> Iterator[None]:
    """While ``silent``, ``write_line`` writes nothing on stderr: a library caller who asked for no progress gets no
    lines there, only INFO records (the commands' ``--no-progress`` keeps the lines)."""
    global _silenced
    before = _silenced
    _silenced = before or silent
    try:
        yield
    finally:
        _silenced = before


class _CommandLastResort(logging.Handler):
    """Python's last-resort handler (WARNING and above, on the current stderr) with the level said as the
    command's own lines say it: ``warning: <message>``, as ``error: ...``."""

    def __init__(self):
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"{record.levelname.lower()}: {self.format(record)}", file=sys.stderr, flush=True)
        except Exception:  # as logging's own handlers: a failed log line does not stop the command
            self.handleError(record)


@contextmanager
def command_log() -> Iterator[None]:
    """While a command runs, log records that no handler takes (a library caller's logging setup takes them
    first) are shown ``warning: <message>``; records keep their message alone, without the level in it."""
    before = logging.lastResort
    logging.lastResort = _CommandLastResort()
    try:
        yield
    finally:
        logging.lastResort = before


def format_seconds(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class FoldProgress:
    """The folds of a job: an outer bar (terminal only) and one line per finished or failed fold.

    ``finished`` folds were done by an earlier start: they count in ``k/N`` but not in the ETA,
    which extrapolates the wall time of this start's folds (with parallel folds, their rate).
    """

    def __init__(self, total: int, *, progress: bool = True, finished: int = 0):
        self.todo, self.finished, self.n = total, finished, 0
        self.t0 = time.perf_counter()
        self.bar = None
        if bars_wanted(progress) and total:
            from tqdm import tqdm

            self.bar = tqdm(total=finished + total, initial=finished, desc="folds", unit="fold",
                            dynamic_ncols=True, file=sys.stderr)

    def _line(self, label: str, text: str) -> None:
        self.n += 1
        elapsed = time.perf_counter() - self.t0
        left = self.todo - self.n
        eta = f"; ETA {format_seconds(elapsed / self.n * left)}" if left > 0 else ""
        with run_log.about(task=label):  # a sweep's: also its setting's log and status
            own = run_log.setting_fold()  # a sweep's fold: its number among its setting's too
            write_line(f"[fold {self.finished + self.n}/{self.finished + self.todo}{own}] {text}{eta}", self.bar)
            run_log.fold_ended(error=text if text.startswith("FAILED") else None)
        if self.bar is not None:
            self.bar.update(1)

    def done(self, label: str, record: dict) -> None:
        acc, epochs = record.get("test_acc"), record.get("epochs")
        self._line(label, f"{label}: {epochs} epoch{'' if epochs == 1 else 's'} in "
                   f"{format_seconds(record.get('seconds', 0))} on {record.get('device', '?')}"
                   + ("" if acc is None else f", test acc {acc:.3f}"))

    def failed(self, label: str, why: str) -> None:
        self._line(label, f"FAILED {label}: {why}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class EpochProgress:
    """The epochs of one fold: a bar at a terminal; else, with progress on, a plain line a minute."""

    def __init__(self, label: str, epochs: int, initial: int, *, progress: bool = True):
        self.label, self.epochs = label, epochs
        self.bar = None
        self.lines = progress and not bars_wanted(progress)
        self.last = time.perf_counter()
        if bars_wanted(progress):
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=initial, desc=label, unit="epoch", leave=False,
                            dynamic_ncols=True, file=sys.stderr)

    def update(self, epoch: int, loss: float, acc: float, test_acc: float | None) -> None:
        """``test_acc`` None: no test subject (the final fit on every subject)."""
        run_log.epoch(self.label, epoch, self.epochs)
        if self.bar is not None:
            tested = {} if test_acc is None else {"test_acc": f"{test_acc:.2f}"}
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.2f}", **tested)
            self.bar.update(1)
        elif self.lines and time.perf_counter() - self.last >= EPOCH_LINE_EVERY_S:
            self.last = time.perf_counter()
            write_line(f"  {self.label}: epoch {epoch}/{self.epochs}, loss {loss:.3f}, acc {acc:.2f}"
                       + ("" if test_acc is None else f", test acc {test_acc:.2f}"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class FrameProgress:
    """The frames of one recording being spotted (or, ``doing="classifying"``, read again to classify its
    expressions): a bar at a terminal; else, with progress on, a plain line every 10 % (every 1000 frames when the
    length is unknown) with the time spent and, once the length is known, the time left.
    ``start(total)``, then call it with each batch's count; or call ``reached(done, total)``.

    A resumed run (``start(total, before=n)``) first streams by the n frames an earlier run measured: they count
    in the frames done, not in the pace, which is that of this run's own frames since the first of them (the
    frames passed cost a decode at most, not a measure, so counting them would promise an end far too soon).
    """

    def __init__(self, name: str, *, progress: bool = True, doing: str = "spotting"):
        self.name, self.progress, self.doing = name, progress, doing
        self.bar, self.total, self.done, self.next, self.started = None, None, 0, 0, None
        self.before, self.working = 0, None  # frames measured before; when this run's first frame came

    def start(self, total: int | None, *, before: int = 0) -> None:
        """Begin (or begin again, from 0: the progress kept turned out not to be this recording's)."""
        self.close()
        self.total, self.before, self.done, self.started = total, before, 0, time.perf_counter()
        self.working = self.started if not before else None
        step = max(1, total // 10) if total else 1000
        self.next = (before // step + 1) * step  # no line while the frames measured before are passed
        self._bar(before, f"resuming {self.name}: passing the frames measured before" if before else None)

    def _bar(self, total: int | None, desc: str | None, initial: int = 0) -> None:
        if bars_wanted(self.progress):
            from tqdm import tqdm

            self.bar = tqdm(total=total or self.total, initial=initial, desc=desc or f"{self.doing} {self.name}",
                            unit="frame", leave=False, file=sys.stderr)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.working is None:  # passing the frames measured before
            if self.done >= self.before:  # this run's work starts: its bar, its clock
                self.working = time.perf_counter()
                self.close()
                self._bar(None, None, initial=self.done)
            elif self.bar is not None:
                self.bar.update(n)
            return
        if self.bar is not None:
            self.bar.update(n)
        elif self.progress and self.done >= self.next:
            of = f"/{self.total}" if self.total else ""
            now = time.perf_counter()
            measured, spent = self.done - self.before, now - self.working
            left = (f", about {format_seconds(spent / measured * (self.total - self.done))} left"
                    if self.total and self.done < self.total and measured > 0 else "")
            write_line(f"{self.doing} {self.name}: {self.done}{of} frames, {format_seconds(now - self.started)} so "
                       f"far{left}")
            self.next += max(1, self.total // 10) if self.total else 1000

    def reached(self, done: int, total: int) -> None:
        """``done`` frames of ``total`` (a callback that counts from the start rather than by batch)."""
        if self.started is None:
            self.start(total)
        self(done - self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CountProgress:
    """Items of a list done (``mmnet predict``'s clips): a bar at a terminal; else, with progress on, a plain line
    every 10 % (``classified 8/40 clips, 3.1 s so far, about 12 s left``), so that a log or a pipe shows that a
    long list is being worked through before its results come at the end."""

    def __init__(self, total: int, *, progress: bool = True, doing: str = "classified", unit: str = "clip"):
        self.total, self.progress, self.doing, self.unit = total, progress, doing, unit
        self.done, self.started = 0, time.perf_counter()
        self.step = max(1, total // 10)
        self.next = self.step
        self.bar = None
        if bars_wanted(progress) and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=doing, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr)

    def reached(self, done: int) -> None:
        """``done`` items of ``total`` finished (counted from the start)."""
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done
        if self.bar is not None or not self.progress or self.total < 2 or done < self.next:
            return
        spent = time.perf_counter() - self.started
        left = f", about {format_seconds(spent / done * (self.total - done))} left" if done < self.total else ""
        write_line(f"{self.doing} {done}/{self.total} {self.unit}s, {format_seconds(spent)} so far{left}")
        self.next = (done // self.step + 1) * self.step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
