"""A run folder's config.yaml before a run is prepared into it: one that cannot be read is moved aside while no
fold has started, else refused with what to do."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from .. import run_folder as rf
from ..errors import ConfigError
from ..utils import move_aside

__all__ = ["check_saved_config"]

log = logging.getLogger("mmnet.train")


def check_saved_config(out: Path, config_path: Path) -> None:
    """A config.yaml that cannot be read: moved aside when no fold has started (it is written again),
    else a named error (the folds' settings cannot be compared with this command's)."""
    if not config_path.exists():
        if rf.trained_folds(out):  # else the folds trained under unknown settings would be reused under these
            raise ConfigError(f"'{out}' holds trained folds but no {rf.CONFIG}, so this command's settings cannot be "
                              "compared with theirs. Restore the file from a backup, or use another out folder "
                              "(or --restart, restart=True from Python, to move this run aside).")
        return
    try:
        saved = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        if isinstance(saved, dict):
            return
        why = f"it holds a {type(saved).__name__}, not a mapping"
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        why = f"not valid YAML: {str(exc).splitlines()[0]}"
    started = [p for p in out.glob("seed-*/fold-*/*") if p.name in (rf.DONE, rf.STATE)]
    if started:
        raise ConfigError(f"'{config_path}' is damaged ({why}), and {len(started)} fold file(s) were written under "
                          "it, so these settings cannot be compared with theirs. Restore the file from a backup, "
                          "or start over: --restart (restart=True from Python) moves this run aside, or use another "
                          "out folder.")
    aside = move_aside(config_path)
    log.warning("'%s' was damaged (%s) and no fold has started; moved to '%s' and written again",
                config_path, why, aside.name)
