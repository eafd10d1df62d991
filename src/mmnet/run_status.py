"""``status.json``: the state of a run (or of a sweep, or of ``train-spotter``'s model) while its command runs, and
what ``mmnet report`` reads of it. ``mmnet.run_log`` writes it; docs/reports.md lists its keys."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

from .processes import process_alive
from .utils import atomic_write_text, local_timestamp

__all__ = ["STATUS", "STATUS_EVERY_S", "Status", "read_status", "running_note"]

STATUS = "status.json"
STATUS_EVERY_S = 5.0  # status.json at most this often on epochs (each write is fsynced); folds always

_project_log = logging.getLogger("mmnet")


class Status:
    """``status.json`` of one run folder (or a sweep's, ``sweep``) and what it says."""

    def __init__(self, path: Path, *, sweep: bool = False):
        self.path, self.written, self.broken, self.live = path, 0.0, False, False
        self.data = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "command": None,
                     "started_at": local_timestamp(), "updated_at": None, "ended_at": None, "folds_finished": 0,
                     "folds_total": None, "fold": None, "epoch": None, "epochs": None, "eta_s": None,
                     "last_error": None, "exit_code": None}
        self.t0, self.done_here = time.monotonic(), 0  # this start's clock and folds, for the time left
        self.epoch_t = None  # when the current fold's last epoch (or its start) ended
        self.epoch_seconds, self.epochs_run = 0.0, 0  # this start's epochs, for the time left
        self.saved_epoch = self.saved_at = None  # the current fold's resume state
        self.submitted = False  # SLURM no_wait: the state at the end is "submitted" (not a key of the file)
        if sweep:  # the sweep folder's: which setting trains, and how many of them finished
            self.data.update(setting=None, settings_finished=0, settings_total=None)

    def write(self, *, force: bool = True) -> None:
        now = time.monotonic()
        if self.broken or not self.live or (not force and now - self.written < STATUS_EVERY_S):
            return
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
