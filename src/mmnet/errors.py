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
    "UsageError",
    "CheckpointError",
    "DatasetNotFoundError",
    "AnnotationError",
    "DataError",
    "PreprocessError",
    "ExecutorError",
    "TrainingError",
    "PredictionError",
    "BootstrapError",
    "verify_choice",
    "install_hint",
    "is_out_of_memory",
    "Terminated",
    "HungUp",
    "EXIT_OK",
    "EXIT_INCOMPLETE",
    "EXIT_USAGE",
    "EXIT_ERROR",
    "EXIT_HUNG_UP",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_STOPPED",
]

# The commands' exit codes (the table of cli's docstring; EXIT_USAGE is argparse's own), here for cli and the run
# log alike.
EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143
EXIT_HUNG_UP = 129
EXIT_STOPPED = (EXIT_HUNG_UP, EXIT_INTERRUPTED, EXIT_TERMINATED)  # a signal stopped it: finished work kept


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an interrupt (by ``mmnet.cli``), so that a ``kill`` or a scheduler's stop unwinds as
    Ctrl-C does: temporaries removed, the same "finished work is kept" line. Unlike Ctrl-C it leaves cluster jobs
    running: a driver that is itself a batch job gets SIGTERM at its time limit, and a rerun follows the jobs."""


class HungUp(Terminated):
    """SIGHUP (its terminal, tmux pane or ssh session closed) turned into an interrupt by ``mmnet.cli``, as SIGTERM
    is: the command stops cleanly (exit code 129) instead of ending at once with its locks left behind."""


class MMNetError(Exception):
    """Base class of every error that a user can fix (bad input, missing file, bad option)."""


class ConfigError(MMNetError, ValueError):
    """An invalid configuration value or an unknown configuration key."""


class UsageError(ConfigError):
    """A needed argument missing from the command line: ``mmnet.cli`` shows the command's usage and exits 2, as
    argparse does for an argument it cannot parse (a caller from Python gets the ConfigError)."""


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


class BootstrapError(MMNetError, ValueError):
    """A bootstrap interval that cannot be drawn: nearly every resample lacks a class (classes in single subjects)."""


class PredictionError(MMNetError, ValueError):
    """A clip that cannot be classified as asked (no face where one is needed, non-finite network output)."""


# How torch words an allocation that failed: the CPU allocator ("DefaultCPUAllocator: can't allocate memory"),
# CUDA ("CUDA out of memory", torch.OutOfMemoryError, itself a RuntimeError), MPS ("MPS backend out of memory").
_OUT_OF_MEMORY = ("can't allocate memory", "out of memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says that memory ran out: a MemoryError, or torch's RuntimeError for a failed allocation."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(words in text for words in _OUT_OF_MEMORY)


def install_hint(extra: str) -> str:
    """How to install an optional extra, e.g. ``pip install "onnx>=1.15" "onnxruntime>=1.17" (from a source
    checkout: pip install -e ".[onnx]")``. The packages come from the installed distribution's metadata, so the
    command works after a wheel install too (mmnet is not on the package index: asking it for mmnet with an extra
    would fetch nothing, or another package)."""
    packages = [_shell_word(p) for p in _extra_requirements(extra)]
    checkout = f'pip install -e ".[{extra}]"'
    if not packages:  # no metadata (run from a bare source tree): only the checkout command is known
        return f"{checkout} in the mmnet checkout"
    return f"pip install {' '.join(packages)} (from a source checkout: {checkout})"


def _extra_requirements(extra: str) -> list[str]:
    """The requirements that extra ``extra`` adds, from the Requires-Dist lines of the installed mmnet."""
    import re
    from importlib import metadata

    try:
        requires = metadata.requires("mmnet") or []
    except metadata.PackageNotFoundError:
        return []
    this_extra = re.compile(rf"""\bextra\s*==\s*["']{re.escape(extra)}["']""")
    return [req.split(";", 1)[0].strip() for req in requires
            if ";" in req and this_extra.search(req.split(";", 1)[1])]


def _shell_word(requirement: str) -> str:
    """``requirement`` quoted when the shell would read its ``<``, ``>`` or brackets."""
    return requirement if all(c.isalnum() or c in "._-=" for c in requirement) else f'"{requirement}"'


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
