"""The config keys added to mmnet over time, and the value that reproduces what an mmnet from before each did: a
run's config.yaml written by an earlier mmnet lacks them, and a resume reads them as that value (not as null,
which would make every old run "another experiment")."""

from __future__ import annotations

import sys

__all__ = ["fill_earlier_keys", "rename_earlier_keys", "renamed_key", "rename_hint", "RENAMED"]

# (section, key): the value that behaves as mmnet did before the key existed (the commit that added it)
_ADDED = {
    ("data", "permute_labels"): False,  # 09eebe8, 2026-11-25: no label-permutation control before
    ("spotting", "preset"): None,  # 6241630, 2026-12-03: the dataset's preset
    ("spotting", "overrides"): [],
    ("train", "final_fit"): False,  # a000953, 2026-12-03: no final model before
    ("train", "tensorboard"): False,  # 8213ab5, 2026-12-03
    ("train", "compile"): False,  # e4bed1e, 2026-12-04: no torch.compile before
    ("train", "state_every_s"): 0.0,  # b4566e1, 2026-12-05: the resume state was written after every epoch
    ("model", "factory"): "",  # 2026-12-06: MMNet was the only network before
    ("data", "frames"): None,  # 2026-12-06: frames found by the last number in their names (table dataset)
    ("train", "card_contact"): "",  # 2026-12-06: the model card named no contact
    ("train", "tf32"): None,  # 2026-12-07: PyTorch's TF32 defaults, never set
    ("data", "fps"): None,  # 2026-12-06: `mmnet train` read table-long's rates from its fps column alone
    ("data", "layout"): None,  # 2026-12-07: CASME II's first frames folder present
}
# train.channels_last (bool) became train.memory_format in 91a0ede, 2026-11-25
_MEMORY_FORMAT = {True: "channels_last", False: "contiguous"}


def _memory_format(value: object) -> object:
    # only a bool (or null) is converted: any other value (a list, a mapping, 1) goes on to the type check, which
    # names it, instead of a TypeError (unhashable) or 1 read as true
    if isinstance(value, bool):
        return _MEMORY_FORMAT[value]
    return "auto" if value is None else value


# The one table of renamed keys, read by every way a key is given (config files, a sweep's base, config and
# settings, --set): old dotted key -> (new dotted key, the old value as the new key's, what the new values are)
RENAMED = {"train.channels_last": ("train.memory_format", lambda v: _memory_format(v),
                                   "true: channels_last, false: contiguous")}
_NOTED: set[str] = set()  # renamed keys this process noted (a command builds its config several times)


def _note(old: str) -> None:
    if old not in _NOTED:
        _NOTED.add(old)
        new, _, values = RENAMED[old]
        print(f"note: {old} is now {new} ({values}); it is read so: write {new} instead",
              file=sys.stderr)


def renamed_key(dotted: str, value: object, *, note: bool = True) -> tuple[str, object]:
    """``(dotted, value)`` under today's key name (noted on stderr, once per process, when renamed)."""
    if dotted not in RENAMED:
        return dotted, value
    if note:
        _note(dotted)
    new, convert, _ = RENAMED[dotted]
    return new, convert(value)


def rename_hint(dotted: str) -> str:
    """What an unknown-key error adds for a renamed key given beside its new name, else ""."""
    if dotted not in RENAMED:
        return ""
    return f" {dotted} is now {RENAMED[dotted][0]}, which is given too: remove {dotted}."


def rename_earlier_keys(saved: dict, *, note: bool = False) -> list[str]:
    """Read, in place, the keys an earlier mmnet named otherwise under today's names (any config mapping: a run's
    config.yaml, silently, or a file a user gives, ``note``: one stderr line per key); return them
    (``["train.memory_format (was train.channels_last)"]``), [] when there are none. A key given under both names
    is left for the config's unknown-key error (``rename_hint``)."""
    done = []
    for old in RENAMED:
        section, key = old.split(".")
        values = saved.get(section)
        new, value = renamed_key(old, values.get(key), note=False) if isinstance(values, dict) else (None, None)
        if new is None or key not in values or new.split(".")[1] in values:
            continue
        del values[key]
        values[new.split(".")[1]] = value
        if note:
            _note(old)
        done.append(f"{new} (was {old})")
    return done


def fill_earlier_keys(saved: dict) -> list[str]:
    """Fill, in place, the keys a config.yaml written by an earlier mmnet lacks with their earlier behaviour (and
    rename the renamed ones); return the keys filled (``["train.compile", ...]``), [] for a config.yaml of this
    mmnet. For a run's own config.yaml (a resume, a comparison), not for a config file a user wrote: there a
    missing key means today's default."""
    filled = rename_earlier_keys(saved)
    for (section, key), value in _ADDED.items():
        values = saved.setdefault(section, {})
        if isinstance(values, dict) and key not in values:
            values[key] = list(value) if isinstance(value, list) else value
            filled.append(f"{section}.{key}")
    return filled
