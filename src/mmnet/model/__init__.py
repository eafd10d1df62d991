"""The MMNet network: CA blocks, main branch, PC module, the full model and the converter."""

from typing import TYPE_CHECKING

from ..lazy_names import lazy_name as _lazy_name
from .config import MAIN_INPUTS, MMNetConfig  # torch-free: mmnet.config reads the model section without torch

if TYPE_CHECKING:  # type checkers and IDEs see the public names; at run time they load lazily (below)
    from .convert import OFFICIAL_UNUSED_KEYS, convert_official_state_dict, load_official_checkpoint
    from .mmnet import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, MMNet, load_checkpoint, read_checkpoint

__all__ = [
    "MMNet",
    "MMNetConfig",
    "MAIN_INPUTS",
    "CheckpointInfo",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "load_checkpoint",
    "OFFICIAL_UNUSED_KEYS",
    "convert_official_state_dict",
    "load_official_checkpoint",
    "read_checkpoint",
]

# the submodule of each name that needs torch (about 1.5 s): imported on first use, so that `import mmnet.config`
# (which imports this package for MMNetConfig) does not load torch
_HOME = {
    "MMNet": "mmnet", "CheckpointInfo": "mmnet", "IMAGENET_MEAN": "mmnet", "IMAGENET_STD": "mmnet",
    "load_checkpoint": "mmnet", "read_checkpoint": "mmnet",
    "OFFICIAL_UNUSED_KEYS": "convert", "convert_official_state_dict": "convert", "load_official_checkpoint": "convert",
}

if not TYPE_CHECKING:  # hidden from type checkers: a module __getattr__ would make them accept any name

    def __getattr__(name: str) -> object:
        return _lazy_name(__name__, _HOME, name)


def __dir__() -> list[str]:
    # the lazy names are part of the package's API: listed (tab completion, dir())
    return sorted(set(globals()) | set(__all__))
