"""Names a package imports on first use: ``mmnet.model`` and ``mmnet.infer`` keep torch (~1.5 s) out of
``import mmnet.config`` and of the commands that refuse bad input before any model loads."""

from __future__ import annotations

from importlib import import_module


def lazy_name(package: str, home: dict[str, str], name: str) -> object:
    """The value of ``name`` from the submodule ``home[name]`` of ``package`` (a module ``__getattr__``'s body).

    An unknown name raises AttributeError, so ``from package import submodule`` still imports the submodule."""
    if name not in home:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(import_module(f".{home[name]}", package), name)
