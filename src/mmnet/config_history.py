"""The config keys added to mmnet over time, and the value that reproduces what an mmnet from before each did: a
run's config.yaml written by an earlier mmnet lacks them, and a resume reads them as that value (not as null,
which would make every old run "another experiment")."""

from __future__ import annotations

__all__ = ["fill_earlier_keys", "rename_earlier_keys"]

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
    ("data", "fps"): None,  # 2026-12-06: `mmnet train` read table-long's rates from its fps column alone
}
# train.channels_last (bool) became train.memory_format in 91a0ede, 2026-11-25
_MEMORY_FORMAT = {True: "channels_last", False: "contiguous"}


def rename_earlier_keys(saved: dict) -> list[str]:
    """Read, in place, the keys an earlier mmnet named otherwise under today's names (any config file: a run's
    config.yaml given to --config, as its Reproduce line does); return them (``["train.memory_format (was
    train.channels_last)"]``), [] when there are none."""
    train = saved.get("train")
    if isinstance(train, dict) and "channels_last" in train and "memory_format" not in train:
        train["memory_format"] = _MEMORY_FORMAT.get(train.pop("channels_last"), "auto")
        return ["train.memory_format (was train.channels_last)"]
    return []


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
