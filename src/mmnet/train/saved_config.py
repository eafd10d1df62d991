"""A run folder's config.yaml before a run is prepared into it: one that cannot be read is moved aside while no
fold has started, else refused with what to do; a run a newer mmnet trained is refused, naming that mmnet."""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path

import yaml

from .. import run_folder as rf
from ..config import ExperimentConfig, config_to_dict
from ..config_history import rename_earlier_keys
from ..errors import ConfigError
from ..utils import move_aside
from ..version import __version__

__all__ = ["check_saved_config", "check_not_newer"]

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


def _version_key(text: object) -> tuple[int, int, int] | None:
    """(major, minor, patch) of an mmnet version ("0.3.0", "0.3.0.dev1" as 0.3.0); None when not one."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text) if isinstance(text, str) else None
    return tuple(int(g or 0) for g in match.groups()) if match else None  # type: ignore[return-value]


def _recorded_versions(out: Path) -> list[str]:
    """The mmnet versions env.json (the run's start) and each finished fold's done.json record."""
    found = []
    for path in [out / rf.ENV, *out.glob(f"seed-*/fold-*/{rf.DONE}"), out / rf.FINAL / rf.DONE]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # absent or damaged: the checks that read it say so
        if isinstance(record, dict) and _version_key(record.get("mmnet_version")):
            found.append(record["mmnet_version"])
    return found


def _unknown_keys(saved: dict) -> list[str]:
    """The keys of a run's config.yaml this mmnet does not know (an earlier mmnet's renamed keys are known)."""
    saved = copy.deepcopy(saved)
    rename_earlier_keys(saved)
    known = config_to_dict(ExperimentConfig())
    unknown = []
    for key, values in saved.items():
        if key not in known:
            unknown.append(str(key))
        elif isinstance(values, dict) and isinstance(known[key], dict):
            unknown += [f"{key}.{k}" for k in values if k not in known[key]]
    return sorted(unknown)


def check_not_newer(out: Path) -> None:
    """Refuse to resume a run a newer mmnet trained (env.json or a fold's done.json names a later version, or its
    config.yaml holds keys this mmnet does not know): this mmnet cannot read its settings as that one did, and no
    ``--set`` can give it a key it does not have. A run with no trained fold is prepared again as usual."""
    if not rf.trained_folds(out):
        return
    newest = max(_recorded_versions(out), key=_version_key, default=None)
    newer = newest if newest and _version_key(newest) > _version_key(__version__) else None
    try:
        saved = yaml.safe_load((out / rf.CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        saved = None  # check_saved_config says what is wrong with it
    unknown = _unknown_keys(saved) if isinstance(saved, dict) else []
    if newer is None and not unknown:
        return
    keys = (f" Its {rf.CONFIG} holds setting(s) this mmnet does not know: {', '.join(unknown)}." if unknown else "")
    who = (f"started by mmnet {newer} (newer than this mmnet {__version__})" if newer else
           f"written by a newer mmnet than this one ({__version__})")
    upgrade = f"mmnet >= {newer}" if newer else "the mmnet that trained it"
    raise ConfigError(f"'{out}' holds a run {who}.{keys} Resume it with {upgrade} (in your mmnet checkout: "
                      "`git pull`, then `pip install -e .`). "
                      "Else train this configuration elsewhere: another out folder, or --restart (restart=True from "
                      "Python) to move this run aside and train every fold with this mmnet.")
