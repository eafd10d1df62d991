"""A run or sweep called from Python: the process settings set back (:mod:`mmnet.process_state`) and its lines
kept off stderr without ``progress``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..process_state import restored_process_state
from ..progress import lines_silenced

__all__ = ["called_from_python"]


@contextmanager
def called_from_python(progress: bool) -> Iterator[None]:
    """A run or sweep called from Python: the process settings set back afterwards, and nothing on stderr
    without ``progress`` (the commands call the ``train_*`` functions directly and keep both)."""
    with restored_process_state(), lines_silenced(not progress):
        yield
