"""What a resume may change in a run's config, and what makes it another experiment (then a run whose folds
have trained is refused: another --out, or --restart)."""

from __future__ import annotations

import shlex

from ..config_effect import as_written, inert_in_both

__all__ = ["config_changes", "resume_changes", "inert_changes", "experiment_values", "restoring_sets"]

# Keys that say what to do with the experiment, not what it is: a resume may change them
# (train.final_fit=true added to a finished LOSO run trains the final model beside it; train.tensorboard
# turned on for a resumed run logs the recorded epochs of its unfinished folds, then the new ones), and so may
# where the data lie: a moved dataset resumes when its frames and samples are the same (rf.data_changes).
# eval.selection only decides how the recorded per-epoch predictions are scored: a resume re-scores the report.
_NOT_EXPERIMENT = ("train.final_fit:", "train.tensorboard:", "train.state_every_s:", "train.card_contact:",
                   "data.root:", "data.annotation:", "data.cache_dir:", "eval.selection:")


def experiment_values(values: dict) -> dict:
    """A resolved config dict without what a resume may change (the keys above and the seed list): what a
    fold's result depends on."""
    out = {section: dict(v) if isinstance(v, dict) else v for section, v in values.items() if section != "seeds"}
    for key in _NOT_EXPERIMENT:
        section, name = key.rstrip(":").split(".")
        if isinstance(out.get(section), dict):
            out[section].pop(name, None)
    return out


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``["train.device: cuda -> cpu", ...]``: the keys whose values differ between two config dicts."""
    out = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {as_written(a)} -> {as_written(b)}")
    return out


def inert_changes(saved: dict, new: dict) -> list[str]:
    """The changes in keys that neither config uses (:func:`mmnet.config_effect.inert_keys`), each with why: a
    resume takes them (the folds train the same model)."""
    inert = inert_in_both(saved, new)
    return [f"{c} (no effect: {inert[c.split(':')[0]]})" for c in config_changes(saved, new)
            if c.split(":")[0] in inert]


def resume_changes(saved: dict, new: dict) -> list[str]:
    """The changes of ``new`` (this command's resolved config) from ``saved`` (config.yaml) that make it another
    experiment: keys that neither config uses (:func:`inert_changes`) are not. Seeds may be added (each seed is its
    own folder: seeds 0..N-1 trained stay valid when more come), not removed (their folds would linger in the
    report)."""
    inert = inert_in_both(saved, new)
    changes = [c for c in config_changes(saved, new)
               if not c.startswith(_NOT_EXPERIMENT) and c.split(":")[0] not in inert]
    if _same_device(saved, new):  # "auto" and the device it picks here train alike
        changes = [c for c in changes if not c.startswith("train.device:")]
    old_seeds, new_seeds = saved.get("seeds"), new.get("seeds")
    if isinstance(old_seeds, list) and isinstance(new_seeds, list) and set(old_seeds) <= set(new_seeds):
        return [c for c in changes if not c.startswith("seeds:")]
    hint = (f"seeds may be added to a run, not removed: to resume it, give its seeds (--set 'seeds={old_seeds}'; "
            "a train.seed set alone is the run's one seed)")
    return [f"{c} ({hint})" if c.startswith("seeds:") else c for c in changes]


def _same_device(saved: dict, new: dict) -> bool:
    """Whether the two configs' train.device resolve to the same device on this machine ("cuda" is "cuda:0")."""
    from ..runtime import resolve_device

    def device(values: dict):
        name = (values.get("train") or {}).get("device")
        if not isinstance(name, str):
            return name
        try:
            dev = resolve_device(name)
        except RuntimeError:  # not a device name: compared as written
            return name
        return dev.type, dev.index or 0

    return device(saved) == device(new)


def restoring_sets(saved: dict, changes: list[str]) -> str:
    """The ``--set KEY=VALUE`` options that give this command the saved run's values of the changed keys (each
    change ``"key: old -> new"``), quoted for a shell: a resume with them continues the run as it was."""
    sets = []
    for key in dict.fromkeys(c.split(":")[0] for c in changes):
        value: object = saved
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        sets.append(f"--set {shlex.quote(f'{key}={as_written(value)}')}")
    return " ".join(sets)
