"""Raw footage -> aligned face crops, clip by clip: resumable, parallel, all-or-nothing per clip.

The clips of an input are found by ``discover`` (``mmnet.preprocess.discover``: the CASME II and
SAMM raw layouts, a frames folder, a video). Per clip, the alignment is estimated once on the
onset frame (by default the lowest-numbered frame, which is the annotated onset for
CASME2_RAW_selected and SAMM) and applied to every frame; a sample of frames is checked to still show the
face there (``mmnet.preprocess.face_watch``: a warning, not a failure); frames are decoded one at a time and a
video is streamed (``mmnet.media``). Each clip is written to a private temporary folder, with a
marker holding its settings and record (``mmnet.preprocess.marker``), and renamed into place when
complete, so an output clip folder either holds every frame or does not exist. A rerun skips the
clips prepared with the same settings, lists those prepared with others, and refuses to run over
folders that mmnet did not write. A failing clip (no face, corrupt frame, undecodable video) is
recorded in the summary and the others go on.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, PreprocessError
from ..held_folders import HeldFolder, hold_new_folder, remove_unheld
from ..images import grey_bits, wide_grey
from ..media import PREPARE_SUMMARY as SUMMARY_NAME  # re-exported: its old home
from ..media import (
    PREPARED_MARKER,
    cut_short,
    declared_frame_count,
    frame_not_there,
    read_image,
    read_video_frames,
    stream_video,
)
from ..media_video import video_header
from ..utils import atomic_write_text, check_writable, interrupts_held
from .discover import IGNORED, LAYOUTS, ClipJob, desktop_note, discover, ignored_warning
from .exposure import dark_warning, depth_warning
from .face import CropGeometry, FaceAligner, require_face_extra
from .face_edge import face_edge_warning
from .face_watch import FACE_WATCH, FaceWatch, long_video_warning, several_faces_warning
from .landmarks import DEFAULT_LANDMARKS, landmark_count
from .marker import FolderState, folder_state, is_prepared, kept_message, read_record, write_marker
from .parallel import default_workers, run_in_workers
from .summary import ClipResult, PrepareSummary, default_summary_path, os_error_message

__all__ = [
    "LAYOUTS",
    "SUMMARY_NAME",
    "TMP_DIR_NAME",
    "ClipJob",
    "ClipResult",
    "PrepareSummary",
    "clip_settings",
    "discover",
    "process_clip",
    "prepare",
]

log = logging.getLogger(__name__)

TMP_DIR_NAME = ".mmnet-prepare-tmp"
MAX_LISTED = 10  # unreadable frames named in one message
#: How 16-bit grey frames are scaled to 8 bits (recorded: clips scaled otherwise before are not skipped)
GREY16_SCALING = "from the bits the clip's values use"


# ----------------------------------------------------------------------------------- one clip


def clip_settings(job: ClipJob, geometry: CropGeometry, quality: int, landmarks: int = DEFAULT_LANDMARKS) -> dict:
    """The settings that shape a clip's crops, recorded with it: a rerun with others does not skip it silently."""
    onset = job.onset if job.onset is not None else job.frames[0][0] if job.frames else 0
    settings = {"size": [geometry.width, geometry.height], "eye_y": geometry.eye_y, "iod": geometry.iod,
                "onset": onset, "quality": quality, "landmarks": landmarks}
    if job.video is None and job.frames and wide_grey(job.frames[0][1]):  # 8-bit clips' markers stay as they were
        settings["grey16"] = GREY16_SCALING
    return settings


def _save_jpeg(image: np.ndarray, path: Path, quality: int) -> None:
    from PIL import Image

    Image.fromarray(image).save(path, format="JPEG", quality=quality)


def _write_video(job: ClipJob, aligner: FaceAligner, tmp: Path, quality: int, result: ClipResult):
    onset = 0 if job.onset is None else job.onset  # a video's frames are counted from 0 (media.FRAME_NUMBERING)
    onset_image = read_video_frames(job.video, [onset]).get(onset)  # streams up to the onset only
    if onset_image is None:  # named with the frames that decode (a header's count may promise more)
        numbers = [frame.index for frame in stream_video(job.video)]  # lost frames leave their numbers out
        raise _ClipFailure("missing_onset", frame_not_there(f"onset frame {onset}", f"video '{job.video}'",
                                                            (0, numbers[-1], len(numbers))))
    alignment = _estimate(aligner, onset_image, f"frame {onset} of '{job.video}'")
    count, covered = 0, 0
    fps = video_header(job.video)[0]
    frames, watch = stream_video(job.video), FaceWatch(aligner, alignment.face.box, fps)
    for frame in frames:
        _save_jpeg(alignment.apply(frame.image), tmp / job.video_pattern.format(n=frame.index), quality)
        watch.see(frame.index, frame.image)
        count, covered = count + 1, frame.index + 1  # frames lost to damaged data leave their numbers out
    result.warnings += [f"video: '{job.video}': {note}" for note in frames.notes]
    result.warnings += [w for w in (face_edge_warning(alignment, onset_image.shape), watch.warning(),
                                    long_video_warning(job.video, fps, covered)) if w]
    result.face_watch = watch.record()
    declared = declared_frame_count(job.video)
    if cut_short(covered, declared):
        result.warnings.append(f"short_video: decoded {count} frames of '{job.video}', whose container declares "
                               f"{declared}: the file looks cut short (an interrupted copy or download); copy it "
                               "again and rerun with --force")
    return onset, alignment, count, alignment.apply(onset_image)


def _write_frames(job: ClipJob, aligner: FaceAligner, tmp: Path, quality: int, result: ClipResult) -> None:
    """Estimate on the onset, then warp and write every frame into ``tmp``."""
    if job.video is not None:
        onset, alignment, count, onset_crop = _write_video(job, aligner, tmp, quality, result)
    else:
        numbers = [n for n, _, _ in job.frames]
        onset = numbers[0] if job.onset is None else job.onset
        if onset not in numbers:
            raise _ClipFailure("missing_onset",
                               f"onset frame {onset} is not on disk (frames {numbers[0]}..{numbers[-1]})")
        onset_path = job.frames[numbers.index(onset)][1]
        unreadable: list[str] = []
        depth = grey_bits(src for _, src, _ in job.frames)  # 16-bit frames: one scale for the whole clip
        bits = depth and depth[0]
        onset_image = _read(onset_path, unreadable, bits)
        alignment = None if onset_image is None else _estimate(aligner, onset_image, f"onset frame '{onset_path}'")
        watch = alignment and FaceWatch(aligner, alignment.face.box, last=numbers[-1])
        for number, src, name in job.frames:
            image = _read(src, unreadable, bits)
            if image is None or unreadable:  # the clip fails: only look for the other unreadable frames
                continue
            if image.shape[:2] != onset_image.shape[:2]:  # the onset's alignment would crop the wrong place
                (h, w), (oh, ow) = image.shape[:2], onset_image.shape[:2]
                raise _ClipFailure("frame_size", f"frame '{src}' is {w}x{h}, the onset frame '{onset_path}' "
                                   f"{ow}x{oh}: one alignment cannot crop both; re-extract the clip's frames at "
                                   "one size")
            _save_jpeg(alignment.apply(image), tmp / name, quality)
            watch.see(number, image)
        if unreadable:
            shown = unreadable[:MAX_LISTED]
            which = f", the first {len(shown)}" if len(unreadable) > len(shown) else ""
            raise _ClipFailure("corrupt_frame", shown[0] if len(unreadable) == 1 else
                               f"{len(unreadable)} frames cannot be read{which}: " + " ".join(shown))
        count = len(job.frames)
        result.warnings += [w for w in (depth_warning(depth), face_edge_warning(alignment, onset_image.shape),
                                        watch.warning()) if w]
        result.face_watch = watch.record()
        onset_crop = alignment.apply(onset_image)
    result.n_frames = count
    result.alignment = {"onset": onset, **alignment.to_dict()}
    result.warnings += [w for w in (several_faces_warning(alignment), dark_warning(onset_crop, "onset frame")) if w]


class _ClipFailure(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _read(path: Path, unreadable: list[str], bits: int | None = None) -> np.ndarray | None:
    """uint8 (H, W) for greyscale frames (SAMM's stay greyscale), else (H, W, 3) RGB; None, with the
    reason added to ``unreadable`` once per file, when the frame cannot be decoded. ``bits``: see ``read_image``."""
    try:
        return read_image(path, bits)
    except DataError as exc:
        if str(exc) not in unreadable:  # the onset is read twice
            unreadable.append(str(exc))
        return None


def _estimate(aligner: FaceAligner, image: np.ndarray, where: str):
    try:
        return aligner.estimate(image)
    except PreprocessError as exc:
        raise _ClipFailure("no_face", f"{exc} on the {where}") from None


def _earlier_records(summary_path: str | Path | None) -> dict[str, dict]:
    """Clip id -> record of the clips an earlier summary lists as prepared ({} without one)."""
    try:
        clips = json.loads(Path(summary_path).read_text(encoding="utf-8"))["clips"]
        return {c["clip_id"]: c for c in clips if c.get("status") in ("ok", "skipped", "other_settings")}
    except (TypeError, OSError, ValueError, KeyError, AttributeError):
        return {}


def _settled(job: ClipJob, state: FolderState, settings: dict, earlier: dict) -> ClipResult:
    """The result of a clip prepared before, with its record (the marker's, else an earlier summary's)."""
    result = ClipResult(job.clip_id, "skipped", str(job.out_dir), warnings=ignored_warning(job))
    record = read_record(job.out_dir) or earlier
    result.n_frames, result.alignment = record.get("n_frames", 0), record.get("alignment")
    result.face_watch = record.get(FACE_WATCH)
    # the folder's files as listed now, not as recorded (an earlier mmnet's record names its desktop files too)
    kept = [w for w in record.get("warnings", []) if not (isinstance(w, str) and w.startswith(IGNORED))]
    result.warnings = list(dict.fromkeys(result.warnings + kept))
    if state is FolderState.DONE:
        result.message = "prepared before with the same settings (rerun with --force to redo it)"
    else:
        result.status = "other_settings"
        result.message = kept_message(job.out_dir, settings)
    return result


def process_clip(job: ClipJob, aligner: FaceAligner, *, tmp_root: Path, settings: dict,
                 quality: int = 95) -> ClipResult:
    """Prepare one clip, replacing an output folder only if mmnet wrote it; never raises for a problem of
    the clip itself (it is in the result)."""
    result = ClipResult(job.clip_id, "ok", str(job.out_dir), warnings=ignored_warning(job))
    if job.problem:
        result.status, result.reason, result.message = "failed", job.problem_reason, job.problem
        return result
    tmp = tmp_root / uuid.uuid4().hex
    tmp.mkdir(parents=True)
    try:
        _write_frames(job, aligner, tmp, quality, result)
        record = {"n_frames": result.n_frames, "alignment": result.alignment, "warnings": result.warnings,
                  FACE_WATCH: result.face_watch}  # the warning's spans as fields, for predict
        write_marker(tmp, settings, record)
        job.out_dir.parent.mkdir(parents=True, exist_ok=True)
        if job.out_dir.is_dir() and any(job.out_dir.iterdir()):
            if not (is_prepared(job.out_dir) or job.replace_unmarked):  # refused up front; this is the last guard
                raise _ClipFailure("error", f"output folder '{job.out_dir}' holds files mmnet did not write; "
                                   "give another --out or move the folder away")
            old = tmp_root / (uuid.uuid4().hex + "-old")  # moved aside first: a crash keeps one complete copy
            with interrupts_held():  # a stop (a worker ended by the main process) waits for both renames
                os.replace(job.out_dir, old)
                os.replace(tmp, job.out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, job.out_dir)  # also over an empty folder
    except _ClipFailure as exc:
        result.status, result.reason, result.message = "failed", exc.reason, str(exc)
    except DataError as exc:  # raised while decoding a video (frame files are read by _read)
        result.status, result.reason, result.message = "failed", "video_decode", str(exc)
    except OSError as exc:  # a full disk, most often: the file it concerns (not a temporary one) and what to do
        result.status, result.reason, result.message = "failed", "error", os_error_message(exc, job, tmp)
    except Exception as exc:  # a bug or an I/O error: keep the other clips going, report it in full
        result.status, result.reason, result.message = "failed", "error", f"{type(exc).__name__}: {exc}"
        # the one-line message says what, the traceback where: without it a bug report cannot be acted on
        log.error("clip %s failed with an unexpected error (if it is not about the files, please report it "
                  "with this traceback)", job.clip_id, exc_info=exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# ----------------------------------------------------------------------------------- running


_WORKER_ALIGNER: FaceAligner | None = None


@functools.lru_cache(maxsize=1)
def _shared_aligner(geometry: CropGeometry, landmarks: int = DEFAULT_LANDMARKS) -> FaceAligner:
    """In-process aligner, kept between calls: loading the 100 MB landmark model takes ~0.7 s."""
    return FaceAligner(geometry, landmarks=landmarks)


def _init_worker(geometry: CropGeometry, landmarks: int = DEFAULT_LANDMARKS) -> None:
    import cv2

    global _WORKER_ALIGNER
    cv2.setNumThreads(1)  # parallelism is over clips; threads inside each worker would oversubscribe
    _WORKER_ALIGNER = FaceAligner(geometry, landmarks=landmarks)


def _worker(job: ClipJob, tmp_root: Path, settings: dict, quality: int) -> ClipResult:
    assert _WORKER_ALIGNER is not None
    return process_clip(job, _WORKER_ALIGNER, tmp_root=tmp_root, settings=settings, quality=quality)


def _run_tmp_dir(out_root: Path) -> HeldFolder:
    """A private temporary folder for this run under ``out_root``, held while it runs; removes those of killed runs
    (their lock free), saying so: they hold face crops that nobody would otherwise find."""
    if removed := remove_unheld(base := out_root / TMP_DIR_NAME, "run-"):
        log.warning("removed %d temporary folder(s) of killed mmnet prepare runs, with the face crops they had "
                    "written: %s", len(removed), ", ".join(str(p) for p in removed))
    return hold_new_folder(base, "run-")


def prepare(source: str | Path, out: str | Path | None = None, *, layout: str = "auto", onset: int | None = None,
            geometry: CropGeometry | None = None, workers: int | None = None, force: bool = False,
            quality: int = 95, progress: bool = True, summary_path: str | Path | None = None,
            onsets: Mapping[str, int] | None = None, landmarks: int = DEFAULT_LANDMARKS,
            started: Callable[[], None] | None = None) -> PrepareSummary:
    """Align and crop every clip of ``source``; see the module docstring for layouts.

    Args:
        source, out, layout, onset: see ``discover``.
        geometry: crop layout (default ``CropGeometry()``, CASME II ``Cropped``-like).
        workers: processes, one clip each at a time; default: every available core.
        force: redo clips that mmnet prepared before (replaced atomically), whatever their settings.
        quality: JPEG quality of the crops.
        progress: show a tqdm progress bar over clips.
        summary_path: where to write the JSON summary; default ``<out>/prepare-summary.json`` for a
            dataset, none for a single clip. Written also when the run is interrupted.
        onsets: clip id -> onset frame number, overriding the first frame (e.g. from annotations).
        landmarks: the landmark model, 68 (dlib's iBUG 300-W model, non-commercial use only) or 5 points
            (``mmnet.preprocess.landmarks``); recorded with each clip, so a rerun with the other redoes nothing
            silently.
        started: called once the input and the output are checked, before the first clip is prepared.

    Returns:
        the summary; failed clips are listed in it, never raised.

    Raises:
        PreprocessError, ConfigError: the input cannot be read as clips, the output is the input (or
            inside it, or holds it), or an output folder exists that mmnet did not write (never
            replaced, even with ``force``: it may be the dataset's own crops).
    """
    landmarks = landmark_count(landmarks)
    require_face_extra(landmarks)
    geometry = geometry or CropGeometry()
    layout, out_root, jobs = discover(source, out, layout, onset)
    in_the_way = [j.out_dir for j in jobs if j.out_dir.exists() and not j.out_dir.is_dir()]
    if in_the_way:  # else the clip would count as "already done" and nothing be prepared
        raise ConfigError(f"Output '{in_the_way[0]}' is a file, where the folder of a clip's crops goes; give --out "
                          "a folder path (or move the file away).")
    if onsets:
        jobs = [dataclasses.replace(j, onset=onsets.get(j.clip_id, j.onset)) for j in jobs]
    settings = [clip_settings(j, geometry, quality, landmarks) for j in jobs]
    if summary_path is None:
        summary_path = default_summary_path(layout, out_root)
    if summary_path is not None:  # now, not after every clip is prepared: a path it cannot take is said first
        check_writable(summary_path)
    earlier = _earlier_records(summary_path)  # clips an mmnet without markers prepared: its summary lists them
    states = [folder_state(j.out_dir, s, listed=j.clip_id in earlier) for j, s in zip(jobs, settings)]
    foreign = [j.out_dir for j, state in zip(jobs, states) if state is FolderState.FOREIGN]
    if foreign:
        more = f" (and {len(foreign) - 1} more clip folders)" if len(foreign) > 1 else ""
        raise ConfigError(f"Output folder '{foreign[0]}'{more} exists and was not written by mmnet prepare (it has no "
                          f"{PREPARED_MARKER}): it may be the dataset's own crops, which prepare never replaces, even "
                          "with --force. Give another --out, or move the folder away (an earlier mmnet version wrote "
                          "no marker either: move such a folder away or delete it to prepare the clip again).")
    # an earlier mmnet's folders (listed in its summary) may be redone with --force like the marked ones
    jobs = [dataclasses.replace(j, replace_unmarked=True) if j.clip_id in earlier else j for j in jobs]
    workers = min(workers or default_workers(), len(jobs))
    held_tmp = _run_tmp_dir(out_root)
    tmp_root = held_tmp.path
    if started is not None:
        started()
    results: dict[int, ClipResult] = {}
    try:
        from tqdm.auto import tqdm

        from ..progress import bars_wanted

        bar = tqdm(total=len(jobs), unit="clip", desc="prepare", disable=not bars_wanted(progress))

        def settle(i: int, result: ClipResult) -> None:
            results[i] = result
            bar.update()

        todo = []
        for i, (job, state) in enumerate(zip(jobs, states)):  # clips prepared before are settled here
            if state is FolderState.ABSENT or force:
                todo.append(i)
            else:
                settle(i, _settled(job, state, settings[i], earlier.get(job.clip_id, {})))
        if workers <= 1 or len(todo) <= 1:
            aligner = _shared_aligner(geometry, landmarks) if todo else None
            for i in todo:
                settle(i, process_clip(jobs[i], aligner, tmp_root=tmp_root, settings=settings[i], quality=quality))
        else:  # a stop keeps the clips finished in every worker; a dead worker is a PreprocessError naming its clip
            run_in_workers({i: (jobs[i], tmp_root, settings[i], quality) for i in todo},
                           {i: jobs[i].clip_id for i in todo}, _worker, workers=workers, initializer=_init_worker,
                           initargs=(geometry, landmarks), notes=tmp_root, done=settle)
        bar.close()
    finally:
        held_tmp.release()
        try:
            tmp_root.parent.rmdir()  # only if no other run is using it
        except OSError:
            pass
        # also after Ctrl-C: the records of the clips finished so far (their markers hold them too)
        summary = PrepareSummary(layout, str(source), str(out_root), [results[i] for i in sorted(results)],
                                 interrupted=len(results) < len(jobs), notes=desktop_note(jobs))
        if summary_path is not None:
            atomic_write_text(summary_path, json.dumps(summary.to_dict(), indent=1) + "\n")
    return summary
