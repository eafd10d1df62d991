"""Videos decoded as a stream: one frame at a time, with its index and its time in seconds.

PyAV (extra ``video``) decodes when installed, OpenCV (extra ``face``) otherwise. Frames are turned upright as
players show them (``upright``). A video's frame is its decode index counted from 0 (``media.FRAME_NUMBERING``).
``mmnet.media`` re-exports the names in ``__all__``: import them from there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, install_hint
from .media_damage import dropped_note, ends_damaged, jump_note, lost_note, no_drops_found
from .media_drops import dropped_runs, drops_unsought, recorded_rate
from .media_libav import errors_said, forget_uncaptured, libav_lines, says_damage

__all__ = ["EXTRACT_FRAMES", "EXTRACT_THE_FRAMES", "GIVE_VIDEO_OR_FRAMES", "VideoFrame", "VideoStream", "stream_video",
           "upright", "video_header", "MAX_BAD_PACKETS", "MAX_LOST_SECONDS"]

# The remedies of the messages below, named so that the server can reword them for an upload (serve.messages).
EXTRACT_FRAMES = "extract its frames to a folder"
EXTRACT_THE_FRAMES = "extract the frames to a folder"
GIVE_VIDEO_OR_FRAMES = "give a video file, or its frames in a folder."

_NO_DECODER = ("Cannot decode video '{path}': no video decoder is installed. Install PyAV with: "
               + install_hint("video") + f", or {EXTRACT_THE_FRAMES}.")


@dataclass(frozen=True)
class VideoFrame:
    """One decoded video frame: its number (from 0; by its time where frames were lost or a camera dropped them,
    so numbers may be missing), time in seconds, RGB image."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 RGB


class VideoStream(Iterator[VideoFrame]):
    """What ``stream_video`` returns: the frames one at a time, and ``notes``, what a user should know about how
    they were read (the stream and frame rate chosen, frames that could not be decoded, a jump of their times,
    interlaced or non-square pixels), complete once the iteration has ended."""

    def __init__(self, decode, path: Path):
        self.notes: list[str] = []
        self._frames = _checked(decode(path, self.notes), path)

    def __next__(self) -> VideoFrame:
        return next(self._frames)

    def close(self) -> None:
        """Close the decoder now (also done when the iteration ends or the stream is garbage-collected)."""
        self._frames.close()


def stream_video(path: str | Path) -> VideoStream:
    """Decode a video one frame at a time; nothing is kept once a frame has been yielded.

    The file and the decoder are checked here; decoding errors are raised while iterating. The
    decoder is closed when the iteration ends or the iterator is closed (or garbage-collected).
    Frames that cannot be decoded are skipped (``MAX_BAD_PACKETS`` in a row end the video with an
    error): the frames after them keep the numbers their times give, and ``notes`` names the lost ones; a jump of
    the times longer than ``MAX_LOST_SECONDS`` is the clock's, counted on from and noted. Frames a camera dropped
    from a constant-rate recording (``media_drops``) are missing numbers too, named in ``notes``.

    Raises:
        DataError: the file is missing, empty (0 bytes), cannot be decoded or holds no video frame;
            or no decoder is installed.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Video '{p}' does not exist.")
    if p.stat().st_size == 0:  # the decoder's own words for it ("Invalid data found") blame the format
        raise DataError(f"Video '{p}' is empty (0 bytes): nothing was written into it, as after an interrupted "
                        "copy or download; copy it again, or give another video.")
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        return VideoStream(lambda path, notes: _stream_pyav(av, path, notes), p)
    try:
        import cv2
    except ImportError:
        raise DataError(_NO_DECODER.format(path=p)) from None
    return VideoStream(lambda path, notes: _stream_cv2(cv2, path, notes), p)


def _checked(frames: Iterator[VideoFrame], path: Path) -> Iterator[VideoFrame]:
    """Pass frames through; a video that ends before its first frame is an error."""
    count = 0
    try:
        for frame in frames:
            count += 1
            yield frame
    finally:
        frames.close()  # closes the decoder now, also when the caller stops early
    if count == 0:
        raise DataError(f"Video '{path}' holds no decodable video frame; check the file or {EXTRACT_FRAMES}.")


#: Packets in a row that fail to decode: past this many the rest of the file is taken as unreadable.
MAX_BAD_PACKETS = 50
#: In a damaged video, the most seconds of frames taken as lost at once (beyond its failed packets): a longer
#: jump of the frame times is a jump of the clock (joined camcorder files), not lost frames.
MAX_LOST_SECONDS = 3.0


def _stream_pyav(av, path: Path, notes: list[str]) -> Iterator[VideoFrame]:
    with libav_lines(av), open_pyav(av, path) as container:  # libav's threshold held until the last frame
        stream, which = pick_stream(container)
        if stream is None:
            raise DataError(f"Video '{path}' has no video stream (streams: {[s.type for s in container.streams]}); "
                            + GIVE_VIDEO_OR_FRAMES)
        rate, why = frame_rate(av, path, stream)
        timed = not why  # rates that disagree come with frame times out of order (AVI with B-frames)
        # frames a camera dropped while recording: numbered by their times, as a damaged file's lost frames
        drops = set(dropped_runs(av, path, stream, rate, MAX_LOST_SECONDS)) if timed and rate else set()
        notes += [n for n in (which, why, pixel_note(stream.sample_aspect_ratio, stream.width, stream.height)) if n]
        packets = container.demux(stream)  # packet by packet: at most a codec's delay is buffered
        start, expected, failed, damaged, lost, error = None, 0, 0, False, [], None
        failed_since_frame = 0  # packets that failed since the last frame: the frames they could have held
        shown, dropped = float("-inf"), 0  # the last frame's time; frames the damage left out of order
        while True:
            # the demuxer logs the data it skips (it raises nothing): caught here as damage
            with av.logging.Capture() as logs:
                try:
                    packet = next(packets, None)
                except _decode_errors(av) as exc:  # the container itself: nothing after this can be read
                    raise DataError(_undecodable(path, expected - 1, exc, video_header(path)[1])) from None
            if packet is None:
                break
            forget_uncaptured()
            try:  # the decoder's lines (from its threads too) are not captured here: its errors raise
                decoded = packet.decode()
                failed = failed if packet.size == 0 else 0  # the last, empty packet only flushes the decoder
            except _decode_errors(av) as exc:
                decoded, failed, error = [], failed + 1, exc
                failed_since_frame += 1
                if failed >= MAX_BAD_PACKETS:
                    raise DataError(_undecodable(path, expected - 1, exc, video_header(path)[1])) from None
            damaged = damaged or says_damage(logs) or failed > 0
            for frame in decoded:
                index = expected
                if frame.time is not None and timed:
                    start = frame.time if start is None else start
                    time = frame.time - start
                    if (damaged or drops) and rate:  # frames were lost: their times keep later frames' numbers right
                        if shown - MAX_LOST_SECONDS < time < shown:  # a leftover of the damage: not a later frame
                            dropped += 1
                            continue
                        index = max(expected, round(time * rate))
                        if index - expected > max(failed_since_frame, MAX_LOST_SECONDS * rate):
                            # more than the damage could have lost: the clock jumped (joined recordings)
                            notes.append(jump_note(expected, time - expected / rate))
                            start, time, index = frame.time - expected / rate, expected / rate, expected
                else:
                    time = index / rate if rate else float("nan")
                if index > expected:
                    lost.append((expected, index - 1))
                if index == 0 and frame.interlaced_frame:
                    notes.append(INTERLACED)
                expected, failed_since_frame, shown = index + 1, 0, time
                turn = frame.rotation  # PyAV >= 14.1 (the video extra's floor)
                yield VideoFrame(index, time, upright(frame.to_ndarray(format="rgb24"), turn))
        if failed and not expected:  # not one frame decodes
            raise DataError(_undecodable(path, expected - 1, error, video_header(path)[1]))
        if failed:  # no packet decodes after it: the file ends damaged, as a cut copy does; the frames before it stand
            notes.append(ends_damaged(expected, video_header(path)[1], error))
        skipped = [run for run in lost if run in drops]  # the camera's, found from the times before decoding
        damage = lost_note([run for run in lost if run not in drops], dropped)
        # said where drops were not looked for; a damaged file's frames are numbered by their times already
        seek = timed and rate and not (damaged or drops)
        unsought = drops_unsought(av, path, stream, rate, MAX_LOST_SECONDS) if seek else ""
        notes += [n for n in (dropped_note(skipped, rate), damage, unsought) if n]


def _decode_errors(av) -> tuple[type[Exception], ...]:
    return av.error.FFmpegError, ValueError, OSError


def _undecodable(path: Path, last: int, exc: Exception, declared: int | None) -> str:
    where = f"after frame {last}" if last >= 0 else "at its first frame"
    # a cut copy keeps its header: say so, the usual cause (an interrupted copy or download)
    cut = (f"{last + 1} of the {declared} frames its header declares decode: the file may be truncated; "
           "copy it again, ") if declared and declared > last + 1 else ""
    return f"Video '{path}' cannot be decoded {where} ({exc}); {cut}re-encode it or {EXTRACT_FRAMES}."


def open_pyav(av, path: Path):
    """The container of ``path`` opened with PyAV, or a DataError that says why not."""
    with av.logging.Capture() as logs, libav_lines(av):
        try:
            return av.open(str(path))
        except _decode_errors(av) as exc:
            said = " ".join([str(exc), *errors_said(logs, exc)])  # PyAV's message may end with the same line
    from .media_sniff import not_a_video, unfinished_mp4

    if "moov atom not found" in said and unfinished_mp4(path):
        raise DataError(f"Video '{path}' is incomplete: its index (the MP4 'moov' atom, written when a recording "
                        "ends) is missing, so the recording was not finished or the copy was cut short; copy the "
                        "file again in full, or give another video.")
    if what := not_a_video(path):  # a text file or a PDF named .mp4: the decoder's words say nothing of it
        raise DataError(f"Video '{path}' cannot be decoded: it is not a video, it looks like {what} (the decoder: "
                        f"{said.strip()}); give the video file itself (renaming a file to .mp4 does not make it one).")
    raise DataError(f"Video '{path}' cannot be decoded ({said.strip()}); re-encode it or {EXTRACT_FRAMES}.")


_DEFAULT, _ATTACHED_PIC = 0x1, 0x400  # libav's AV_DISPOSITION_DEFAULT and AV_DISPOSITION_ATTACHED_PIC (cover art)


def pick_stream(container):
    """(the video stream to read, a note naming it when the file holds several; "" otherwise): cover art is no
    video, then as ffmpeg picks: the default stream, else the largest."""
    def flags(stream) -> int:
        return int(getattr(stream.disposition, "value", stream.disposition) or 0)

    streams = [s for s in container.streams.video if not flags(s) & _ATTACHED_PIC]
    if not streams:
        return None, ""
    chosen = max(streams, key=lambda s: (bool(flags(s) & _DEFAULT), s.width * s.height))
    if len(streams) == 1:
        return chosen, ""
    return chosen, (f"the file holds {len(streams)} video streams; stream {chosen.index} ({chosen.width}x"
                    f"{chosen.height}{', the default' if flags(chosen) & _DEFAULT else ', the largest'}) is read")


def frame_rate(av, path: Path, stream) -> tuple[float | None, str]:
    """(frames per second, a note when the container's rates disagree). An AVI holding H.264 with B-frames
    declares an average rate twice the real one (it counts packets, not frames): when the two rates the
    container gives differ by a whole factor (the rate its packets' times step at, ``recorded_rate``, and the average
    too), the spacing of the first frames' times decides. ``recorded_rate`` stands for the guessed rate: libav guesses
    from the first frames, where one time off the grid moves it (to 60 fps for 30 fps, or to the average)."""
    average, guessed = stream.average_rate, stream.guessed_rate
    rate = float(average or guessed or 0) or None
    # measured always (the packets' times are read for the drop search anyway): libav may take the average, lowered
    # by the frames dropped, for its guess too, where an early time lies off the grid (28.3 and 28.3 for 30 fps)
    recorded = recorded_rate(av, path, stream) if average and guessed else None
    if average and guessed and all(_whole_factor(float(average), float(r)) for r in (guessed, recorded) if r):
        measured = _measured_rate(av, path, stream.index)
        if measured:
            close = [float(r) for r in (average, guessed) if abs(float(r) / measured - 1) < 0.02]
            measured = close[0] if close else measured  # the declared value, not its rounding from times
            return measured, _measured_note(measured, f"both {float(average):.4g} fps (its average) and "
                                                      f"{float(guessed):.4g} fps")
    guessed = recorded or guessed
    if average and guessed and abs(float(average) / float(guessed) - 1) > 1e-9 and dropped_runs(
            av, path, stream, float(guessed), MAX_LOST_SECONDS):
        return float(guessed), ""  # the average counts the frames a camera dropped: it recorded at the other
    return rate, ""


def _measured_note(measured: float, declared: str) -> str:
    return (f"{measured:.4g} fps is used, the spacing of the first frames' times: the container declares {declared}; "
            "frame i is taken to be at i / rate seconds")


def _cv2_rate(cv2, path: Path, declared: float) -> tuple[float | None, str]:
    """OpenCV's rate, or in an AVI (``frame_rate``: one with B-frames) the first frames' spacing where that rate is a
    whole multiple of it; elsewhere a spacing that differs is a variable rate, which ``TimedFrames`` notes."""
    if not declared or path.suffix.lower() != ".avi":
        return declared or None, ""
    capture = cv2.VideoCapture(str(path))
    try:
        times = [capture.get(cv2.CAP_PROP_POS_MSEC) for _ in range(30) if capture.grab()]
    finally:
        capture.release()
    steps = np.diff(sorted(times))
    steps = steps[steps > 0]
    measured = 1000 / float(np.median(steps)) if steps.size else None
    if not measured or not _whole_factor(declared, measured):
        return declared, ""
    factor = round(max(declared, measured) / min(declared, measured))
    measured = declared / factor if declared > measured else declared * factor  # exact, not the times' rounding
    return measured, _measured_note(measured, f"{declared:.4g} fps")


def _whole_factor(a: float, b: float) -> bool:
    ratio = max(a, b) / min(a, b)
    return ratio > 1.5 and abs(ratio - round(ratio)) < 0.05


def _measured_rate(av, path: Path, index: int, frames: int = 30) -> float | None:
    """1 / the median spacing of the first ``frames`` frames' times (sorted: some files give them out of order)."""
    try:
        with libav_lines(av), av.open(str(path)) as container:
            times = [f.time for f, _ in zip(container.decode(container.streams[index]), range(frames))]
    except _decode_errors(av):
        return None
    steps = np.diff(sorted(t for t in times if t is not None))
    steps = steps[steps > 0]
    return 1.0 / float(np.median(steps)) if steps.size else None


INTERLACED = ("the video is interlaced (each frame holds two fields recorded 1/50 or 1/60 s apart): moving edges "
              "are combed, which disturbs the measured motion and the face's outline; deinterlace it first for "
              "better results (e.g. ffmpeg -i in.mts -vf yadif out.mp4)")


def pixel_note(aspect, width: int, height: int) -> str:
    """A note when the pixels are not square (``aspect``, the sample aspect ratio, not 1): frames are read as
    stored, so faces look stretched and motion is measured in stored pixels; "" for square pixels."""
    if not aspect or float(aspect) <= 0 or abs(float(aspect) - 1) < 1e-3:
        return ""
    shown = round(width * float(aspect))
    return (f"its pixels are not square (sample aspect ratio {float(aspect):.4g}): the {width}x{height} frames are "
            f"read as stored, not as shown ({shown}x{height}), so faces look stretched and motion is measured in "
            "stored pixels; scale it to square pixels first for face geometry as shown "
            "(e.g. ffmpeg -i in.mp4 -vf scale=iw*sar:ih,setsar=1 out.mp4)")


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """A frame turned as players show it: ``rotation`` is the display matrix's counter-clockwise angle in degrees
    (PyAV's ``frame.rotation``; a phone held upright stores its pixels sideways, -90). OpenCV turns frames so
    itself (``CAP_PROP_ORIENTATION_AUTO``), so both decoders give the same picture."""
    turns = round((rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _stream_cv2(cv2, path: Path, notes: list[str]) -> Iterator[VideoFrame]:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            # OpenCV on Windows opens a file by its name in the ANSI code page: others fail like a broken file
            windows = (f"its path is not all ASCII, which OpenCV may fail to open on Windows: install PyAV with "
                       f"{install_hint('video')}, or move it to a path of ASCII characters only; else "
                       if sys.platform == "win32" and not str(path).isascii() else "")
            raise DataError(f"Video '{path}' cannot be opened by OpenCV; {windows}re-encode it or {EXTRACT_FRAMES}.")
        rate, why = _cv2_rate(cv2, path, capture.get(cv2.CAP_PROP_FPS))
        sar = (capture.get(cv2.CAP_PROP_SAR_NUM), capture.get(cv2.CAP_PROP_SAR_DEN))
        size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        notes += [n for n in [why, pixel_note(sar[0] / sar[1] if sar[1] > 0 else None, *size), no_drops_found()] if n]
        index, first = -1, None
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            index += 1
            shown = capture.get(cv2.CAP_PROP_POS_MSEC)  # the frame's own time, so a varying rate shows
            first = shown if first is None else first
            if (shown > first and not why) or not rate:
                time = (shown - first) / 1000.0
            else:  # a backend that gives no times
                time = index / rate
            yield VideoFrame(index, time, np.ascontiguousarray(bgr[:, :, ::-1]))  # OpenCV decodes to BGR
    finally:
        capture.release()


def pyav_header(av, path: Path, container) -> tuple[object, float | None, int | None, str]:
    """(the stream ``pick_stream`` reads, ``video_header``'s rate and count, ``frame_rate``'s note) of a container
    opened already: a caller that goes on to read its packets opens the file once."""
    stream, _ = pick_stream(container)
    if stream is None:
        return None, None, None, ""
    fps, why = frame_rate(av, path, stream)
    # the header's count is of packets: an MP4's include those its edit list hides, and an AVI with B-frames holds
    # more packets than frames; otherwise it survives a cut, unlike a duration
    if stream.frames and not why and "mp4" not in container.format.name:
        return stream, fps, int(stream.frames), why
    seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    if seconds is None and container.duration:  # Matroska, WebM: no count, the container's duration from its start
        seconds = (container.duration - (container.start_time or 0)) / 1e6
    return stream, fps, (round(seconds * fps) if seconds and fps else int(stream.frames)) or None, why


def video_header(path: str | Path) -> tuple[float | None, int | None]:
    """(frames per second, frame count) of the video stream ``stream_video`` reads; None where the container
    declares none (or the file cannot be opened: ``stream_video`` then says why). The rate is ``frame_rate``'s;
    the count is the header's, else (Matroska and WebM declare none; an MP4's counts the packets outside its edit
    list too) the stream's duration, less a start offset, x that rate. A truncated file keeps its header, so fewer
    frames decode than declared."""
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        try:
            with open_pyav(av, Path(path)) as container:
                return pyav_header(av, Path(path), container)[1:3]
        except (DataError, av.error.FFmpegError, ValueError, OSError, IndexError):
            return None, None
    try:
        import cv2
    except ImportError:
        return None, None
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return None, None
        declared, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        capture.release()
    fps = _cv2_rate(cv2, Path(path), declared)[0] if declared > 0 else None
    return fps, (round(count * fps / declared) if count > 0 and fps else None)
