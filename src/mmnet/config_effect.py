"""What a config's keys change in the trained model: keys the network or the data path never reads under the
config's own settings are inert (every ``model.pc_*`` key with ``model.use_pc: false``; ``data.flow_method``
unless ``model.main_input`` is flow; ``data.jitter_fraction`` when it is: the flow is taken between the annotated
frames). Two configs that differ only in inert keys train the same model: a sweep refuses them as one setting
twice, a resume takes them, compare says so. A key inert in one of two configs only is no difference between them
either (the other's value, used, trains the same model where the rest is the same): compare sets it apart, naming the
config it has no effect in. The config.yaml keeps the values as written.
"""

from __future__ import annotations

import copy

import yaml

__all__ = ["inert_keys", "effective_config", "inert_in_both", "inert_in_one", "inert_set", "as_written"]

_PC_KEYS = ("model.pc_depth", "model.pc_mlp_ratio", "model.pc_drop_path", "model.pc_num_heads", "model.pc_antialias")


def _get(values: dict, dotted: str):
    """``section.key`` of a nested config mapping, else its built-in default (an older run's config.yaml may lack
    it)."""
    from .config import ExperimentConfig, config_to_dict

    section, name = dotted.split(".")
    part = values.get(section) if isinstance(values, dict) else None
    if isinstance(part, dict) and name in part:
        return part[name]
    return config_to_dict(ExperimentConfig())[section][name]


def inert_keys(values: dict) -> dict[str, str]:
    """``{dotted key: why it has no effect}`` for a nested config mapping (resolved, or a run's config.yaml)."""
    out = {}
    if _get(values, "model.use_pc") is False:
        out.update(dict.fromkeys(_PC_KEYS, "model.use_pc is false: the network has no PC module"))
    main = _get(values, "model.main_input")
    if main == "flow":
        out["data.jitter_fraction"] = ("model.main_input is flow: the flow is taken between the annotated onset "
                                       "and apex, with no onset/apex jitter")
    else:
        out["data.flow_method"] = f"model.main_input is {as_written(main)}, not flow: no optical flow is computed"
    return out


def effective_config(values: dict) -> dict:
    """A copy of a nested config mapping with its inert keys (where present) at their defaults: two configs with
    the same effective form train the same model."""
    from .config import ExperimentConfig, config_to_dict

    defaults, out = config_to_dict(ExperimentConfig()), copy.deepcopy(values)
    for dotted in inert_keys(values):
        section, name = dotted.split(".")
        if isinstance(out.get(section), dict) and name in out[section]:
            out[section][name] = defaults[section][name]
    return out


def inert_in_both(old: dict, new: dict) -> dict[str, str]:
    """The keys inert in both configs (a change of one of them changes nothing trained), with why (``new``'s)."""
    before = inert_keys(old)
    return {k: why for k, why in inert_keys(new).items() if k in before}


def inert_in_one(old: dict, new: dict) -> dict[str, tuple[int, str]]:
    """The keys inert in one config but not the other, each with which (0: ``old``, 1: ``new``) and why."""
    before, after = inert_keys(old), inert_keys(new)
    return {**{k: (0, why) for k, why in before.items() if k not in after},
            **{k: (1, why) for k, why in after.items() if k not in before}}


def inert_set(values: dict) -> list[str]:
    """``"key: value has no effect (why)"`` for each inert key set to other than its default."""
    from .config import ExperimentConfig, config_to_dict

    defaults = config_to_dict(ExperimentConfig())
    return [f"{dotted}: {as_written(_get(values, dotted))} has no effect ({why})"
            for dotted, why in inert_keys(values).items()
            if _get(values, dotted) != defaults[dotted.split(".")[0]][dotted.split(".")[1]]]


def as_written(value) -> str:
    """A config value as config.yaml and --set write it (true, null, [0, 1]), not as Python prints it (True)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True).strip().removesuffix(
        "...").strip()
