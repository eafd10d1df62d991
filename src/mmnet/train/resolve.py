"""The configuration as a run uses it and writes to its config.yaml (``mmnet train --print-config`` prints it):
what the data settings derive filled in, without reading data."""

from __future__ import annotations

from ..config import ExperimentConfig, config_from_dict, config_to_dict
from ..data import DATASETS, LONG_VIDEO_DATASETS, default_scheme, resolve_scheme
from ..dataset_root import absolute_paths
from ..errors import ConfigError, verify_choice
from ..model.mmnet import MMNetConfig

__all__ = ["resolve_config"]


def resolve_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """The configuration as a run uses it and writes to its config.yaml (``mmnet train --print-config`` prints
    it), without reading data: the label scheme's classes (they decide the head's size), absolute data paths,
    and for long videos saved fold models."""
    d = cfg.data
    verify_choice("data.dataset", d.dataset, tuple(sorted(DATASETS) + sorted(LONG_VIDEO_DATASETS)))
    scheme = resolve_scheme(d.scheme or default_scheme(d.dataset), d.classes, d.dataset)
    # at its default, model.num_classes follows the scheme (as data.classes); another count is refused
    if cfg.model.num_classes not in (MMNetConfig.num_classes, scheme.num_classes):
        raise ConfigError(
            f"model.num_classes={cfg.model.num_classes} cannot be set: the number of classes is derived from "
            f"data.scheme, and scheme {scheme.name!r} has {scheme.num_classes} ({', '.join(scheme.classes)}). To "
            "train another number of classes choose another scheme with data.scheme (--scheme); docs/datasets.md "
            "lists each scheme's classes. Leave model.num_classes unset.")
    resolved = config_to_dict(cfg)
    resolved["data"].update(scheme=scheme.name, classes=list(scheme.classes))
    resolved["model"]["num_classes"] = scheme.num_classes
    resolved["data"].update(absolute_paths(d))  # config.yaml rerun from another folder reads the same files
    if d.dataset in LONG_VIDEO_DATASETS:
        resolved["train"]["save_models"] = True  # the spotted intervals are recognised by each fold's model
    return config_from_dict(resolved)
