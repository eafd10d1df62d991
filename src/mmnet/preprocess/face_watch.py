"""Does the onset frame's crop still hold the face later in the clip? ``prepare``'s look at a sample of frames.

A clip is cropped with one alignment, measured on its onset frame (``mmnet.preprocess.face``): re-aligning frame
by frame would jitter as much as a micro-expression moves. A head that moves, or leaves, during the clip then
leaves the crop, and the crops show half a face or background. ``FaceWatch`` looks again, on every
``LOOK_EVERY_S`` of the clip and on its last frame, for the face near where the onset's was, and turns the looks
that find it moved (``MOVED_SHIFT`` box widths, or a ``MOVED_SCALE`` change of size) or find none into one warning
naming those frames, and into the same spans as fields of the clip's record (``record``: what ``mmnet predict``
reads back). The crops are not changed: the warning says where they no longer hold the face.

A look searches a window three face boxes wide around the onset's box, scaled so that the face is ``_SEEN_WIDTH``
px wide: it finds the face near its place rather than another one, at a cost that does not grow with the frame or
the face (measured: 10-40 ms a look on a CPU core, about what one detection over a whole 640x480 frame costs,
which the detector shrinks to 320 px first).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FaceWatch", "FACE_WATCH", "SPAN_KINDS", "LOOK_EVERY_S", "LOOK_EVERY_FRAMES", "MOVED_SHIFT",
           "MOVED_SCALE", "moved_face", "face_moved_beyond",
           "LONG_CLIP_S", "long_video_warning", "other_faces", "several_faces_warning"]

#: Seconds of a video between two looks; a frame folder (no rate) is looked at every ``LOOK_EVERY_FRAMES``.
LOOK_EVERY_S = 0.5
LOOK_EVERY_FRAMES = 15
#: Centre shift (in widths of the onset's face box) and size change (factor) past which a face has moved out of
#: its place in the crop. The detector's box moves by a few pixels and changes size by one step of its image
#: pyramid (1.2) on a still face; a quarter of a face is what the crop loses at the first threshold.
MOVED_SHIFT = 0.25
MOVED_SCALE = 1.3
#: The key of the clip's record (in its marker) that holds the watch's spans: ``FaceWatch.record``.
FACE_WATCH = "face_watch"
#: What a span's looks found: the face moved out of its place, or no face near it.
SPAN_KINDS = ("moved", "gone")
#: A video longer than this looks like a recording rather than a clip (as ``mmnet predict`` says).
LONG_CLIP_S = 3.0
_WINDOW = 1.0  # face box widths searched around the onset's box, on each side
_SEEN_WIDTH = 110  # px: the face box's width where it is looked for (dlib's HOG finds faces from 80 px)


def moved_face(onset_box, box) -> tuple[float, float]:
    """(centre shift in widths of ``onset_box``, size ratio (>= 1)) from ``onset_box`` to ``box``
    (left, top, right, bottom)."""
    width = max(onset_box[2] - onset_box[0], 1)
    shift = np.hypot((box[0] + box[2] - onset_box[0] - onset_box[2]) / 2,
                     (box[1] + box[3] - onset_box[1] - onset_box[3]) / 2) / width
    ratio = max(box[2] - box[0], 1) / width
    return float(shift), float(max(ratio, 1 / ratio))


def face_moved_beyond(shift: float, ratio: float) -> bool:
    """Whether a face that ``moved_face`` measured has left its place in the onset's crop: shifted over
    ``MOVED_SHIFT`` face widths or changed size over ``MOVED_SCALE`` times (prepare's warning, predict's refusal)."""
    return shift > MOVED_SHIFT or ratio > MOVED_SCALE


class FaceWatch:
    """Looks for the onset's face on a sample of a clip's frames while they are written.

    Args:
        aligner: a ``FaceAligner`` (its ``detect_once``; another object's ``detect``).
        onset_box: the onset face's detector box.
        fps: the video's frame rate, or None (a frame folder).
        last: the last frame's number when known (a frame folder), else it is the last one ``see`` is given.
    """

    def __init__(self, aligner, onset_box, fps: float | None = None, last: int | None = None):
        self.box, self.last = tuple(onset_box), last
        self.detect = getattr(aligner, "detect_once", None) or aligner.detect
        self.every = max(1, round(fps * LOOK_EVERY_S)) if fps else LOOK_EVERY_FRAMES
        self.looks: list[tuple[int, str]] = []  # (frame number, "ok" / "moved" / "gone")
        self._start: int | None = None
        self._held: tuple[int, np.ndarray] | None = None  # the latest frame not looked at (the last, in the end)

    def see(self, number: int, image: np.ndarray) -> None:
        """Called with every frame, in order; looks at one every ``self.every`` frames from the first, and at the
        last."""
        if self._start is None:
            self._start = number
        if (number - self._start) % self.every == 0 or number == self.last:
            self.looks.append((number, self.look(image)))
            self._held = None
        else:
            self._held = (number, image)

    def look(self, image: np.ndarray) -> str:
        """"ok", "moved" or "gone" for one frame."""
        left, top, right, bottom = self.box
        w, h = right - left, bottom - top
        x0, y0 = max(0, int(left - _WINDOW * w)), max(0, int(top - _WINDOW * h))
        x1, y1 = min(image.shape[1], int(right + _WINDOW * w)), min(image.shape[0], int(bottom + _WINDOW * h))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return "gone"
        import cv2

        # the window scaled so that the face is _SEEN_WIDTH wide: one detector pass finds it, at a cost that does
        # not grow with the frame or the face
        window, f = image[y0:y1, x0:x1], _SEEN_WIDTH / max(w, 1)
        size = (max(8, round(window.shape[1] * f)), max(8, round(window.shape[0] * f)))
        window = cv2.resize(np.ascontiguousarray(window), size, interpolation=cv2.INTER_AREA if f < 1 else
                            cv2.INTER_LINEAR)
        faces = self.detect(window)
        if not faces:
            return "gone"
        found = [moved_face(self.box, (b[0] / f + x0, b[1] / f + y0, b[2] / f + x0, b[3] / f + y0))
                 for b in (face.box for face in faces)]
        shift, ratio = min(found)  # the nearest face is the one followed
        return "moved" if face_moved_beyond(shift, ratio) else "ok"

    def spans(self) -> list[list]:
        """[first, last, "moved" | "gone"] of each run of consecutive looks that found the face away from its place
        (frame numbers as ``see`` was given them), in order; [] when every look found it in place."""
        if self._held is not None:  # the last frame, not looked at yet
            number, image = self._held
            self.looks.append((number, self.look(image)))
            self._held = None
        spans: list[list] = []  # [first, last, state] of consecutive looks that found the same
        for number, state in self.looks:
            if spans and spans[-1][2] == state:
                spans[-1][1] = number
            else:
                spans.append([number, number, state])
        return [span for span in spans if span[2] != "ok"]

    def record(self) -> dict:
        """What the clip's record keeps under ``FACE_WATCH``: ``{"step": frames between two looks, "spans":
        [[first, last, "moved" | "gone"], ...]}``; no spans when the face stayed in place."""
        return {"step": self.every, "spans": self.spans()}

    def warning(self) -> str | None:
        """The ``face_moved`` warning naming the frames whose crops no longer hold the face, or None."""
        kinds = {"moved": f"moved over {MOVED_SHIFT:g} face widths or changed size", "gone": "no face near its place"}
        listed = "; ".join((f"frame {a}" if a == b else f"frames {a}-{b}") + f" ({kinds[state]})"
                           for a, b, state in self.spans())
        if not listed:
            return None
        return (f"face_moved: the face is no longer where it was on the onset frame, so the crops (one alignment for "
                f"the clip, measured on the onset) show part of it or background: {listed}; looked at every "
                f"{self.every} frames and the last, so a span may extend up to {self.every - 1} frames beyond its "
                "first and its last frame (not past the clip's first or last frame). Trim the clip to the frames "
                "where the head stays still, or choose another --onset")


def other_faces(faces, face) -> tuple:
    """The detections of ``faces`` other than ``face``, best first: one rule for prepare's ``several_faces`` and
    spot's note, every detection over the detector's threshold. No score sets a face-like pattern (a badge or a print
    on clothing, 0.0-0.3) apart from a face: a synthetic second face in view scores 0.2-0.6 beside one of 1.05 at
    successive checks; the sentences name each box and score instead."""
    return tuple(f for f in faces if f is not face)


def several_faces_warning(alignment) -> str | None:
    """A sentence when the onset frame shows several faces (the highest-scoring one is cropped; ``other_faces``)."""
    if not alignment.other_faces:
        return None
    others = ", ".join(f"{f.score:.2f} at {list(f.box)}" for f in alignment.other_faces)
    return (f"several_faces: {1 + len(alignment.other_faces)} faces on the onset frame; used the highest-scoring "
            f"one (score {alignment.face.score:.2f} at {list(alignment.face.box)}), ignored: {others}")


def long_video_warning(video, fps: float | None, frames: int) -> str | None:
    """A sentence when a prepared video is longer than ``LONG_CLIP_S``: it looks like a recording."""
    if not fps or frames / fps <= LONG_CLIP_S:
        return None
    length = f"{frames / fps:.1f} s" if round(frames / fps, 1) > LONG_CLIP_S else f"over {LONG_CLIP_S:g} s"
    return (f"recording: '{video}' is {length} long ({frames} frames at {fps:g} fps): it looks like a "
            "recording, not one micro-expression (under half a second), and was cropped with one alignment. To find "
            "the expressions in it (the face followed as it moves), use `mmnet spot RECORDING`")
