"""The hints of `mmnet score-spots` for predicted videos that the ground truth does not name, and the renaming of a
video named after its recording's file to the dataset's id."""

from __future__ import annotations

import sys
from pathlib import Path


def shown(key) -> str:
    """A video key as users read it: subject/video for an STR CSV's (subject, video)."""
    return ("/".join(key) if key[0] else key[1]) if isinstance(key, tuple) else key


def truth_csv_hint(video, truth: dict, truth_is_str: bool) -> str:
    """For a predicted video that a truth CSV does not list: how to list it (a row without an interval), or, when its
    name begins with one of the truth's ids, how `mmnet spot` names the recording by that id."""
    annotated = _annotated_id(video, truth) if isinstance(video, str) else None
    if annotated is not None:
        return (f" Its name begins with the truth's id {annotated!r}: name the recording by that id, e.g. "
                f"`mmnet spot RECORDING --video-id {annotated}`.")
    subject, name = video if isinstance(video, tuple) else ("SUBJECT", video)
    row, header = (f"{subject},{name},,,", "subject,video,onset,offset,emotion") if truth_is_str else (
        f"{name},,,", "vid,onset,offset,type")
    return (f" List every video the predictions cover in the truth CSV; a video without any expression is a row "
            f"with its id and onset, offset, type (and emotion) empty, e.g. `{row}` under {header}, so that its "
            "predictions count as false positives. If the recording is one of the truth's videos under another name, "
            f"name it by the truth's id: `mmnet spot RECORDING --video-id ID` ({_some_ids(truth)}). "
            "With a dataset mmnet reads, --dataset and --root take the ground truth, every video included, from its "
            "annotation.")


def _some_ids(truth: dict) -> str:
    """A few of the truth's video ids, as a user would type them."""
    ids = sorted({key[1] if isinstance(key, tuple) else key for key in truth})
    if not ids:
        return "the truth lists no video"
    return "the truth's ids: " + ", ".join(map(str, ids[:3])) + (", ..." if len(ids) > 3 else "")


def other_subjects_hint(unknown, truth) -> str:
    """For STR predictions whose subjects the truth does not hold at all: a sentence saying so, else ""."""
    known = {key[0] for key in truth if isinstance(key, tuple)}
    strangers = sorted({key[0] for key in unknown if isinstance(key, tuple) and key[0] not in known})
    if not strangers or not known:
        return ""
    return (f" Subject(s) {', '.join(map(repr, strangers[:5]))} of the predictions are not in the truth at all (its "
            f"subjects: {', '.join(map(repr, sorted(known)[:5]))}{', ...' if len(known) > 5 else ''}): the two files "
            "may name the subjects differently (e.g. 's1' and 'spNO.1'); write them alike.")


def zeros_dropped(predictions, truth) -> str:
    """For STR predictions none of whose subjects the truth holds, some of them a truth subject but for leading zeros
    (006 read as 6: a CSV saved again by a spreadsheet): a sentence saying so, else ""."""
    known = {key[0] for key in truth if isinstance(key, tuple)}
    predicted = {key[0] for key in predictions if isinstance(key, tuple)}
    if not predicted or predicted & known:
        return ""
    stripped = {k.lstrip("0") or "0": k for k in known}  # either file may be the one saved again
    pairs = sorted(f"{p!r} ({stripped[z]!r})" for p in predicted if (z := p.lstrip("0") or "0") in stripped)
    if not pairs:
        return ""
    return (f" Subject(s) {', '.join(pairs[:5])} match the truth's without leading zeros: did a spreadsheet drop "
            "leading zeros? No video was scored; take the file as mmnet or the model wrote it (a spreadsheet reads "
            "006 as the number 6), or import its subject and video columns as Text.")


def first_row(path: Path, key, text: str | None = None) -> int:
    """The row (header = row 1) of ``path`` where the video ``key`` (an id, or (subject, video)) first appears;
    ``text``: the file's text, read already."""
    from ..spotting.megc_files import csv_reader

    reader = csv_reader(path, text)
    for raw in reader:
        n = reader.line_num  # its line, blank lines counted, as megc_csv's errors number rows
        row = {name.strip().lower(): value for name, value in raw.items() if name is not None}  # as read
        video = (row.get("vid") or row.get("video") or "").strip()
        if (((row.get("subject") or "").strip(), video) if isinstance(key, tuple) else video) == key:
            return n
    return 0


def _annotated_id(video: str, annotated) -> str | None:
    """The one annotated id that ``video`` begins with, followed by a non-digit: `mmnet spot` names a recording by its
    file, and CAS(ME)^2 names its files by the id and the stimulus (15_0101disgustingteeth is video 15_0101)."""
    found = [a for a in annotated if video.startswith(a) and len(video) > len(a) and not video[len(a)].isdigit()]
    return found[0] if len(found) == 1 else None


def match_file_names(predictions: dict, file_of: dict, truth: dict) -> None:
    """Rename in place the predicted videos named after an annotated id (:func:`_annotated_id`), with a note."""
    from ..errors import DataError

    matched = {v: a for v in predictions if v not in truth and (a := _annotated_id(v, truth)) is not None}
    for video, annotated in matched.items():
        if annotated in predictions or list(matched.values()).count(annotated) > 1:
            raise DataError(f"'{file_of[video]}': video {video!r} is the dataset's {annotated!r} (its name begins with "
                            f"that id), which other predictions name too: give each video's predictions once.")
    for video, annotated in matched.items():
        predictions[annotated] = predictions.pop(video)
        file_of[annotated] = file_of.pop(video)
    if matched:
        shown = ", ".join(f"{v!r} as {a!r}" for v, a in list(matched.items())[:3])
        shown += ", ..." if len(matched) > 3 else ""
        print(f"note: {len(matched)} video(s) matched to the dataset's ids that their names begin with: {shown} "
              "(`mmnet spot --video-id ID` names a recording by its id)", file=sys.stderr)


def dataset_ids_hint(video: str, truth: dict) -> str:
    """Some of the dataset's ids, and how `mmnet spot` gives a recording one of them."""
    from ..data.common import natural_key

    ids = sorted(truth, key=natural_key)
    # several ids that the name begins with: those; a table-long id is a folder path (P01/session2), and `mmnet spot`
    # names the folder by its last part (session2): the ids that end with it
    near = ([a for a in ids if video.startswith(a)] or [a for a in ids if isinstance(a, str) and "/" in a
                                                         and a.rsplit("/", 1)[1] == video] or ids)
    return (f" The dataset's ids are like {', '.join(near[:4])}{', ...' if len(near) > 4 else ''} ({len(ids)} in all): "
            f"name each recording by its id, e.g. `mmnet spot RECORDING --video-id {near[0]}`." if ids else "")




def synth_truth_hint(dataset: str, root: Path, predictions: list) -> str | None:
    """The command that scores against the truth CSV of `mmnet synth --long`, where --dataset casme-sq cannot read
    its root: a set written as videos alone has no rawpic/ frames, which the loader reads (its annotation lists
    the same expressions as the CSV)."""
    from ..data.common import SYNTH_TRUTH
    from ..shell_words import shell_quote

    truth = Path(root) / SYNTH_TRUTH
    if dataset != "casme-sq" or (Path(root) / "rawpic").is_dir() or not truth.is_file():
        return None
    files = " ".join(shell_quote(p) for p in [truth, *predictions])
    return (f"'{root}' is a synthetic set of videos without the frames folder 'rawpic/' that --dataset casme-sq "
            f"reads; score against the planted expressions that `mmnet synth --long` wrote instead: "
            f"mmnet score-spots {files}")
