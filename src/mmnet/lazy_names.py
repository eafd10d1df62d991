"""Names a package imports on first use: ``mmnet.model`` and ``mmnet.infer`` keep torch (~1.5 s) out of
``import mmnet.config`` and of the commands that refuse bad input before any model loads. Also the warning of
the modules of mmnet 0.1.0 that moved, kept one minor version for programs written against them."""

from __future__ import annotations

import warnings
from importlib import import_module

#: The version that removes the deprecated module names of mmnet 0.1.0 (mmnet.inference, mmnet.explain, ...).
REMOVED_IN = "0.3.0"


def lazy_name(package: str, home: dict[str, str], name: str) -> object:
    """The value of ``name`` from the submodule ``home[name]`` of ``package`` (a module ``__getattr__``'s body).

    An unknown name raises AttributeError, so ``from package import submodule`` still imports the submodule."""
    if name not in home:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(import_module(f".{home[name]}", package), name)


def warn_moved(old: str, new: str) -> None:
    """The DeprecationWarning a moved module of mmnet 0.1.0 gives when imported: where its names are now, and the
    version that removes it (called at the module's top level: the warning points at the import)."""
    warnings.warn(f"{old} moved to {new}: import from there; {old} will be removed in mmnet {REMOVED_IN}",
                  DeprecationWarning, stacklevel=3)


#: The names mmnet 0.1.0's ``mmnet.run_folder`` had for reading a run folder, each with its home in mmnet now.
RUN_FOLDER_MOVED = {"load_run": "report", "RunFolderError": "report", "Run": "report.run_reader",
                    "Fold": "report.run_reader"}


def moved_name(module: str, home: dict[str, str], name: str) -> object:
    """A module ``__getattr__``'s body for the names of ``module`` that moved to ``mmnet.<home[name]>``: the value,
    after a DeprecationWarning that names that home (an unknown name raises AttributeError)."""
    if name not in home:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} moved to mmnet.{home[name]}: import it from there; the old name will be "
                  f"removed in mmnet {REMOVED_IN}", DeprecationWarning, stacklevel=3)
    return lazy_name("mmnet", home, name)
