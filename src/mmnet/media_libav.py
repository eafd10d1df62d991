"""libav's log lines while mmnet reads videos with PyAV: the demuxer's lines are how damaged data shows (it skips
it and raises nothing), so they must reach ``av.logging.Capture``; and none should reach the terminal, where they
would repeat what mmnet's own message says. Lines at WARNING are captured too: the MPEG-TS demuxer (camcorders'
.mts files) says of the data it skips only that a packet is corrupt, at WARNING (``says_damage``).

PyAV's log level and its skipping of repeated lines are process-wide, and a line reaches a capture only while its
level is within that threshold. The server decodes several videos at once (one thread each), so the threshold is
set once, when the first reader starts, and never switched while any reads: switching it per packet (as before) let
one thread's quiet window drop another thread's damage line. Lines said outside a thread's own capture (the
decoder's worker threads) go to one shared capture, emptied as it fills, instead of the terminal. The last reader
to finish puts the level, the skipping and the shared capture back as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_readers = 0
_restore = None  # what the first reader found: (level, skip_repeated, the shared capture to close)
_uncaptured: list = []  # the shared capture's lines (from libav's own threads): never read, so emptied
_ERROR = 16  # libav's AV_LOG_ERROR: lower levels are worse


@contextmanager
def libav_lines(av) -> Iterator[None]:
    """While reading: libav's lines at WARNING and above reach ``av.logging.Capture()`` in the reading thread, each
    one said (a line repeated from the same file read twice, or from another thread, is not skipped)."""
    global _readers, _restore, _uncaptured
    with _lock:
        if _readers == 0:
            level, skipping = av.logging.get_level(), av.logging.get_skip_repeated()
            shared = av.logging.Capture(local=False)
            _uncaptured = shared.__enter__()
            av.logging.set_level(av.logging.WARNING)
            av.logging.set_skip_repeated(False)
            _restore = (level, skipping, shared)
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0:
                level, skipping, shared = _restore
                av.logging.set_level(level)
                av.logging.set_skip_repeated(skipping)
                shared.__exit__(None, None, None)
                _restore, _uncaptured = None, []


def forget_uncaptured() -> None:
    """Empty the shared capture (called once a packet, so that a long damaged video does not pile lines up)."""
    _uncaptured.clear()


def says_damage(lines) -> bool:
    """Whether captured ``(level, name, message)`` lines tell of damaged data: an error, or a warning that a packet
    is corrupt (all the MPEG-TS demuxer says of the data it skips; other warnings are no damage)."""
    return any(level <= _ERROR or "corrupt" in message.lower() for level, _, message in lines)


def errors_said(lines, exc: Exception) -> list[str]:
    """The error lines among captured ``lines`` that the message of ``exc`` does not already hold (PyAV ends it
    with libav's last error line)."""
    return [message.strip() for level, _, message in lines if level <= _ERROR and message.strip() not in str(exc)]
