"""mmnet: micro-expression recognition with MMNet (Li et al., IJCAI 2022)."""

__version__ = "0.1.0"

from .model import (  # noqa: E402  (the version must exist before the model imports it)
    MMNet,
    MMNetConfig,
    convert_official_state_dict,
    load_official_checkpoint,
)

__all__ = [
    "__version__",
    "MMNet",
    "MMNetConfig",
    "convert_official_state_dict",
    "load_official_checkpoint",
]
