"""The ids `mmnet spot --out` names the recording by in its MEGC files: the video id of spotting.csv and the subject
of str.csv."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def megc_ids(args: argparse.Namespace) -> tuple[str, str]:
    """The video id and subject of the MEGC files, refused (ConfigError) when MEGC's scorers could not read them back
    (``_named``); an id a spreadsheet runs as a formula is a warning (the MEGC files hold ids verbatim)."""
    from ..spotting.megc_files import formula_ids_warning

    video_id = _video_id(args)
    subject = _subject(args, video_id)
    ids = {video_id: ["spotting.csv"]}
    if args.checkpoint is not None:  # a subject named as the video is in both files
        ids.setdefault(subject, []).append("str.csv")
    if warning := formula_ids_warning(ids, "rename the recording (or give --video-id/--subject) and spot it again"):
        print(f"warning: {warning}", file=sys.stderr)
    return video_id, subject


def default_video_id(source: Path) -> str:
    """A recording's MEGC video id from its path, by the datasets' own rules: a CAS(ME)^3 ``spNO.1/a/color`` folder
    is ``spNO.1_a``; a CAS(ME)^2 recording ``15_0101disgustingteeth`` (folder, or video file) is ``15_0101``, under
    ``rawpic/sNN`` or ``rawvideo/sNN`` or named with CAS(ME)^2's subject number and stimulus code
    (``data.casme_sq.recording_id``); any other recording is named by the file's stem or the folder's name."""
    from ..unicode_names import nfc

    source = source.resolve() if source.name in ("", ".", "..", "color") else source
    if source.name == "color" and source.is_dir() and source.parent.name and source.parent.parent.name:
        return nfc(f"{source.parent.parent.name}_{source.parent.name.lower()}")  # the task letter, as the loader
    from ..data.casme_sq import recording_id

    # in NFC, as typed: a file copied from a Mac has its name in NFD, and the truth's id would not match it
    return nfc(recording_id(source) or (source.stem if source.is_file() else source.name))


def _named(value: str, given: str, what: str, option: str) -> str:
    """``value`` as an id of the MEGC CSVs, or a ConfigError saying which option to give instead. csv.writer would
    quote such an id and mmnet reads it back, but MEGC's scorers split each line on commas: they would read a
    quoted id as other ids (or a row cut in two), and score the recording as a video the truth does not hold. An id
    with a space or a tab is refused too, not rewritten: MEGC's ids hold none, and the MEGC2020 log that scoring
    these files writes (`mmnet score-spots --log`, MEGC2020's own scorers) splits its columns at whitespace; the
    entrant chooses the id the files and the truth share."""
    from ..errors import ConfigError
    from ..spotting.megc_files import log_id

    if not value.strip() or any(c in value for c in ',"\r\n'):
        raise ConfigError(f"{given} cannot name the {what}: it is empty or holds a comma, a quote or a line break, "
                          f"which MEGC's scorers (they split each line on commas) would not read back; give another "
                          f"with {option}.")
    if any(c.isspace() for c in value):
        shown = given if value in given else f"{given} {value!r}"  # a default id's description names it already
        raise ConfigError(f"{shown} cannot name the {what}: it holds a space or a tab, which no MEGC id does; the "
                          "MEGC2020 log (mmnet score-spots --log, and MEGC2020's scorers) separates its columns by "
                          f"spaces and would read it as two. Give another with {option} (e.g. {option} "
                          f"{shlex.quote(log_id(value))}, as the truth file names the recording), or "
                          "rename the recording.")
    from ..unicode_names import nfc

    return nfc(value)  # an id the shell completed from a Mac's file name is NFD: written as typed, in NFC


def _video_id(args: argparse.Namespace) -> str:
    """The name spotting.csv gives the recording: --video-id, else ``default_video_id``."""
    if args.video_id is not None:
        return _named(args.video_id, "--video-id", "video in spotting.csv", "--video-id")
    video_id = default_video_id(args.source)
    return _named(video_id, f"the recording's name ({video_id!r})", "video in spotting.csv", "--video-id")


def _subject(args: argparse.Namespace, video_id: str) -> str:
    """The subject str.csv gives the recording: --subject, else the subject the dataset loaders give the video id
    (``megc.subject_of_key``: s15 for 15_0101, 006 for 006_1, spNO.1 for spNO.1_a), as `mmnet train`'s str.csv
    names it, so that the two files can be scored against each other."""
    from ..spotting.megc import subject_of_key

    if args.subject is not None:
        return _named(args.subject, "--subject", "subject in str.csv", "--subject")
    subject = subject_of_key(video_id)
    return _named(subject, f"the video id's subject ({subject!r})", "subject in str.csv", "--subject")
