"""The MMNet network: CA blocks, main branch, PC module, the full model and the converter."""

from .convert import OFFICIAL_UNUSED_KEYS, convert_official_state_dict, load_official_checkpoint
from .mmnet import MAIN_INPUTS, MMNet, MMNetConfig, read_checkpoint

__all__ = [
    "MMNet",
    "MMNetConfig",
    "MAIN_INPUTS",
    "OFFICIAL_UNUSED_KEYS",
    "convert_official_state_dict",
    "load_official_checkpoint",
    "read_checkpoint",
]
