"""The MMNet network: CA blocks, main branch, PC module, the full model and the converter."""

from .convert import OFFICIAL_UNUSED_KEYS, convert_official_state_dict, load_official_checkpoint
from .mmnet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAIN_INPUTS,
    CheckpointInfo,
    MMNet,
    MMNetConfig,
    load_checkpoint,
    read_checkpoint,
)

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
