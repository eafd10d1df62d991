"""What a long command leaves in its run folder for whoever was not watching its terminal.

- ``RUN/mmnet.log``: appended at each start (``train``, ``sweep``; ``train-spotter`` beside its model, ``MODEL.log``):
  a header line (the command line, mmnet's version, pid and host), an ISO-timestamped copy of every progress,
  warning and error line the command writes on stderr, and a last line ``exited N (reason)``.
- ``RUN/status.json`` (training runs): the run's state while it runs, rewritten whole (temporary + rename) at each
  fold's start and end and at the epochs' progress: state, pid, host, folds, the fold and epoch in training, an
  estimate of the time left, the last error and, once it ended, the exit code (``mmnet.run_status``).
- A sweep: each setting's folder gets its own of both, with the lines said ``about`` it (its preparation, its folds)
  and its folds; the sweep folder's get every line, and its status.json every fold and which setting trains.
- ``train-spotter``: ``MODEL.log`` and ``MODEL.status.json`` beside its model.

Both are written only inside a command (``command_logs``, which ``mmnet.cli`` holds around every command): a
training called from Python writes neither. The log is a ``logging.FileHandler`` on the ``mmnet`` logger, so the
warnings of every module reach it as they reach a caller's own handlers; the lines the command prints itself
(``progress.write_line``, ``cli``'s errors) are handed to the same handler (``copy``), not through the logger, which
would show them a second time to a caller whose logging shows INFO.
"""

from __future__ import annotations

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
from .run_status import STATUS, Status, read_status, running_note
from .utils import local_timestamp

__all__ = ["LOG", "STATUS", "command_logs", "open_run_log", "about", "copy", "folds", "fold_ended",
           "epoch", "fold_clock", "saved", "submitted", "stop_note", "read_status", "running_note",
           "EXIT_REASONS"]

LOG = "mmnet.log"
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

    def __init__(self, path: Path, scope: str | None):
        super().__init__(path, encoding="utf-8", delay=True)
        self.setFormatter(_Formatter())
        self.setLevel(logging.INFO)
        self.live, self.pending = False, []
        self.scope = scope  # a sweep setting's folder: only the records logged ``about`` it

    def go_live(self) -> None:
        if not self.live:
            self.live = True
            for record in self.pending:
                super().emit(record)
            self.pending.clear()

    def emit(self, record: logging.LogRecord) -> None:
        if self.scope is not None and not getattr(record, "copied", False) and self.scope != _about():
            pass  # another setting's, or the sweep's own
        elif self.live:
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


class _RunLog:
    def __init__(self, folder: Path, log_name: str, status: str | None, scope: str | None, sweep: bool):
        self.folder, self.scope = folder, scope
        self.handler = _RunLogHandler(folder / log_name, scope)
        self.status = Status(folder / status, sweep=sweep) if status else None
        self.before = self.said = 0  # a sweep setting's folds done before this start, and said in it (setting_fold)

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
            own = (Path(self.handler.baseFilename).name, self.status and self.status.path.name)
            return any(not p.name.startswith(".") and p.name not in own for p in self.folder.iterdir())
        except OSError:
            return False


# inside command_logs: {"argv": the command line, "logs": {path: _RunLog}, "tasks": {task label: its run's folder},
# "about": the folder of the sweep setting whose lines are said now (``about``)}
_command: dict | None = None


@contextmanager
def command_logs(argv: list[str] | None) -> Iterator[Callable[[int], int]]:
    """Around a command (``argv`` None: ``sys.argv``): the run logs it opens get their ``exited N (reason)`` line
    and status.json its end when it ends. Yields ``ended(code) -> code``, to be called with the exit code."""
    global _command
    before, _command = _command, {"argv": list(sys.argv[1:] if argv is None else argv), "logs": {}, "code": None,
                                  "tasks": {}, "about": None}
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
            d["exit_code"], d["ended_at"] = code, local_timestamp()
            d["state"] = ("done" if code == EXIT_OK else "interrupted" if code in EXIT_STOPPED else "failed")
            if run.status.submitted and code == 0:
                d["state"] = "submitted"
            if run.scope is not None and d["folds_total"] is not None and d["folds_finished"] >= d["folds_total"]:
                d["state"] = "done"  # a sweep setting whose folds all finished, whatever stopped the others
            if code not in (0, None) and d["last_error"] is None and scope.get("why"):
                d["last_error"] = scope["why"]
            run.status.write()
        _copy_to(run, f"exited {'?' if code is None else code} ({reason})")
        _project_log.removeHandler(run.handler)
        run.handler.close()


def open_run_log(folder: str | Path, *, log_name: str = LOG, status: str | bool = True, live: bool = False,
                 setting: bool = False, sweep: bool = False) -> None:
    """Start ``folder/mmnet.log`` (and ``status.json``, or the file ``status`` names) for the command running;
    nothing outside a command. Until ``live`` (or ``folds``) its lines wait in memory: they are written at the end
    only where the folder holds something besides its lock (a new folder the command wrote nothing in is removed).
    ``setting``: a sweep setting's folder, whose log and status take only what is said ``about`` it; ``sweep``: the
    sweep's folder, whose status also says which setting trains."""
    if _command is None:
        return
    path = Path(folder) / log_name
    key = str(path.absolute())
    if key in _command["logs"]:
        return
    from .shell_words import shell_quote
    from .version import __version__

    scope = str(Path(folder).absolute()) if setting else None
    run = _RunLog(Path(folder), log_name, STATUS if status is True else status or None, scope, sweep)
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


def copy(line: str, *, error: bool = False, last: bool = False) -> None:
    """A line the command wrote on stderr, into its run logs (``error``: it also becomes status.json's last
    error; a sweep setting's log takes the lines said ``about`` it and the command's ``last`` line and errors)."""
    for run in _runs(every=error or last):
        _copy_to(run, line, logging.ERROR if error else logging.INFO)
        if error and run.status is not None:
            run.status.data["last_error"] = line
            run.status.write()


@contextmanager
def about(*, folder: str | Path | None = None, task: str | None = None) -> Iterator[None]:
    """What is said and trained inside is a sweep setting's (its run ``folder``, or the run of the ``task`` labelled
    so; see ``folds``): its lines and folds go to its own log and status too, besides the sweep's."""
    if _command is None:
        yield
        return
    scope, before = _command, _command["about"]
    key = str(Path(folder).absolute()) if folder is not None else _command["tasks"].get(task, before)
    scope["about"] = key
    try:
        yield
    finally:
        scope["about"] = before


def _about() -> str | None:
    return None if _command is None else _command["about"]


def _runs(*, every: bool = False) -> list[_RunLog]:
    """The command's run logs; of a sweep's settings only the one spoken ``about`` now, unless ``every``."""
    if _command is None:
        return []
    return [run for run in _command["logs"].values() if every or run.scope is None or run.scope == _command["about"]]


def _statuses() -> list[Status]:
    return [run.status for run in _runs() if run.status is not None]


def folds(total: int, finished: int, *, folder: str | Path | None = None, labels: Iterator[str] = ()) -> None:
    """The folds (and final fit) of this start: ``finished`` of ``total`` were done before it (the run is prepared:
    its files are in the folder). With ``folder``: those of one run of the command (a sweep's setting), whose tasks
    are ``labels``; without: of all of them."""
    if _command is None:
        return
    key = None if folder is None else str(Path(folder).absolute())
    if key is not None:
        _command["tasks"].update(dict.fromkeys(labels, key))
    for run in _command["logs"].values():
        if run.scope == key:
            run.go_live()
            run.before, run.said = finished, 0
            if run.status is not None:
                run.status.data.update(folds_total=total, folds_finished=finished)
                run.status.write()
    _overview()


def setting_fold() -> str:
    """Inside ``about`` a sweep setting: ``; SETTING k/N``, the fold now said counted among that setting's own (the
    sweep's ``[fold k/N]`` counts every setting's), so that the setting's log numbers its own folds; else ''."""
    key = _about()
    run = next((r for r in _runs() if key is not None and r.scope == key and r.status is not None), None)
    if run is None or run.status.data.get("folds_total") is None:
        return ""
    run.said += 1
    return f"; {Path(key).name} {run.before + run.said}/{run.status.data['folds_total']}"


def _overview() -> None:
    """The sweep folder's status.json: of the settings run, how many finished all their folds."""
    parts = [run.status.data for run in _runs(every=True) if run.scope is not None and run.status is not None]
    for run in _runs(every=True):
        if run.status is not None and "settings_total" in run.status.data:
            run.status.data.update(settings_total=len(parts), settings_finished=sum(
                d["folds_total"] is not None and d["folds_finished"] >= d["folds_total"] for d in parts))
            run.status.write()


def fold_clock(label: str, epochs: int | None, initial: int, state_mtime: float | None) -> None:
    """A fold starts training in this process from epoch ``initial`` (its resume state, written at
    ``state_mtime``, held that many; 0: none; ``epochs`` None: not trained by epochs)."""
    for s in _statuses():
        s.data.update(fold=label, epoch=initial, epochs=epochs)
        if "setting" in s.data:  # the sweep's: whose fold it is
            s.data["setting"] = None if _about() is None else Path(_about()).name
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


def fold_epoch(number: int, epochs: int) -> None:
    """Epoch ``number`` of ``epochs`` of the fold now in training ended, for a trainer that does not know the fold's
    label (the learned spotter: ``fold_clock`` was given it by train-spotter or its LOSO)."""
    labels = {s.data["fold"] for s in _statuses()} - {None}
    if len(labels) == 1:
        epoch(labels.pop(), number, epochs)


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
        if "setting" in s.data:
            s.data["setting"] = None
        s.epoch_t = s.saved_epoch = s.saved_at = None
        s.data["eta_s"] = s.eta()
        s.write()
    _overview()


def submitted() -> None:
    """The folds were only submitted (SLURM, no_wait): the command's end is not the run's."""
    for s in (run.status for run in _runs(every=True) if run.status is not None):
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
