"""Where the clips of a ``mmnet prepare`` input are: dataset layouts, a frames folder, a video.

Layouts (``discover`` tells them apart when ``layout="auto"``):

* ``"casme2"``: ``CASME2_RAW_selected/subNN/CLIP/imgN.jpg`` (or ``CASME2-RAW``) under a dataset
  root -> ``<out>/Cropped/subNN/CLIP/reg_imgN.jpg`` (same frame numbers), the layout of CASME II's
  ``Cropped`` release, so the CASME II loader reads it as if it were the official crop;
* ``"samm"``: ``SAMM/SSS/CLIP/SSS_NNNNN.jpg`` -> ``<out>/SAMM_cropped/SSS/CLIP/SSS_NNNNN.jpg``
  (same names; greyscale stays greyscale);
* ``"frames"``: one folder of numbered images -> ``<out>/reg_imgN.jpg``;
* ``"video"``: one video file -> ``<out>/reg_imgN.jpg``, N the frame's decode index counted from 0
  (``mmnet.media.FRAME_NUMBERING``), so the folder's frame numbers equal the video's.

Frames are listed by ``mmnet.media.list_frames`` (numbered by the last run of digits; CASME II raw
frames by the number after ``img``). A clip folder that cannot be used (two files for one frame
number, images without numbers) becomes a job with a ``problem``: that clip fails, the others go on.
Clip folders that ``mmnet prepare`` wrote itself (a single clip's ``CLIP_aligned`` beside its
frames) are not clips. The output may not be the input, lie inside it or hold it: prepare would
write among the raw frames, and --force would replace them. The files a desktop adds beside frames (macOS's
AppleDouble '._NAME', '.DS_Store', Thumbs.db: ``mmnet.media.desktop_file``) are counted in one note for the run
(``desktop_note``), as the dataset loaders count them, not warned of per clip like other files that are not frames.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..choices import PREPARE_LAYOUTS as LAYOUTS
from ..errors import DataError, PreprocessError, verify_choice
from ..media import (
    DESKTOP_KINDS,
    FRAME_NAME,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    conversion_hint,
    desktop_file,
    is_image,
    is_video,
    list_frames,
)
from ..path_words import check_path
from ..shell_words import shell_quote
from .marker import is_prepared

__all__ = ["LAYOUTS", "CASME2_RAW_DIRS", "CASME2_OUT_DIR", "SAMM_RAW_DIR", "SAMM_OUT_DIR", "ClipJob", "discover",
           "IGNORED", "ignored_warning", "desktop_note"]

CASME2_RAW_DIRS = ("CASME2_RAW_selected", "CASME2-RAW", "CASME2_RAW")
CASME2_OUT_DIR = "Cropped"
SAMM_RAW_DIR = "SAMM"
SAMM_OUT_DIR = "SAMM_cropped"

_CASME2_FRAME = re.compile(r".*?img(\d+)\.[^.]+", re.IGNORECASE)  # imgN.jpg, N = frame number


@dataclass(frozen=True)
class ClipJob:
    """One clip to prepare.

    Attributes:
        clip_id: name used in messages and the summary (``"sub01/EP02_01f"``).
        out_dir: final folder of the crops (created by a rename when the clip is complete).
        frames: (number, source path, output file name) per frame, sorted by number; empty for a video.
        video: the video file, for a video clip.
        video_pattern: output name of video frame N.
        onset: frame number to estimate the alignment on; None = the first frame.
        ignored: files in the clip folder that are not frames (reported, not processed).
        desktop: the files a desktop added in the clip folder (``media.desktop_file``), counted in ``desktop_note``.
        problem: why the clip folder cannot be used (found while listing it); the clip then fails.
        problem_reason: the failure reason code of ``problem``.
    """

    clip_id: str
    out_dir: Path
    frames: tuple[tuple[int, Path, str], ...] = ()
    video: Path | None = None
    video_pattern: str = "reg_img{n}.jpg"
    onset: int | None = None
    ignored: tuple[str, ...] = ()
    desktop: tuple[Path, ...] = ()
    problem: str | None = None
    problem_reason: str = "bad_folder"
    replace_unmarked: bool = False  # its output folder is an earlier mmnet's, without a marker: --force may redo it


def _subdirs(folder: Path, pattern: str) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and re.fullmatch(pattern, d.name))


def _clip_job(clip_id: str, out_dir: Path, folder: Path, number: re.Pattern, rename, onset=None) -> ClipJob:
    try:
        frames, ignored = list_frames(folder, number)
    except DataError as exc:  # e.g. two files for one frame number: this clip fails, not the run
        return ClipJob(clip_id, out_dir, problem=str(exc))
    if not frames:
        try:
            list_frames(folder, number, numbered=True)  # names the images without a number, if any
        except DataError as exc:
            return ClipJob(clip_id, out_dir, problem=str(exc), problem_reason="no_frames")
        shown = ", ".join(ignored[:5]) + (" ..." if len(ignored) > 5 else "") if ignored else "nothing"
        return ClipJob(clip_id, out_dir, problem=f"no image files in '{folder}' (found: {shown}); frames are images "
                       f"({' '.join(IMAGE_SUFFIXES)}) numbered in their names, e.g. img12.jpg",
                       problem_reason="no_frames")
    return ClipJob(clip_id, out_dir, tuple((n, p, rename(n, p)) for n, p in frames), onset=onset,
                   ignored=tuple(n for n in ignored if not desktop_file(n)),
                   desktop=tuple(folder / n for n in ignored if desktop_file(n)))


#: How the warning on a clip's files that are not frames begins (``ignored_warning``).
IGNORED = "ignored "


def ignored_warning(job: ClipJob) -> list[str]:
    """The clip's warning on the files in its folder that are not frames, desktop files left out ([] if none)."""
    if not job.ignored:
        return []
    return [f"{IGNORED}{len(job.ignored)} file(s) that are not numbered frames: "
            + ", ".join(job.ignored[:5]) + (" ..." if len(job.ignored) > 5 else "")]


def desktop_note(jobs: list[ClipJob]) -> list[str]:
    """One note for the run on the desktop files beside the clips' frames, with their count and one's path ([] if
    none): a Mac's copy holds an AppleDouble '._NAME' beside every frame, too common to warn of per clip."""
    found = [job.desktop for job in jobs if job.desktop]
    if not found:
        return []
    # every kind media.desktop_file counts (DESKTOP_KINDS): any hidden file, not only a Mac's
    return [f"desktop_files: {sum(map(len, found))} hidden or macOS/Windows metadata file(s) ignored "
            f"({DESKTOP_KINDS}) in {len(found)} clip folder(s), e.g. "
            f"'{found[0][0]}': harmless, never read as frames"]


def _dataset_jobs(frames_root: Path, out_root: Path, subject_pattern: str, number: re.Pattern,
                  rename) -> list[ClipJob]:
    jobs = []
    for subject in _subdirs(frames_root, subject_pattern):
        for clip in sorted(d for d in subject.iterdir() if d.is_dir() and not d.name.startswith(".")):
            if is_prepared(clip):  # a single clip's crops (CLIP_aligned), written beside it by mmnet prepare
                continue
            jobs.append(_clip_job(f"{subject.name}/{clip.name}", out_root / subject.name / clip.name, clip, number,
                                  rename))
    return jobs


def _refuse_overlap(given: Path, source: Path, target: Path, outside: Path | None) -> None:
    """Refuse an output that is the input, lies inside it or holds it (``outside``: an output to suggest)."""
    src, dst = source.resolve(), target.resolve()
    how = "is" if dst == src else "lies inside" if src in dst.parents else "holds" if dst in src.parents else None
    if how:
        raise PreprocessError(f"the output folder '{target}' {how} the input '{given}': prepare would write among "
                              "the raw frames (and --force would replace them); give --out a folder outside the "
                              "input" + (f", e.g. '{outside}'" if outside else ""))


def _find_casme2(root: Path) -> tuple[Path, Path] | None:
    """(raw frames folder, dataset root) or None."""
    for name in CASME2_RAW_DIRS:
        if (root / name).is_dir():
            return root / name, root
    if root.is_dir() and _subdirs(root, r"sub\d+"):
        return root, root.parent
    return None


def _find_samm(root: Path) -> tuple[Path, Path] | None:
    if (root / SAMM_RAW_DIR).is_dir() and _subdirs(root / SAMM_RAW_DIR, r"\d{3}"):
        return root / SAMM_RAW_DIR, root
    if root.is_dir() and _subdirs(root, r"\d{3}"):
        return root, root.parent
    return None


def _has_frames(root: Path) -> bool:
    return root.is_dir() and any(is_image(p) for p in root.iterdir())


def discover(source: str | Path, out: str | Path | None = None, layout: str = "auto",
             onset: int | None = None) -> tuple[str, Path, list[ClipJob]]:
    """Work out the layout and the clips of ``source``: (layout, output root, jobs).

    Args:
        source: dataset root (or its raw frames folder), a frames folder, or a video file.
        out: output root; default: the dataset root for datasets (so ``Cropped/`` sits beside the
            annotation file), ``<source>_aligned`` for a frames folder, ``<video stem>_aligned`` for a video.
        layout: one of LAYOUTS; ``auto`` looks for the dataset folder names, then a video file,
            then a folder of images.
        onset: onset frame number for a single frames folder or video (default: the first frame).
    """
    verify_choice("layout", layout, LAYOUTS)
    given = Path(source)
    source = Path(os.path.abspath(given))  # "." has no name and is its own parent
    check_path(given, "Input", want=None, give="a dataset's folder, a folder of a clip's frames or a video",
               error=PreprocessError)
    if layout == "auto":
        if source.is_file():
            layout = "video"
        elif _find_casme2(source):
            layout = "casme2"
        elif _find_samm(source):
            layout = "samm"
        elif _has_frames(source):
            layout = "frames"
        elif videos := sorted(p.name for p in source.iterdir() if is_video(p)):
            example = source / videos[0]
            aligned = example.with_name(f"{example.stem}_aligned")
            raise PreprocessError(
                f"'{given}' is a folder of videos ({', '.join(videos[:3])}{' ...' if len(videos) > 3 else ''}): "
                f"prepare takes one video at a time; run it on each, e.g. mmnet prepare {shell_quote(example)} "
                f"--out {shell_quote(aligned)}")
        else:
            raise PreprocessError(
                f"cannot tell what '{given}' holds: expected a video file, a folder of numbered frames, a CASME II "
                f"root with {CASME2_RAW_DIRS[0]}/subNN/CLIP/imgN.jpg, or a SAMM root with SAMM/SSS/CLIP/SSS_NNNNN.jpg; "
                "name the layout with --layout")
    if layout in ("casme2", "samm") and onset is not None:
        raise PreprocessError("--onset applies to a single frames folder or video; dataset clips use their first "
                              "frame (the annotated onset of the released raw folders)")

    if layout == "casme2":
        found = _find_casme2(source)
        if found is None:
            raise PreprocessError(f"'{given}' has no {' / '.join(CASME2_RAW_DIRS)} folder and no subNN folders")
        frames_root, dataset_root = found
        out_root = Path(out) if out is not None else dataset_root
        _refuse_overlap(given, frames_root, out_root / CASME2_OUT_DIR, dataset_root if out is not None else None)
        jobs = _dataset_jobs(frames_root, out_root / CASME2_OUT_DIR, r"sub\d+", _CASME2_FRAME,
                             lambda n, p: f"reg_img{n}.jpg")
    elif layout == "samm":
        found = _find_samm(source)
        if found is None:
            raise PreprocessError(f"'{given}' has no SAMM/SSS folders (three-digit subject folders)")
        frames_root, dataset_root = found
        out_root = Path(out) if out is not None else dataset_root
        _refuse_overlap(given, frames_root, out_root / SAMM_OUT_DIR, dataset_root if out is not None else None)
        jobs = _dataset_jobs(frames_root, out_root / SAMM_OUT_DIR, r"\d{3}", FRAME_NAME,
                             lambda n, p: p.stem + ".jpg")
    elif layout == "video":
        if not source.is_file():
            raise PreprocessError(f"--layout video needs a video file, got the folder '{given}'")
        if is_image(source):  # one frame is no clip: predict and spot refuse it too
            raise PreprocessError(f"'{given}' is a single image; give a video file or a folder of numbered frames "
                                  "(a clip needs at least the onset and the apex)")
        if not is_video(source):  # as predict and spot: a GIF or zip gets its conversion hint
            raise PreprocessError(f"'{given}' is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a folder of "
                                  "frames." + conversion_hint(given))
        default = source.with_name(source.stem + "_aligned")
        out_dir = Path(out) if out is not None else default
        _refuse_overlap(given, source, out_dir, default)
        out_root = out_dir.parent  # its temporary folder: beside out_dir, which a finished clip is renamed to
        jobs = [ClipJob(source.name, out_dir, video=source, onset=onset)]
    else:
        if not source.is_dir():
            raise PreprocessError(f"--layout frames needs a folder of numbered images, got the file '{given}'")
        default = source.with_name(source.name + "_aligned")
        out_dir = Path(out) if out is not None else default
        _refuse_overlap(given, source, out_dir, default)
        out_root = out_dir.parent
        jobs = [_clip_job(source.name, out_dir, source, FRAME_NAME, lambda n, p: f"reg_img{n}.jpg", onset)]
    if not jobs:
        raise PreprocessError(f"no clips found under '{given}' for layout {layout!r}"
                              + (_expected(frames_root, layout) if layout in _SUBJECTS else ""))
    return layout, out_root, jobs


# layout -> (subject folder names, what a subject folder holds)
_SUBJECTS = {"casme2": (r"sub\d+", "subNN/CLIP/imgN.jpg"), "samm": (r"\d{3}", "SSS/CLIP/SSS_NNNNN.jpg")}
_SHOWN = 5  # skipped folders named in the message


def _expected(frames_root: Path, layout: str) -> str:
    """What a dataset layout expects under ``frames_root``, and the first folders that were skipped there."""
    pattern, below = _SUBJECTS[layout]
    subjects = _subdirs(frames_root, pattern)
    skipped = [f"{d.name}/ (not a subject folder)" for d in sorted(frames_root.iterdir())
               if d.is_dir() and not d.name.startswith(".") and d not in subjects]
    skipped += [f"{d.name}/ (no clip folder in it)" for d in subjects]  # else it would have given a clip
    listed = ", ".join(skipped[:_SHOWN]) + (f" and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else "")
    return (f": expected {frames_root.name}/{below}, one folder of frames per clip in each subject folder; skipped "
            f"in '{frames_root}': {listed or 'nothing, it holds no folder'}")
