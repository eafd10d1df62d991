"""SLURM time limits (sbatch's ``--time`` formats) in minutes, as submitit takes them."""

from __future__ import annotations

import math
import re

from .errors import ConfigError

__all__ = ["slurm_minutes"]

_SLURM_TIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?")


def slurm_minutes(text: str) -> int:
    """A SLURM time limit (``MIN``, ``MIN:SS``, ``H:MM:SS``, ``D-H``, ``D-H:MM``, ``D-H:MM:SS``) in whole minutes.

    Written here because submitit takes minutes and no small library reads sbatch's formats.
    """
    m = _SLURM_TIME.fullmatch(str(text).strip())
    if not m:
        raise ConfigError(f"--slurm-time {text!r} is not a SLURM time limit: use minutes (90), H:MM:SS (4:00:00) "
                          "or D-H:MM:SS (1-12:00:00)")
    days, a, b, c = (int(x) if x is not None else None for x in m.groups())
    if days is not None:  # D-H, D-H:MM, D-H:MM:SS
        seconds = ((days * 24 + a) * 60 + (b or 0)) * 60 + (c or 0)
    elif c is not None:  # H:MM:SS
        seconds = (a * 60 + b) * 60 + c
    else:  # MIN or MIN:SS
        seconds = a * 60 + (b or 0)
    if seconds <= 0:
        raise ConfigError(f"--slurm-time must be positive, got {text!r}")
    return math.ceil(seconds / 60)
