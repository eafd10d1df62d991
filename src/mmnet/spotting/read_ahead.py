"""A recording's frames read on a thread of their own, a few ahead of the spotter that measures them.

Decoding a video frame and turning it into RGB (PyAV, OpenCV) costs about as much as the spotter's flow on it,
and both release the GIL: read on a second thread, the two run on two cores. ``ReadAhead`` streams the frames in
their order; what the reading raises (a damaged video's DataError, with its own message) is raised to the
spotter where that frame would have come, after the frames before it. Leaving the ``with`` block (the end, an
error, Ctrl-C) stops the reading thread, closes the frames it was reading (a decoder is let go) and waits for
it: none is left running.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["ReadAhead", "DEPTH"]

#: Frames read ahead at most: enough to even out a slow frame (a key frame, a face check), few enough to hold.
DEPTH = 3
_END = object()
_POLL_S = 0.05  # how often a reader waiting for room looks whether it is to stop


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


class ReadAhead:
    """``with ReadAhead(frames) as ahead: for item in ahead: ...`` streams ``frames`` read on another thread."""

    def __init__(self, frames: Iterable[Any], depth: int = DEPTH):
        self._frames = frames
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="mmnet-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reading (after the frame being read) and wait for its thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                exc, item = item.exc, None
                raise exc
            yield item

    def _read(self) -> None:
        try:
            frames = iter(self._frames)
            for item in frames:
                if not self._put(item):  # stopped: the spotter is done with the frames
                    close = getattr(frames, "close", None)
                    if close is not None:  # a decoder let go now, on the thread that ran it
                        close()
                    return
        except BaseException as exc:  # handed to the spotter, which raises it where the frame would have come
            self._put(_Raised(exc))
            return
        self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
