"""report.md's Configuration section: the headline settings of a run's config.yaml, then every value that differs
from the built-in defaults, each with its default. A default that depends on the dataset (data.scheme: None means
the dataset's own scheme) is compared as the run resolved it, so the dataset's scheme is not called a change."""

from __future__ import annotations

from ..choices import AUTHORS_FP32, AUTHORS_PRECISION
from ..config import DERIVED_KEYS, ExperimentConfig, config_to_dict, flatten_config, non_default_values
from ..data.schemes import DEFAULT_SCHEME
from .run_reader import config_value

__all__ = ["config_summary", "config_defaults", "configuration_lines", "HEADLINE_KEYS"]

HEADLINE_KEYS = ("data.dataset", "data.scheme", "data.protocol", "train.epochs", "train.batch_size", "train.lr",
                 "train.weight_decay", "eval.selection")


def _resolved_defaults(dataset: object) -> dict:
    """The built-in defaults by dotted key, data.scheme as a run of ``dataset`` resolves it."""
    defaults = flatten_config(config_to_dict(ExperimentConfig()))
    if defaults.get("data.scheme") is None and isinstance(dataset, str) and dataset in DEFAULT_SCHEME:
        defaults["data.scheme"] = DEFAULT_SCHEME[dataset]
    return defaults


def config_summary(cfg: dict, classes: list[str]) -> dict:
    """The headline settings, then every other value that differs from the built-in defaults (the
    authors' 5-class CASME II recipe; :func:`config_defaults` gives those defaults)."""
    out = {k: config_value(cfg, k) for k in HEADLINE_KEYS if config_value(cfg, k) is not None}
    out["classes"] = classes
    out["seeds"] = cfg.get("seeds")
    out.update({k: v for k, v in non_default_values(cfg).items() if k not in out and k != "seeds"})
    return out


def config_defaults(summary: dict) -> dict:
    """The built-in default of each key of a config summary whose value differs from it (data.scheme: the
    dataset's own scheme)."""
    defaults = _resolved_defaults(summary.get("data.dataset", ExperimentConfig().data.dataset))
    return {k: defaults[k] for k, v in summary.items() if k in defaults and defaults[k] != v and k not in DERIVED_KEYS}


def configuration_lines(report: dict) -> list[str]:
    """report.md's Configuration section."""
    changed = config_defaults(report["config_summary"])
    return ["## Configuration", "", "Headline settings, then every value that differs from the built-in defaults "
            "(the authors' 5-class CASME II recipe, docs/configuration.md):", "",
            *[f"- {k}: {v}" + (f" (default: {changed[k]})" if k in changed else "")
              for k, v in report["config_summary"].items()],
            *_precision_used(report),
            "", "Full resolved configuration: config.yaml.", ""]


def _precision_used(report: dict) -> list[str]:
    """The precision the run trained in, as a difference from the authors' recipe (they trained in fp32) when it is
    another: train.precision=auto picks bf16 where the hardware has it, which the config alone does not show."""
    summary, env = report["config_summary"], report.get("environment") or {}
    set_to = summary.get("train.precision")
    used = env.get("precision") or (set_to if set_to != "auto" else None)
    if used in (None, AUTHORS_PRECISION):
        return []
    source = "env.json" if env.get("precision") else "train.precision"
    return [f"- precision used: {used} ({source}); {AUTHORS_FP32}"]
