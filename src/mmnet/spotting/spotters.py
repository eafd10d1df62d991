"""Which class a spotting ``method`` names: the package's spotters by name (``SPOTTERS``), one's own by import path.

``SpotConfig.method`` is either a name registered in ``SPOTTERS`` ("flow", "learned") or ``"package.module:Class"``,
a subclass of ``mmnet.spotting.base.Spotter`` in an importable module (the interface: ``spotting/base.py``). A
registered class is named by ``"module:Class"``, not by the class itself: ``spotting/config.py`` checks ``method``
here while the classes import the config, so this module imports no other spotting module, and a class is
imported when it is first asked for (``spotter_class``).

A spotter of the package: implement the interface (subclass ``Spotter``), add it to ``SPOTTERS``;
``SpotConfig(method=...)``, ``make_spotter`` and ``load_spotter`` then know it, and tests/test_spotter_registry.py
saves and loads it back. A spotter of one's own needs no registration: its import path is its method.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .config import SpotConfig

__all__ = ["SPOTTERS", "check_method", "spotter_class", "make_spotter"]

#: method name -> "module:Class" of the spotter that implements it (``SpotConfig.method``).
SPOTTERS = {"flow": "mmnet.spotting.learned:FlowSpotter", "learned": "mmnet.spotting.learned:LearnedSpotter"}

_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_DO = ("A spotter of your own is a subclass of mmnet.spotting.base.Spotter, defined at the top level of a module "
       "that is importable where it runs (installed, or on PYTHONPATH), and named 'package.module:Class' "
       "(docs/spotting.md, \"A spotter of your own\").")


def check_method(method: str) -> None:
    """ConfigError unless ``method`` is registered or names an importable ``Spotter`` subclass (imported now, so
    that a wrong one is said when the config is made, not after the data is read)."""
    if method not in SPOTTERS:
        spotter_class(method)


def spotter_class(method: str) -> type:
    """The class ``method`` names: registered in ``SPOTTERS``, or imported from ``"package.module:Class"``."""
    if method in SPOTTERS:
        module, _, name = SPOTTERS[method].partition(":")
        return getattr(importlib.import_module(module), name)
    if ":" not in str(method):
        raise ConfigError(f"Unknown method {method!r}. Valid values are {{{', '.join(SPOTTERS)}}}, or a spotter of "
                          f"your own as 'package.module:Class'. {_DO}")
    if "<locals>" in method:
        raise ConfigError(f"method {method!r}: a class defined inside a function cannot be imported by name. {_DO}")
    if not _SPEC.match(method):
        raise ConfigError(f"method {method!r} is not of the form 'package.module:Class'. {_DO}")
    module_name, _, attr = method.partition(":")
    try:
        target = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"method {method!r}: module {exc.name or module_name!r} is not found (sys.path of this "
                          f"process). {_DO}") from None
    except Exception as exc:  # the user's module failed while importing: its own error, named
        raise ConfigError(f"method {method!r}: importing module {module_name!r} failed: {type(exc).__name__}: "
                          f"{exc}") from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"method {method!r}: module {module_name!r} has no attribute {attr!r}. {_DO}")
        target = getattr(target, part)
    # by name, as SPOTTERS: base imports the config, which imports this module
    base = importlib.import_module("mmnet.spotting.base").Spotter
    if not (isinstance(target, type) and issubclass(target, base)):
        raise ConfigError(f"method {method!r} is a {type(target).__name__}, not a subclass of "
                          f"mmnet.spotting.base.Spotter. {_DO}")
    return target


def make_spotter(config: SpotConfig, *, seed: int = 0, device: str = "cpu"):
    """The spotter ``config.method`` names ("flow" when the config has no method)."""
    return spotter_class(getattr(config, "method", "flow"))(config, seed=seed, device=device)
