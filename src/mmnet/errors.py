"""One exception hierarchy for user-facing errors.

Library code raises these; only ``mmnet.cli`` catches them, prints one line per problem and exits
with code 3 (2 is argparse's usage error). The double inheritance keeps ``except FileNotFoundError``
/ ``except ValueError`` working for callers that use the standard exceptions.
"""

from __future__ import annotations

__all__ = [
    "did_you_mean",
    "MMNetError",
    "ConfigError",
    "CheckpointError",
    "DatasetNotFoundError",
    "AnnotationError",
    "DataError",
    "PreprocessError",
    "ExecutorError",
    "TrainingError",
    "PredictionError",
    "verify_choice",
    "install_hint",
]


class MMNetError(Exception):
    """Base class of every error that a user can fix (bad input, missing file, bad option)."""


class ConfigError(MMNetError, ValueError):
    """An invalid configuration value or an unknown configuration key."""


class CheckpointError(MMNetError, ValueError):
    """A file that is not a (valid) checkpoint of the expected kind."""


class DatasetNotFoundError(MMNetError, FileNotFoundError):
    """A dataset root, annotation file or frame folder that is not where it should be."""


class AnnotationError(MMNetError, ValueError):
    """An annotation table whose content cannot be used (names the file, row and column)."""


class DataError(MMNetError, ValueError):
    """A sample whose frames are missing, unreadable or inconsistent with its annotation."""


class PreprocessError(MMNetError, RuntimeError):
    """Face preprocessing failed for a clip (no face, corrupt frame, undecodable video)."""


class ExecutorError(MMNetError, RuntimeError):
    """Folds that could not run on the executor (cluster unreachable, too small, or folds failed)."""


class TrainingError(MMNetError, RuntimeError):
    """Training that cannot go on as configured (a loss that became NaN or infinite)."""


class PredictionError(MMNetError, ValueError):
    """A clip that cannot be classified as asked (no face where one is needed, non-finite network output)."""


def install_hint(extra: str) -> str:
    """How to install an optional extra. mmnet is installed from its checkout (it is not on PyPI under
    this name), so asking the package index for "mmnet" with an extra would fetch nothing, or another package."""
    return (f'pip install -e ".[{extra}]" in the mmnet checkout '
            f"(or there: MMNET_EXTRAS={extra} bash scripts/bootstrap.sh)")


def verify_choice(name: str, value: object, choices) -> object:
    """Return ``value`` if it is one of ``choices``, else raise a ConfigError listing them."""
    if value not in choices:
        valid = ", ".join(str(c) for c in choices)
        raise ConfigError(f"Unknown {name} {value!r}. Valid values are {{{valid}}}.")
    return value


def did_you_mean(name: str, candidates) -> str:
    """`` Did you mean X?`` for a mistyped ``name`` (``""`` when nothing is close): a candidate with the same last
    part (``pp`` -> ``micro.pp``, ``train.image_size`` -> ``data.image_size``), else a close spelling."""
    import difflib

    candidates = list(dict.fromkeys(str(c) for c in candidates))
    leaf = name.rsplit(".", 1)[-1]
    close = [c for c in candidates if c != name and c.rsplit(".", 1)[-1] == leaf]
    if not close:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:  # the last parts alone: "micro.pq" -> micro.p, micro.pp
        by_leaf = {}
        for c in candidates:
            by_leaf.setdefault(c.rsplit(".", 1)[-1], []).append(c)
        close = [c for match in difflib.get_close_matches(leaf, list(by_leaf), n=3, cutoff=0.6) for c in by_leaf[match]]
    return f" Did you mean {' or '.join(close[:3])}?" if close else ""
