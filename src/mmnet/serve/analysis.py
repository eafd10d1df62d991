"""What the server computes on an upload: the prediction of a clip, the intervals of a recording,
and the pictures of each (onset and apex crops, the attention figure of ``mmnet explain``).

A clip is classified exactly as ``mmnet predict`` does (``Predictor.predict_clips``: the same
onset, the same spotted apex, the same JSON fields); the figure is ``explain_pair`` +
``render_explanation``'s figure on the same two frames, drawn in memory (``explanation_png``). A recording goes
through the spotting adapter (``mmnet.serve.spotting``), which spots and classifies it as ``mmnet spot
--checkpoint`` does (``mmnet.infer.recordings``) and returns the images it classified; those are drawn the same
way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..infer import Predictor, align_clip, explain_pair, load_clip
from ..infer.attribution import deletion_verdict, faithful
from ..infer.explain import explanation_png
from ..infer.explain_text import figure_text
from ..infer.faces_note import FACES_NOTE
from ..spotting.intervals import FILE_NUMBER, VIDEO_FROM_0, intervals_csv, spreadsheet_safe
from .jobs import Job
from .spotting import check_spot_result, downsample_curve

__all__ = ["analyse_clip", "analyse_recording", "png", "thumbnail", "prediction_csv", "recording_csv", "MAX_EXPLAINED",
           "deletion_field", "DELETION_SKIPPED"]

THUMBNAIL = 256  # longest side of the onset/apex pictures, pixels
MAX_EXPLAINED = 200  # intervals of a recording drawn (crops and attention); the rest are listed only
# A recording job's progress after spotting, then after classifying (drawing follows): spotting takes most of the
# time, and a share that matches it keeps the time left estimated from the progress (`Job.eta_s`) from running long.
SPOTTED, CLASSIFIED = 0.85, 0.95
DELETION_SKIPPED = ("The Grad-CAM map was not tested for faithfulness: this server skips its deletion check "
                    "(mmnet serve --no-deletion-check).")


def png(image: np.ndarray) -> bytes:
    """(H, W, 3) or (H, W) uint8 -> PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def thumbnail(image: np.ndarray, size: int = THUMBNAIL) -> np.ndarray:
    """The image scaled (never up) so that its longest side is at most ``size`` pixels."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale >= 1:
        return image
    return np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                    Image.BILINEAR))


def _figure(predictor: Predictor, onset: np.ndarray, apex: np.ndarray, name: str,
            title: str, frames: tuple[int, int], caption: str,
            record: dict[str, str] | None = None, check_deletion: bool = True
            ) -> tuple[dict[str, bytes], dict, dict]:
    """The pictures of one onset/apex pair and the attention figure captioned as ``mmnet explain`` does (what the
    model was trained on), recording ``record`` in its PNG (the model's name and sha256, alignment), with the
    result's ``deletion_check`` (:func:`deletion_field`). A model without CA blocks is drawn as ``mmnet explain``
    draws it: the inputs, Grad-CAM and its deletion check, and a note where the gates' row would be. All are drawn in
    memory: none is written to disk (a nearly full disk does not fail the job, and no face lands in the job's
    folder). Returns the pictures, ``deletion_check`` and ``figure_text``: the words and numbers the figure gives as
    pixels only (its Grad-CAM heading with the branches' shares, the panels' titles and the maps' ranges:
    :func:`mmnet.infer.explain_text.figure_text`), which the page writes beside the picture."""
    files = {f"{name}onset.png": png(thumbnail(onset)), f"{name}apex.png": png(thumbnail(apex))}
    explanation = explain_pair(predictor, onset, apex, check_deletion=check_deletion)
    explanation.source, (explanation.onset_frame, explanation.apex_frame) = title, frames
    explanation.caption = caption
    explanation.provenance = {**(record or {}), "faces": FACES_NOTE}
    files[f"{name}attention.png"] = explanation_png(explanation)
    return files, deletion_field(explanation.deletion), figure_text(explanation)


def deletion_field(deletion: dict | None) -> dict:
    """A result's ``deletion_check``: the Grad-CAM map's deletion check (``mmnet.infer.attribution``, the numbers
    its figure's heading gives) with ``skipped`` false, or, on a server started with ``--no-deletion-check``,
    ``skipped`` true and a ``note`` saying that the map is not tested (the page shows it under the figure). A check
    made adds its reading, as the heading gives it: ``faithful`` (a boolean) and ``verdict`` (a sentence)."""
    if deletion is None:
        return {"skipped": True, "note": DELETION_SKIPPED}
    return {"skipped": False, **{k: v for k, v in deletion.items() if k != "how"},  # "how": docs/inference.md
            "faithful": faithful(deletion), "verdict": deletion_verdict(deletion)}


def analyse_clip(job: Job, predictor: Predictor, path: Path, *, onset: int | None = None,
                 apex: int | None = None, aligner=None, caption: str = "",
                 record: dict[str, str] | None = None, check_deletion: bool = True) -> dict:
    """Classify one uploaded clip (a video file or a folder of frames); pictures go to ``job.files``.

    Returns ``mmnet predict --json``'s fields for the clip (``source`` is the upload's name), plus
    ``warnings``: the prediction's notes as a list (``warning`` joins them), ``files``: the names of
    the pictures, and ``deletion_check`` (the attention figure's deletion check, or that it was skipped:
    ``check_deletion`` false, see :func:`deletion_field`) and ``figure_text`` (:func:`_figure`). Notes and warnings
    are worded for the server (``messages.for_web``); ``caption`` is the attention figure's
    (``provenance.training_caption``).
    """
    job.update(progress=0.1, stage="Reading the clip")
    clip = load_clip(path)
    if aligner is not None:
        job.update(progress=0.2, stage="Aligning the face")
        clip = align_clip(clip, onset, aligner=aligner)
    job.update(progress=0.3, stage="Finding the apex" if apex is None else "Classifying")
    (prediction,) = predictor.predict_clips([(clip, onset, apex)])
    notes = tuple(job.clean_message(note) for note in prediction.notes)
    warning = prediction.recording_warning and job.clean_message(prediction.recording_warning)
    prediction = replace(prediction, source=job.name, notes=notes, recording_warning=warning)
    job.update(progress=0.7, stage="Drawing the attention maps")
    frames = clip.read_pair(prediction.onset, prediction.apex)
    job.files, deletion, text = _figure(predictor, *frames, "", job.name, (prediction.onset, prediction.apex),
                                  caption, {**(record or {}), "aligned": str(aligner is not None).lower()},
                                  check_deletion)
    return {**prediction.to_dict(), "warnings": list(prediction.notes), "files": sorted(job.files),
            "deletion_check": deletion, "figure_text": text, "faces_note": FACES_NOTE}


def analyse_recording(job: Job, predictor: Predictor, path: Path, spotter, *, fps: float | None = None,
                      caption: str = "", record: dict[str, str] | None = None, check_deletion: bool = True) -> dict:
    """Spot and classify the intervals of a recording (``spotter``), then draw each; pictures go to ``job.files``.

    Returns the spot JSON (``{"fps", "frames", "intervals": [...]}``, see ``mmnet.serve.spotting``)
    with ``source``, the motion ``curve`` when the spotter gives one, ``files`` (``timeline.png``, the
    figure of ``mmnet spot --out``, when the spotter draws one) and per interval ``files``.
    The spotter classifies as ``mmnet spot --checkpoint`` does (one path, the same classes) and returns
    under ``pairs`` the (onset, apex) images of every micro interval and of the first ``MAX_EXPLAINED`` (None
    for an onset without a face); the pictures are of those images. ``caption`` is that of the attention
    figures, and each interval drawn with an attention figure has its ``deletion_check``, as for ``analyse_clip``.
    """
    job.update(progress=0.0, stage="Looking for expressions")

    def progress(done: int, total: int | None) -> None:
        of_total = f" of {total}" if total else ""
        job.update(progress=SPOTTED * done / total if total else None,
                   stage=f"Looking for expressions: frame {done}{of_total}")

    def classify_progress(read: int, to_read: int) -> None:  # a second pass over the recording: it can be cancelled
        job.update(progress=SPOTTED + (CLASSIFIED - SPOTTED) * read / max(to_read, 1),
                   stage=f"Classifying the expressions: frame {read} of {to_read}")

    raw = spotter(path, fps=fps, predictor=predictor, progress=progress, classify_progress=classify_progress,
                  draw=MAX_EXPLAINED)
    pairs = raw.pop("pairs", None) or {} if isinstance(raw, dict) else {}
    timeline = raw.pop("timeline", None) if isinstance(raw, dict) else None
    result = check_spot_result(raw)
    result["notes"] = [job.clean_message(note) for note in result.get("notes", [])]  # worded for the page
    if fps is not None and (note := _rate_replaced(path, fps)):
        result["notes"].append(note)
    result["source"] = job.name
    result["files"] = []
    if timeline is not None:
        job.files["timeline.png"] = timeline
        result["files"] = ["timeline.png"]
    if result.get("curve") is not None:
        result["curve"] = downsample_curve(result["curve"])
    intervals = result["intervals"]
    explained = intervals[:MAX_EXPLAINED]
    for k, iv in enumerate(explained):
        job.update(progress=CLASSIFIED + (1 - CLASSIFIED) * k / len(explained),
                   stage=f"Drawing interval {k + 1} of {len(explained)}")
        name = f"interval-{k}-"
        if pairs.get(k) is None:  # a macro-expression's onset without a face, or a micro one without the followed face
            files = {}
            note = (f"{iv['note'][0].upper()}{iv['note'][1:]}: not classified, nothing to draw." if iv.get("note")
                    else "No face was found on the onset frame: nothing to draw.")
        elif iv.get("probabilities") is None:
            # As `mmnet spot --checkpoint`: the model learnt micro-expressions; a macro one is shown, not classified
            # (as is a micro one whose onset is its apex: its own note says why)
            onset, apex = pairs[k]
            files = {f"{name}onset.png": png(thumbnail(onset)), f"{name}apex.png": png(thumbnail(apex))}
            note = ("A macro-expression: not classified (the model was trained on micro-expressions)."
                    if iv["type"] == "macro" else None)
        else:
            files, iv["deletion_check"], iv["figure_text"] = _figure(
                predictor, *pairs[k], name, f"{job.name} interval {k + 1}", (iv["onset"], iv["apex"]), caption,
                {**(record or {}), "aligned": "true"}, check_deletion)
            note = None
        job.files.update(files)
        iv["files"] = sorted(files)
        if note:
            iv["note"] = note
    if job.files.keys() - {"timeline.png"}:  # face crops drawn: the uploader's to publish as their agreement allows
        result["faces_note"] = FACES_NOTE
    if len(intervals) > len(explained):
        result["note"] = (f"{len(intervals)} intervals were found; the pictures of the first {MAX_EXPLAINED} "
                          "are drawn, the others are listed only.")
    return result


def _rate_replaced(path: Path, fps: float) -> str | None:
    """The note for a video whose own frame rate the request's ``fps`` replaced (None: a zip, or the same rate)."""
    if not path.is_file():
        return None
    from ..media_video import video_header

    declared, _ = video_header(path)
    if declared is None or abs(declared - fps) <= 1e-3 * max(declared, fps):
        return None
    return (f"The frame rate given ({fps:g} frames per second) replaced the video's own ({declared:g}): the "
            "seconds of the intervals and the spotter's windows follow the rate given. Leave the frame rate out to "
            "use the video's.")


def prediction_csv(result: dict, class_names: list[str]) -> str:
    """A clip's prediction as CSV, with the columns of ``mmnet predict``'s table; ``apex_spotted`` is
    true/false as in the JSON, probabilities are written with 6 decimals as in a recording's CSV, and no text cell
    is read as a formula by a spreadsheet (``spreadsheet_safe``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([spreadsheet_safe(cell) for cell in
                     ["source", "onset", "apex", "apex_spotted", "label", *(f"p_{c}" for c in class_names)]])
    probs = result["probabilities"]
    writer.writerow([spreadsheet_safe(cell) for cell in
                     [result["source"], result["onset"], result["apex"], "true" if result["apex_spotted"] else "false",
                      result["label"], *(f"{probs[c]:.6f}" if c in probs else "" for c in class_names)]])
    return buf.getvalue()


def _notes(result: dict) -> list[str]:
    """The notes a recording's page shows, for its CSV: the spotter's, then the one on the pictures drawn."""
    return [*result.get("notes", []), *([result["note"]] if result.get("note") else [])]


def recording_csv(result: dict, class_names: list[str], media: str) -> str:
    """A recording's intervals as CSV: a ``source`` column (the upload's name, as a clip's CSV has) in place of
    ``mmnet spot --out``'s ``video``, then the columns of its intervals.csv, written by the same code:
    ``frame_numbering`` first, ``video_from_0`` or ``file_number`` as ``media`` says (``Job.media``: "video", or
    "frames" for a zip; the JSON's ``frame_numbering`` says the rule in words)."""
    numbering = {"video": VIDEO_FROM_0, "frames": FILE_NUMBER}[media]
    rows = list(csv.reader(io.StringIO(intervals_csv(result["intervals"], class_names, frame_numbering=numbering,
                                                     gaps=result.get("gaps") or [], notes=_notes(result)))))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    source = spreadsheet_safe(result.get("source", ""))
    writer.writerows([["source", *rows[0]], *([source, *row] for row in rows[1:])])
    return buf.getvalue()
