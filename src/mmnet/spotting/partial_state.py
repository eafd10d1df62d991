"""``mmnet spot --out DIR`` keeps its progress on a long recording: an interrupted run loses nothing that finished.

While the optical-flow spotter measures a recording, ``PartialSpot`` saves what it holds (``motion_state``: the
frames measured, their scores, gaps, the face followed and its alignment, the last k + 1 face crops) into
``DIR/.mmnet-spot-partial.npz`` every ``SAVE_EVERY_S`` seconds, on Ctrl-C and SIGTERM (after the frame being
measured) and on an error between two frames; once the whole recording is measured, its motion curves. The file
is one NumPy archive of arrays and a JSON document, read without pickle (a pickle runs code, and the folder may
be another user's), written whole or not at all (a temporary file renamed over it). With ``--checkpoint`` the
curves are joined by the intervals classified so far (``infer.kept_classification``, which checks them), so that
a rerun classifies only the rest. The learned spotter keeps its networks' outputs beside the motion state
(``learned_outputs``), and once the recording is measured, its own score curves in place of the motion curves.

A rerun of the same command continues from it when it is for the same recording, configuration, frame rate and
versions (``recording_key``), and for the learned spotter the same networks (``NetOutputs.key``); else it says
why and spots the recording from its start, leaving the file until its own first save replaces it. ``mmnet spot``
removes the file together with writing its results. ``progress_file`` reads it without trusting it.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .config import SpotConfig, config_key
from .motion_state import SCALES, MotionState, parse
from .progress_file import FRAME_BYTES, SLACK_BYTES, Damaged, ProgressArchive

__all__ = ["PartialSpot", "PARTIAL_NAME", "SAVE_EVERY_S", "STATE_FORMAT", "recording_key"]

PARTIAL_NAME = ".mmnet-spot-partial.npz"
SAVE_EVERY_S = 45.0  # seconds of spotting between two saves: at most this much is measured again after a kill -9
# A folder that takes no file: the spotting stops at its first save rather than run to a result it cannot write
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL = {errno.ENOSPC, errno.EDQUOT}  # so does a full disk, unless it still takes small files (the results)
STATE_FORMAT = 1  # the layout of the file; another one is not read
ENDS_BYTES = 1 << 20  # a video is recognised by its size, time and the SHA-256 of its first and last MiB


def recording_key(source: str | Path, fps: float, config: SpotConfig) -> dict:
    """What a saved progress must have been made from to be continued: the recording (a video's size, modification
    time and the SHA-256 of its first and last MiB, which hold its header and index: hashing a whole recording of
    hours, several GB, takes tens of seconds at every start; a frame folder's file names, sizes and times), the
    frame rate used, every spotter parameter and the versions that measure (mmnet, this file's format, the flow,
    OpenCV, the decoder, dlib)."""
    path = Path(source)
    versions = {"state": STATE_FORMAT, "mmnet": _version("mmnet"), "opencv": _opencv(), "flow": _flow_version()}
    if path.is_dir():
        from ..media import list_frames

        digest = hashlib.sha256()
        frames, _ = list_frames(path, numbered=True)
        for _, frame in frames:
            st = frame.stat()
            digest.update(f"{frame.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        recording = {"frames": len(frames), "listing_sha256": digest.hexdigest()}
    else:
        st = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            digest.update(f.read(ENDS_BYTES))
            f.seek(max(st.st_size - ENDS_BYTES, 0))
            digest.update(f.read(ENDS_BYTES))
        recording = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ends_sha256": digest.hexdigest()}
        versions["decoder"] = f"pyav {_version('av')}" if _version("av") else "opencv"
    if config.face.mode == "align":
        versions["dlib"] = _version("dlib")
    # the recording itself, whatever path names it (relative, from another folder, through a link)
    key = {"source": os.path.realpath(source), "recording": recording, "fps": float(fps), "config": config_key(config),
           "versions": versions}
    return json.loads(json.dumps(key))  # as it reads back: tuples are lists


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _opencv() -> str | None:
    try:
        import cv2
    except ImportError:
        return None
    return cv2.__version__


def _flow_version() -> int:
    from ..preprocess.flow import FLOW_VERSION

    return FLOW_VERSION


def _differs(saved: dict, key: dict) -> str | None:
    """Why a progress saved under ``saved`` does not continue this run (``key``), or None when it does."""
    if saved.get("source") != key["source"]:
        return f"it holds the progress on {saved.get('source')}, not on {key['source']}"
    if saved.get("recording") != key["recording"]:
        return f"{key['source']} changed since (its size, modification time or content differ)"
    if saved.get("fps") != key["fps"]:
        return f"it was measured at {saved.get('fps')} fps, this run at {key['fps']:g} fps"
    if saved.get("config") != key["config"]:
        then, now = _flat(saved.get("config") or {}), _flat(key["config"])
        changed = [f"{k} {then.get(k)} then, {now.get(k)} now" for k in sorted(set(then) | set(now))
                   if then.get(k) != now.get(k)]
        more = "; ..." if len(changed) > 4 else ""
        return "the spotter's parameters differ (" + "; ".join(changed[:4]) + more + ")"
    if saved.get("versions") != key["versions"]:
        then, now = saved.get("versions") or {}, key["versions"]
        changed = [f"{k} {then.get(k)} then, {now.get(k)} now" for k in sorted(set(then) | set(now))
                   if then.get(k) != now.get(k)]
        return "it was measured by other versions (" + "; ".join(changed) + ")"
    if saved.get("outputs") != key.get("outputs"):
        then, now = saved.get("outputs") or {}, key.get("outputs") or {}
        changed = sorted(k for k in set(then) | set(now) if then.get(k) != now.get(k))
        return "it was made by another spotter's networks or setup (" + ", ".join(changed) + " differ)"
    return None


def _flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in config.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


class PartialSpot:
    """The progress of one ``mmnet spot`` run, kept in ``folder`` (its --out).

    ``begin`` reads what an earlier run kept: ``resume`` (for ``extract_motion``) or ``curves`` (the fields of
    ``MotionCurves``, the whole recording measured). ``extract_motion`` calls ``tick`` between frames and
    ``save_motion`` when it stops; ``save_curves`` keeps the finished curves; ``interrupted`` says what is kept.
    With ``begin``'s ``outputs`` (the learned spotter's ``NetOutputs``), they are saved with the motion and
    ``resume["outputs"]`` holds those taken over.
    """

    def __init__(self, folder: str | Path, *, every_s: float | None = None, say=None):
        self.path = Path(folder) / PARTIAL_NAME
        self.every_s = SAVE_EVERY_S if every_s is None else every_s
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.key: dict | None = None
        self.outputs = None  # the learned spotter's NetOutputs, saved with the motion
        self.source, self.total = "", None
        self.resume: dict | None = None  # motion_state.parse's, when a run continues
        self.curves: dict | None = None  # MotionCurves' fields, when the whole recording was measured before
        self.classified: dict | None = None  # with the curves: the classification kept (as written, not checked)
        self.classified_count: tuple[int, int] | None = None  # (micro intervals done, of all) in the file
        self._curves_doc: tuple[dict, dict] | None = None  # the curves as written, for the classification's saves
        self.saved: int | None = None  # frames measured in the file (None: no file of this run's)
        self.finished = False  # the file holds the whole recording's curves
        self._last = time.monotonic()
        self._stop: int | None = None  # a signal that came while a frame was measured
        self._previous: dict[int, object] = {}
        self._broken = False

    # -- reading ---------------------------------------------------------------------------------
    def begin(self, source: str | Path, fps: float, config: SpotConfig, total: int | None, *,
              outputs=None) -> None:
        """Key this run; take over the progress in the folder when it continues this run, else say why not. A file
        that does not fit is not removed here: it stays until this run's first save replaces it (another
        recording sent to the same --out, or a typo in --set, costs nothing until this run has progress of its
        own). Prints one line either way (none when there is no file). ``outputs``: the learned spotter's
        ``NetOutputs``, whose networks are part of the key."""
        self.source, self.total, self.outputs = str(source), total, outputs
        self.key = recording_key(source, fps, config)
        if outputs is not None:
            self.key = {**self.key, "outputs": outputs.key}
        self._last = time.monotonic()
        for stale in self.path.parent.glob(f".{PARTIAL_NAME}.*.tmp"):  # left by a kill -9 mid-write
            stale.unlink(missing_ok=True)
        try:
            file = open(self.path, "rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.say(f"note: {self.path} cannot be read ({exc.strerror or exc}); {self.source} is spotted from its "
                     "start")
            return
        with file:
            self._take_over(file, fps, config, total)

    def _take_over(self, file, fps: float, config: SpotConfig, total: int | None) -> None:
        """``begin``'s, with the file open."""
        source = self.source
        try:
            archive = ProgressArchive(file, STATE_FORMAT)
        except Damaged as exc:
            self.say(f"note: {self.path} cannot be read ({exc}): it is damaged; it is kept until this run saves "
                     f"its own progress, and {self.source} is spotted from its start")
            return
        meta = archive.meta
        try:
            why = _differs(meta["key"], self.key)
            if why is None:  # only now are the arrays read, within what this recording's frames can need
                if total and archive.frames > 2 * total + 1000:  # a container's count can be off, not by that
                    raise Damaged(f"it holds {archive.frames} frames of a recording of {total}")
                crop = (config.face.height, config.face.width)
                window = max(config.frames_at(getattr(config, s).k, fps) for s in SCALES) + 1
                outputs = 0 if self.outputs is None else self.outputs.bound(archive.frames)
                arrays = archive.arrays(archive.frames * FRAME_BYTES + window * crop[0] * crop[1] + outputs
                                        + SLACK_BYTES)
                if meta["kind"] == "curves":
                    self.curves = _parse_curves(meta["curves"], arrays)
                    self.classified = meta.get("classified")
                else:
                    self.resume = parse(meta["motion"], arrays, crop, config.face.landmarks)
                    if self.outputs is not None:
                        self.resume["outputs"] = self.outputs.parse(arrays, archive.frames)
        except (Damaged, KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
            why = f"it cannot be read ({type(exc).__name__}: {str(exc)[:200]}): it is damaged"  # not _write's
        if why is not None:
            self.forget(why)
            return
        when = archive.saved_at
        if self.curves is not None:
            self.saved, self.finished = len(self.curves["numbers"]), True
            self.say(f"resuming {source}: its motion was measured to the end (saved {when}); spotting from there")
            return
        self.saved = len(self.resume["numbers"])
        how = ("the frames before it are not read again" if Path(source).is_dir() else
               "the video is decoded again up to there (it cannot be entered at an exact frame), not measured")
        self.say(f"resuming {source}: {_measured(self.saved, total)} (saved {when}); {how}")

    def forget(self, why: str) -> None:
        """Drop the progress taken over (``why`` it does not fit, said): the run starts again. The file stays
        until this run saves its own progress, which replaces it whole."""
        self.say(f"note: {self.path}: {why}; it is kept until this run saves its own progress, and {self.source} "
                 "is spotted from its start")
        self.resume = self.curves = self.saved = self.classified = None
        self.finished = False

    # -- saving ----------------------------------------------------------------------------------
    def tick(self, state: MotionState | None, save=None) -> None:
        """Between two frames: save when ``every_s`` has passed; after a Ctrl-C or SIGTERM held back, save and
        let it stop the run (``watching``). ``save(state)``: how (default ``save_motion``)."""
        if self._stop is None and time.monotonic() - self._last < self.every_s:
            return
        (save or self.save_motion)(state)
        if self._stop is not None:
            self._raise_stop()

    def save_motion(self, state: MotionState) -> None:
        """Keep what ``state`` holds (nothing when the file holds it already)."""
        if state.done in (0, self.saved) or self._broken:
            return
        meta, arrays = state.snapshot()
        if self.outputs is not None:  # the networks' outputs up to the same frame, in the same file
            arrays.update(self.outputs.snapshot())
        self._write("motion", {"motion": meta}, arrays, state.done)

    def save_curves(self, curves) -> None:
        """Keep the whole recording's ``MotionCurves``: a rerun after an interrupted classification need not
        measure it again (curves taken over are not written again, but kept for ``save_classified``). The learned
        spotter's curves hold the types it spots only."""
        meta = {"fps": float(curves.fps), "regions": list(curves.regions), "scales": list(curves.scores),
                "strides": {s: int(k) for s, k in curves.strides.items()},
                "gaps": [[int(a), int(b)] for a, b in curves.gaps],
                "realignments": [int(n) for n in curves.realignments],
                "notes": list(curves.notes), "missing": [[int(a), int(b)] for a, b in curves.missing],
                "faces": [[int(n), [int(v) for v in box]] for n, box in curves.faces]}
        arrays = {"numbers": np.asarray(curves.numbers, np.int64),
                  **{f"scores_{s}": np.asarray(curves.scores[s], np.float64) for s in curves.scores}}
        if getattr(curves, "times", None) is not None:  # a video's frame times, which the seconds come from
            arrays["times"] = np.asarray(curves.times, np.float64)
        self._curves_doc = (meta, arrays)
        if self.finished:
            return
        self._write("curves", {"curves": meta}, arrays, len(curves.numbers))
        self.finished = not self._broken

    def save_classified(self, classified: dict, done: int, of: int) -> None:
        """Keep ``classified`` (``kept_classification``'s document: ``done`` of the ``of`` micro intervals)
        beside the curves ``save_curves`` kept."""
        if self._curves_doc is None or not self.finished or self._broken:
            return
        meta, arrays = self._curves_doc
        self._write("curves", {"curves": meta, "classified": classified}, arrays, len(arrays["numbers"]))
        if not self._broken:
            self.classified_count = (done, of)

    def _write(self, kind: str, meta: dict, arrays: dict[str, np.ndarray], frames: int) -> None:
        from ..utils import atomic_write_bytes, writable

        document = {"format": STATE_FORMAT, "kind": kind, "key": self.key, "saved": time.time(), "frames": frames,
                    "total": self.total, **meta}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(json.dumps(document).encode("utf-8"), np.uint8), **arrays)
        try:
            atomic_write_bytes(self.path, buffer.getvalue())
        except OSError as exc:  # a disk with room for the results but not the progress stops the saving only
            self._broken = True  # no more saves, nor one on the way out of the error raised here
            if exc.errno in _REFUSED or (exc.errno in _FULL and not writable(self.path.parent / "intervals.csv")):
                raise  # the results could not be written there either: stop before the work
            self.say(f"note: the progress cannot be saved in {self.path} ({exc.strerror or exc}); spotting goes on, "
                     "but an interruption will lose it")
            return
        self.saved, self._last = frames, time.monotonic()

    # -- stopping --------------------------------------------------------------------------------
    @contextmanager
    def watching(self):
        """Hold Ctrl-C, SIGTERM and SIGHUP back until the frame being measured is done (``tick`` then saves and
        stops the run as they would have); a second stops it at once. Only in the main thread, where signals come."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def held(signum, frame):
            if self._stop is not None:  # asked twice: at once, with the last save kept
                self._stop = None
                self._call_previous(signum)
                return
            self._stop = signum

        for signum in (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])):
            previous = signal.getsignal(signum)
            if previous is not signal.SIG_IGN:
                self._previous[signum] = previous
                signal.signal(signum, held)
        try:
            yield
        finally:
            for signum, previous in self._previous.items():  # None: set outside Python, not to be set back
                signal.signal(signum, signal.SIG_DFL if previous is None else previous)
            try:
                if self._stop is not None:  # it came during the last frame: the run stops all the same
                    self._raise_stop()
            finally:
                self._previous.clear()

    def _raise_stop(self) -> None:
        signum, self._stop = self._stop, None
        self._call_previous(signum)

    def _call_previous(self, signum: int) -> None:
        """What the signal would have done: Python's KeyboardInterrupt, mmnet's ``cli.Terminated`` for SIGTERM, or
        the default action (the process ends as the signal ends it)."""
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, None)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def interrupted(self) -> str:
        """What an interrupted run kept, for the "interrupted: ..." line."""
        if self.key is None:  # stopped before the recording was opened: the folder is as it was
            return f"nothing was written; a rerun resumes from the progress kept in {self.path.parent}, if any"
        if self.finished:
            done, of = self.classified_count or (0, 0)
            classes = f" and the classification of {done} of its {of} micro-expressions" if done else ""
            return (f"the motion of the whole recording{classes} is kept in {self.path}; rerun the same command to "
                    "continue from there" + (" (it classifies the rest)" if 0 < done < of else ""))
        if self.saved:
            return (f"nothing was written, but the spotting ({_measured(self.saved, self.total)}) is kept in "
                    f"{self.path}; rerun the same command to resume from there")
        why = "it could not be saved, see above" if self._broken else f"the progress is kept every {self.every_s:g} s"
        return f"nothing was written or kept yet ({why}); a rerun spots the recording from its start"


def _measured(done: int, total: int | None) -> str:
    """How far the spotting went, as a count (frame folders are numbered from 1 or 1000, videos from 0)."""
    return f"{done} of {total} frames measured" if total else f"{done} frames measured"


def _parse_curves(meta: dict, arrays: dict[str, np.ndarray]) -> dict:
    """The fields of ``flow_spotter.MotionCurves`` from what ``save_curves`` wrote (ValueError, KeyError or
    TypeError when it is something else)."""
    numbers = arrays["numbers"]
    if numbers.ndim != 1 or numbers.dtype.kind != "i":
        raise ValueError(f"numbers are {numbers.shape} {numbers.dtype}")
    scales = meta.get("scales", SCALES)  # both, unless a learned spotter's of one type
    if not scales or any(s not in SCALES for s in scales) or len(set(scales)) != len(scales):
        raise ValueError(f"its scales are {scales!r}")
    scores = {str(s): arrays[f"scores_{s}"] for s in scales}
    regions = tuple(str(r) for r in meta["regions"])
    if any(v.shape != (len(numbers), len(regions)) or v.dtype != np.float64 for v in scores.values()):
        raise ValueError(f"scores are not ({len(numbers)}, {len(regions)}) float64")
    times = arrays.get("times")  # absent: a frame folder's, or kept by an earlier version (seconds at fps)
    if times is not None and (times.shape != numbers.shape or times.dtype != np.float64):
        raise ValueError(f"times are {times.shape} {times.dtype}")
    return {"fps": float(meta["fps"]), "numbers": numbers, "scores": scores, "regions": regions,
            "strides": {str(s): int(k) for s, k in meta["strides"].items()},
            "gaps": [(int(a), int(b)) for a, b in meta["gaps"]],
            "realignments": [int(n) for n in meta["realignments"]], "notes": [str(n) for n in meta["notes"]],
            "missing": [(int(a), int(b)) for a, b in meta["missing"]],
            "faces": [(int(n), tuple(int(v) for v in box)) for n, box in meta["faces"]], "times": times}
