"""The configuration as a run uses it and writes to its config.yaml (``mmnet train --print-config`` prints it):
what the data settings derive filled in, without reading data."""

from __future__ import annotations

import dataclasses
import logging

from ..config import ExperimentConfig, config_from_dict, config_to_dict
from ..data import DATASETS, LONG_VIDEO_DATASETS, default_scheme, resolve_scheme
from ..data.label_maps import TABLE_DATASET, TABLE_SCHEME, one_class
from ..dataset_root import absolute_paths, parse_root
from ..errors import ConfigError, verify_choice
from ..model.mmnet import MMNetConfig

__all__ = ["resolve_config"]

log = logging.getLogger("mmnet.train")


def _with_table_classes(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` with the ``table`` dataset's classes filled in when its scheme is the default and data.classes is
    not set: the labels of the table's emotion column, sorted (the only data read). Other configs as they are."""
    d = cfg.data
    tables = (TABLE_DATASET, "table-long")  # table-long: its micro-expressions' labels, the ones MMNet trains on
    if d.dataset not in tables or d.classes or (d.scheme or TABLE_SCHEME) != TABLE_SCHEME or d.root is None:
        return cfg
    from ..data.table import table_labels, too_few_clip_classes
    from ..data.table_long import table_long_labels, too_few_classes

    labels, too_few = ((table_labels, too_few_clip_classes) if d.dataset == TABLE_DATASET
                       else (table_long_labels, too_few_classes))
    root = parse_root(d.dataset, d.root)
    classes = labels(root, d.annotation)
    if len(classes) < 2:  # no emotion, or one alone (a table-long for spotting): which, the rows, what to do
        raise ConfigError(too_few(root, d.annotation, classes))
    log.info("data.classes from the table's emotion column (sorted): %s", ", ".join(classes))
    return dataclasses.replace(cfg, data=dataclasses.replace(d, classes=classes))


def resolve_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """The configuration as a run uses it and writes to its config.yaml (``mmnet train --print-config`` prints
    it), without reading data: the label scheme's classes (they decide the head's size), absolute data paths,
    and for long videos saved fold models. The ``table`` dataset's classes, when not given, are its table's labels
    (the table is read). The one resolver: ``mmnet train``, each setting of ``mmnet sweep`` and ``--print-config``
    call it, and it gives a resolved config back unchanged.

    ``mmnet.config.load_config`` gives the configuration as written (``data.classes`` None, ``model.num_classes``
    at its default); this gives it as a run uses it::

        cfg = resolve_config(load_config("casme2_3class"))   # cfg.data.classes, cfg.model.num_classes filled
    """
    cfg = _with_table_classes(cfg)
    d = cfg.data
    verify_choice("data.dataset", d.dataset, tuple(sorted(DATASETS) + sorted(LONG_VIDEO_DATASETS)))
    scheme = resolve_scheme(d.scheme or default_scheme(d.dataset), d.classes, d.dataset)
    if (why := one_class(scheme.name, scheme.classes)) is not None:  # else "model.num_classes must be >= 2"
        raise ConfigError(why)
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
