"""What a long command leaves in its run folder for whoever was not watching its terminal.

- ``RUN/mmnet.log``: appended at each start (``train``, ``sweep``; ``train-spotter`` beside its model, ``MODEL.log``):
  a header line (the command line, mmnet's version, pid and host), an ISO-timestamped copy of every progress,
  warning and error line the command writes on stderr, and a last line ``exited N (reason)``.
- ``RUN/status.json`` (training runs): the run's state while it runs, rewritten whole (temporary + rename) at each
  fold's start and end and at the epochs' progress: state, pid, host, folds, the fold and epoch in training, an
  estimate of the time left, the last error and, once it ended, the exit code.

Both are written only inside a command (``command_logs``, which ``mmnet.cli`` holds around every command): a
training called from Python writes neither. The log is a ``logging.FileHandler`` on the ``mmnet`` logger, so the
warnings of every module reach it as they reach a caller's own handlers; the lines the command prints itself
(``progress.write_line``, ``cli``'s errors) are handed to the same handler (``copy``), not through the logger, which
would show them a second time to a caller whose logging shows INFO.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import (
    EXIT_ERROR,
    EXIT_HUNG_UP,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STOPPED,
    EXIT_TERMINATED,
    EXIT_USAGE,
)
from .processes import process_alive
from .utils import local_timestamp

__all__ = ["LOG", "STATUS", "command_logs", "open_run_log", "copy", "folds", "fold_ended",
           "epoch", "fold_clock", "saved", "submitted", "stop_note", "read_status", "running_note",
           "EXIT_REASONS"]

LOG = "mmnet.log"
STATUS = "status.json"
STATUS_EVERY_S = 5.0  # status.json at most this often on epochs (each write is fsynced); folds always
#: the reason written after an exit code (docs/cli.md lists the codes)
EXIT_REASONS = {EXIT_OK: "done", EXIT_INCOMPLETE: "incomplete", EXIT_USAGE: "usage error", EXIT_ERROR: "error",
                EXIT_HUNG_UP: "SIGHUP", EXIT_INTERRUPTED: "SIGINT", EXIT_TERMINATED: "SIGTERM"}

_project_log = logging.getLogger("mmnet")


class _Formatter(logging.Formatter):
    """``<ISO time> <line>``; a log record of level WARNING and above as stderr shows it (``warning: ...``)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        if record.levelno >= logging.WARNING and not getattr(record, "copied", False):
            text = f"{record.levelname.lower()}: {text}"
        return f"{local_timestamp(record.created)} {text}"


class _RunLogHandler(logging.FileHandler):
    """The log file; a record that no other handler takes is also shown on stderr by ``logging.lastResort`` (the
    command's ``warning: ...``), as it was before this handler existed: one on ``mmnet`` counts as found.

    Until ``go_live`` the records wait in memory and no file is made: a command that fails before writing anything
    in a new run folder leaves no folder behind (``folder_lock``), so its log would have nowhere to be."""

    def __init__(self, path: Path):
        super().__init__(path, encoding="utf-8", delay=True)
        self.setFormatter(_Formatter())
        self.setLevel(logging.INFO)
        self.live, self.pending = False, []

    def go_live(self) -> None:
        if not self.live:
            self.live = True
            for record in self.pending:
                super().emit(record)
            self.pending.clear()

    def emit(self, record: logging.LogRecord) -> None:
        if self.live:
            super().emit(record)
        else:
            self.pending.append(record)
        if getattr(record, "copied", False) or self._others_take(record):
            return
        if next(h for h in _project_log.handlers if isinstance(h, _RunLogHandler)) is not self:
            return  # two run logs (a command with two folders): stderr shows it once
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)

    def _others_take(self, record: logging.LogRecord) -> bool:
        logger = logging.getLogger(record.name)
        while logger is not None:
            if any(not isinstance(h, _RunLogHandler) for h in logger.handlers):
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


class _Status:
    """``status.json`` of one run folder and what it says."""

    def __init__(self, path: Path):
        self.path, self.written, self.broken, self.live = path, 0.0, False, False
        self.data = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "command": None,
                     "started_at": local_timestamp(), "updated_at": None, "folds_finished": 0, "folds_total": None,
                     "fold": None, "epoch": None, "epochs": None, "eta_s": None, "last_error": None,
                     "exit_code": None}
        self.t0, self.done_here = time.monotonic(), 0  # this start's clock and folds, for the time left
        self.epoch_t = None  # when the current fold's last epoch (or its start) ended
        self.epoch_seconds, self.epochs_run = 0.0, 0  # this start's epochs, for the time left
        self.saved_epoch = self.saved_at = None  # the current fold's resume state
        self.submitted = False  # SLURM no_wait: the state at the end is "submitted" (not a key of the file)

    def write(self, *, force: bool = True) -> None:
        now = time.monotonic()
        if self.broken or not self.live or (not force and now - self.written < STATUS_EVERY_S):
            return
        from .utils import atomic_write_text

        self.data["updated_at"] = local_timestamp()
        try:
            atomic_write_text(self.path, json.dumps(self.data, indent=1) + "\n")
        except OSError as exc:  # a full disk stops this file, not the training (which says the disk's own error)
            self.broken = True
            _project_log.warning("%s cannot be written (%s); training goes on without it", self.path,
                                 exc.strerror or exc)
        self.written = now

    def eta(self) -> float | None:
        """Seconds left: this start's epoch pace over the epochs left, else its pace of folds (Ray, SLURM)."""
        d = self.data
        left = (d["folds_total"] or 0) - d["folds_finished"]
        if self.epochs_run and d["epochs"]:
            pace = self.epoch_seconds / self.epochs_run
            current = d["epochs"] - (d["epoch"] or 0) if d["fold"] is not None else 0
            return round(pace * (current + d["epochs"] * (left - (d["fold"] is not None))))
        if self.done_here:
            return round((time.monotonic() - self.t0) / self.done_here * left)
        return None


class _RunLog:
    def __init__(self, folder: Path, log_name: str, status: bool):
        self.folder = folder
        self.handler = _RunLogHandler(folder / log_name)
        self.status = _Status(folder / STATUS) if status else None

    def go_live(self, *, status: bool = True) -> None:
        """The folder holds the run: the lines so far go to the file, and (``status``) status.json is written from
        now on."""
        if not self.handler.live:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.handler.go_live()
        if status and self.status is not None and not self.status.live:
            self.status.live = True
            self.status.write()

    def in_use(self) -> bool:
        """Whether the folder holds more than the lock and these files (else it is removed, or to be)."""
        try:
            own = (Path(self.handler.baseFilename).name, STATUS)
            return any(not p.name.startswith(".") and p.name not in own for p in self.folder.iterdir())
        except OSError:
            return False


_command: dict | None = None  # inside command_logs: {"argv": the command line, "logs": {path: _RunLog}}


@contextmanager
def command_logs(argv: list[str] | None) -> Iterator[Callable[[int], int]]:
    """Around a command (``argv`` None: ``sys.argv``): the run logs it opens get their ``exited N (reason)`` line
    and status.json its end when it ends. Yields ``ended(code) -> code``, to be called with the exit code."""
    global _command
    before, _command = _command, {"argv": list(sys.argv[1:] if argv is None else argv), "logs": {}, "code": None}
    scope = _command

    def ended(code: int) -> int:
        scope["code"] = code
        return code

    try:
        yield ended
    except SystemExit as exc:
        scope["code"] = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        raise
    except Exception as exc:  # a bug: its traceback goes to the log too (stderr gets it from Python)
        scope["code"], scope["why"] = 1, f"unexpected error, {type(exc).__name__}: {exc}"
        for run in scope["logs"].values():
            _copy_to(run, "unexpected error", logging.ERROR, exc_info=(type(exc), exc, exc.__traceback__))
        raise
    finally:
        _command = before
        _close(scope)


def _close(scope: dict) -> None:
    code = scope["code"]
    reason = scope.get("why") or EXIT_REASONS.get(code, "error")
    for run in scope["logs"].values():
        if run.in_use():  # a command stopped before its folds (a refused rerun) leaves an earlier status.json be
            run.go_live(status=run.status is not None and not run.status.path.exists())
        if run.status is not None and run.status.live:
            d = run.status.data
            d["exit_code"] = code
            d["state"] = ("done" if code == EXIT_OK else "interrupted" if code in EXIT_STOPPED else "failed")
            if run.status.submitted and code == 0:
                d["state"] = "submitted"
            if code not in (0, None) and d["last_error"] is None and scope.get("why"):
                d["last_error"] = scope["why"]
            run.status.write()
        _copy_to(run, f"exited {'?' if code is None else code} ({reason})")
        _project_log.removeHandler(run.handler)
        run.handler.close()


def open_run_log(folder: str | Path, *, log_name: str = LOG, status: bool = True, live: bool = False) -> None:
    """Start ``folder/mmnet.log`` (and ``status.json``) for the command running; nothing outside a command. Until
    ``live`` (or ``folds``) its lines wait in memory: they are written at the end only where the folder holds
    something besides its lock (a new folder the command wrote nothing in is removed)."""
    if _command is None:
        return
    path = Path(folder) / log_name
    key = str(path.absolute())
    if key in _command["logs"]:
        return
    from .shell_words import shell_quote
    from .version import __version__

    run = _RunLog(Path(folder), log_name, status)
    _command["logs"][key] = run
    _project_log.addHandler(run.handler)
    words = " ".join(shell_quote(w) for w in ["mmnet", *_command["argv"]])
    _copy_to(run, f"mmnet {__version__} started: {words} (pid {os.getpid()} on {socket.gethostname()})")
    if run.status is not None:
        run.status.data["command"] = words
    if live or run.in_use():  # a rerun's folder holds the run already (its status.json: once the folds start)
        run.go_live(status=False)


def _copy_to(run: _RunLog, line: str, level: int = logging.INFO, exc_info=None) -> None:
    record = _project_log.makeRecord(_project_log.name, level, __file__, 0, line, None, exc_info,
                                     extra={"copied": True})
    run.handler.handle(record)


def copy(line: str, *, error: bool = False) -> None:
    """A line the command wrote on stderr, into its run logs (``error``: it also becomes status.json's last
    error)."""
    for run in _runs():
        _copy_to(run, line, logging.ERROR if error else logging.INFO)
        if error and run.status is not None:
            run.status.data["last_error"] = line
            run.status.write()


def _runs() -> list[_RunLog]:
    return [] if _command is None else list(_command["logs"].values())


def _statuses() -> list[_Status]:
    return [run.status for run in _runs() if run.status is not None]


def folds(total: int, finished: int) -> None:
    """The folds (and final fit) of this start: ``finished`` of ``total`` were done before it (the run is prepared:
    its files are in the folder)."""
    for run in _runs():
        run.go_live()
    for s in _statuses():
        s.data.update(folds_total=total, folds_finished=finished)
        s.write()


def fold_clock(label: str, epochs: int, initial: int, state_mtime: float | None) -> None:
    """A fold starts training in this process from epoch ``initial`` (its resume state, written at
    ``state_mtime``, held that many; 0: none)."""
    for s in _statuses():
        s.data.update(fold=label, epoch=initial, epochs=epochs)
        s.epoch_t = time.monotonic()
        s.saved_epoch, s.saved_at = (initial, state_mtime) if initial else (None, None)
        s.write()


def epoch(label: str, number: int, epochs: int) -> None:
    """Epoch ``number`` of ``epochs`` of a fold ended."""
    for s in _statuses():
        now = time.monotonic()
        if s.epoch_t is not None and s.data["fold"] == label:
            s.epoch_seconds += now - s.epoch_t
            s.epochs_run += 1
        s.epoch_t = now
        s.data.update(fold=label, epoch=number, epochs=epochs)
        s.data["eta_s"] = s.eta()
        s.write(force=number == epochs)


def saved(epoch_number: int) -> None:
    """The current fold's resume state was written after ``epoch_number``."""
    for s in _statuses():
        s.saved_epoch, s.saved_at = epoch_number, time.time()


def fold_ended(error: str | None = None) -> None:
    """A fold finished (``error`` None) or failed."""
    for s in _statuses():
        if error is None:
            s.data["folds_finished"] += 1
            s.done_here += 1
        else:
            s.data["last_error"] = error
        s.data.update(fold=None, epoch=None)
        s.epoch_t = s.saved_epoch = s.saved_at = None
        s.data["eta_s"] = s.eta()
        s.write()


def submitted() -> None:
    """The folds were only submitted (SLURM, no_wait): the command's end is not the run's."""
    for s in _statuses():
        s.submitted = True


def stop_note() -> str:
    """What a stopped training kept: ``k/N folds finished; FOLD resumes from epoch E/EE (saved at HH:MM)``."""
    for s in _statuses():
        d = s.data
        if d["folds_total"] is None:
            continue
        note = f"{d['folds_finished']}/{d['folds_total']} folds finished"
        if d["fold"] is not None and d["epochs"]:
            if s.saved_epoch:
                note += "; " + resumes_from(d["fold"], s.saved_epoch, d["epochs"], s.saved_at, unknown="?")
            else:
                note += f"; {d['fold']} starts again from epoch 1/{d['epochs']} (no resume state saved yet)"
        return note
    return ""


def resumes_from(label: str, epoch: int, epochs: int, saved_at: float | None, *, unknown: str = "") -> str:
    """``LABEL resumes from epoch E/EE (saved at HH:MM)``: the stop line's and the rerun's words for a fold whose
    resume state holds ``epoch``; without ``saved_at`` the time is ``unknown`` (nothing when empty)."""
    clock = time.strftime("%H:%M", time.localtime(saved_at)) if saved_at else unknown
    return f"{label} resumes from epoch {epoch + 1}/{epochs}" + (f" (saved at {clock})" if clock else "")


def read_status(folder: str | Path) -> dict | None:
    """``folder/status.json`` as a dict, its ``state`` ``running`` turned ``stopped abruptly`` when its command is
    gone (same host, no such process: killed, or out of memory); None when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("state") == "running" and data.get("host") == socket.gethostname() and isinstance(data.get("pid"),
                                                                                                   int):
        if not process_alive(data["pid"]):
            data["state"] = "stopped abruptly"
    return data


def running_note(status: dict | None) -> str | None:
    """What ``mmnet report`` says of a run that is still training (status.json's state ``running``) or whose command
    was killed (``stopped abruptly``: ``read_status``), else None."""
    if status and status.get("state") == "stopped abruptly":
        return (f"the run's command was killed (pid {status.get('pid')} on {status.get('host')}: SIGKILL or out of "
                f"memory) with {status.get('folds_finished')}/{status.get('folds_total')} folds finished; rerun the "
                "same command to continue")
    if not status or status.get("state") != "running":
        return None
    where = f"{status.get('fold')}, epoch {status.get('epoch')}/{status.get('epochs')}; " \
        if status.get("fold") else ""
    return (f"the run is still training (pid {status.get('pid')} on {status.get('host')}; {where}"
            f"{status.get('folds_finished')}/{status.get('folds_total')} folds finished)")
