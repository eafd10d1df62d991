"""``mmnet spot --out DIR --checkpoint MODEL`` keeps its classification too: a rerun classifies only the rest.

The micro intervals are classified while their frames stream by, ``_BATCH`` at a time in interval order: the
batches of an uninterrupted run (``classify_intervals``), so the probabilities are the same to the last digit.
After each batch, the intervals done so far (each one's class and probabilities, or the note of one left
unclassified) are the document ``PartialSpot.save_classified`` keeps beside the recording's motion curves, under
the classifier's identity (``classifier_identity``: its weights' SHA-256, classes, preprocessing, device, PyTorch
and kernel routes). It is saved every ``PartialSpot.every_s`` seconds, on Ctrl-C and SIGTERM (held until the frame
being read is done) and on an error. A rerun of the same command takes it over when the identity and the
intervals are the same (the motion curves, kept too, give the same intervals), reads the frames of the rest only
and classifies them; otherwise it says why and classifies from the first interval. The document is JSON in the
progress file, read without pickle, bounded as that file's document is, and checked here entry by entry.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

from . import recordings
from .recordings import (
    SAME_FRAME_HEAD,
    Pair,
    classify_pairs,
    gap_reach,
    read_pairs,
    same_frame_note,
    spot_and_classify,
    zero_motion,
)

__all__ = ["classifier_identity", "classify_kept", "spot_and_classify_kept", "CLASSIFIED_FORMAT"]

CLASSIFIED_FORMAT = 1  # the layout of the document; another one is not read
NOTE_CHARS = 4000  # a note on an interval left unclassified is a sentence or two


def classifier_identity(checkpoint: str | Path, predictor) -> dict:
    """What classes taken over must have been made by: the checkpoint's weights (their SHA-256; the safetensors
    header holds the model's config and classes) and the config.json beside them, and what the numbers depend on
    beyond them (classes, preprocessing, device, PyTorch's version, the CPU kernel routes, channels-last)."""
    import torch

    from ..model.checkpoint import CONFIG_NAME, weights_file
    from ..run_folder import file_sha256, weights_sha256

    weights = weights_file(checkpoint)
    beside = weights.parent / CONFIG_NAME
    pre = predictor.preprocessing
    identity = {"format": CLASSIFIED_FORMAT, "weights_sha256": weights_sha256(weights),
                "config_sha256": file_sha256(beside) if beside.is_file() else None,
                "classes": [str(c) for c in predictor.class_names],
                "preprocessing": {"image_size": int(pre.image_size), "mean": [float(v) for v in pre.mean],
                                  "std": [float(v) for v in pre.std]},
                "device": str(predictor.device), "torch": torch.__version__,
                "cpu_routes": sorted(name for name, on in predictor.cpu_routes.items() if on),
                "channels_last": bool(getattr(predictor, "channels_last", False))}
    return json.loads(json.dumps(identity))


def spot_and_classify_kept(source: str | Path, predictor, config, keep, identity: dict, *, fps: float | None = None,
                           progress: Callable[[int], None] | None = None,
                           on_total: Callable[[int | None], None] | None = None,
                           classify_progress: Callable[[int, int], None] | None = None,
                           classifier_landmarks: int | None = None):
    """``recordings.spot_and_classify`` (``draw=0``, ``classifier_landmarks``) with the spotting and the classifying
    kept in ``keep`` (a ``PartialSpot``) and continued from what it held; ``identity``: ``classifier_identity``'s.
    Returns the result and the pairs this run read."""
    # both aligners at once: one landmark model loaded when they share it
    aligners = recordings.recording_aligners(config, predictor, landmarks=classifier_landmarks)
    result, _ = spot_and_classify(source, None, config, fps=fps, progress=progress, on_total=on_total, partial=keep,
                                  aligners=aligners)
    aligner = aligners[1]
    return result, classify_kept(result, predictor, aligner, keep, identity, progress=classify_progress)


def classify_kept(result, predictor, aligner, keep, identity: dict, *,
                  progress: Callable[[int, int], None] | None = None) -> dict[int, Pair | None]:
    """``classify_micro`` (``draw=0``) with the classification kept in ``keep`` (a ``PartialSpot`` whose curves
    are saved) and continued from what it held. Returns the pairs read by this run, by interval index."""
    intervals, names = list(result.intervals), list(predictor.class_names)
    reach = gap_reach(result)
    micro = [k for k, i in enumerate(intervals) if i.type == "micro"]
    entries = _taken_over(keep, identity, intervals, micro, names)
    todo = micro[len(entries):]
    resolved: dict[int, object] = {}  # read and not yet in entries: its pair, or the note it gets instead
    pending: list[int] = []  # resolved, in interval order, since the last batch
    gone: dict[int, str] = {}
    taken = saved = len(entries)  # micro[taken]: the next interval to take, in order; entries in the file

    def flush() -> None:
        chunk = [k for k in pending if not isinstance(resolved[k], str)]
        got = dict(zip(chunk, classify_pairs(predictor, [resolved[k] for k in chunk]) if chunk else []))
        entries.extend([k, intervals[k].onset, intervals[k].apex, got[k][0], list(got[k][1].values()), None]
                       if k in got else [k, intervals[k].onset, intervals[k].apex, None, None, resolved[k]]
                       for k in pending)  # after the batch is classified: what is saved is never half of one
        for k in pending:
            del resolved[k]
        pending.clear()

    def on_pair(j: int, pair: Pair | None) -> None:
        k = todo[j]
        interval = intervals[k]
        # the notes of classify_intervals, in its order: zero motion, the face gone, a note the interval had
        resolved[k] = (same_frame_note(interval, getattr(result, "gaps", ()), reach) if zero_motion(interval) else
                       gone[j] if j in gone else interval.note if interval.note is not None else pair)
        nonlocal taken
        while taken < len(micro) and micro[taken] in resolved:
            pending.append(micro[taken])
            taken += 1
            if sum(not isinstance(resolved[k], str) for k in pending) == recordings._BATCH:
                flush()

    def save(_=None) -> None:
        nonlocal saved
        if len(entries) > saved:
            keep.save_classified({"identity": identity, "entries": entries}, len(entries), len(micro))
            saved = len(entries)

    def read(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        keep.tick(None, save)

    near = None if aligner is None else result.curves.face_at  # crop the face the spotter measured
    with keep.watching():
        try:
            pairs = read_pairs(result.source, [(intervals[k].onset, intervals[k].apex) for k in todo], aligner,
                               near=near, progress=read, gone=gone, on_pair=on_pair) if todo else []
            flush()  # the last batch, of fewer than _BATCH
        except BaseException:  # Ctrl-C, SIGTERM or an error: keep the batches classified
            save()
            raise
        save()  # a stop that came during the last batch stops the run as it leaves watching: nothing is lost
    assert len(entries) == len(micro), (len(entries), len(micro))
    done = {e[0]: e for e in entries}
    result.intervals = [i if k not in done else
                        dataclasses.replace(i, note=done[k][5]) if done[k][3] is None else
                        dataclasses.replace(i, label=done[k][3], probabilities=dict(zip(names, done[k][4])))
                        for k, i in enumerate(intervals)]
    return dict(zip(todo, pairs))


def _classified(entries: list) -> int:
    return sum(e[3] is not None for e in entries)


def _taken_over(keep, identity: dict, intervals: list, micro: list[int], names: list[str]) -> list[list]:
    """The entries ``keep`` holds for this classifier and these intervals (said), or [] (said why, if any)."""
    saved = keep.classified
    if saved is None:
        return []
    where = f"note: the classification kept in {keep.path}"
    try:
        if not isinstance(saved, dict) or not isinstance(saved.get("identity"), dict):
            raise ValueError("it holds no classifier's identity")
        then = saved["identity"]
        if then != identity:
            changed = sorted(k for k in set(then) | set(identity) if then.get(k) != identity.get(k))
            keep.say(f"{where} was made by another classifier or setup ({', '.join(changed)} differ); the "
                     "micro-expressions are classified from the first")
            return []
        entries = _checked(saved["entries"], intervals, micro, names)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        keep.say(f"{where} cannot be read ({type(exc).__name__}: {str(exc)[:200]}): it is damaged; the "
                 "micro-expressions are classified from the first")
        return []
    keep.classified_count = (len(entries), len(micro))
    rest = len(micro) - len(entries)
    keep.say(f"resuming the classification: {len(entries)} of {len(micro)} micro-expression(s) done before"
             + (f"; the frames of the other {rest} are read" if rest else ""))
    return entries


def _checked(entries, intervals: list, micro: list[int], names: list[str]) -> list[list]:
    """``entries`` as ``classify_kept`` writes them, for these intervals and classes (ValueError if not)."""
    if not isinstance(entries, list) or len(entries) > len(micro):
        raise ValueError(f"it holds {len(entries) if isinstance(entries, list) else entries!r} entries for "
                         f"{len(micro)} micro intervals")
    out = []
    for j, entry in enumerate(entries):
        k, onset, apex, label, probs, note = entry
        interval = intervals[micro[j]]
        if [k, onset, apex] != [micro[j], interval.onset, interval.apex] or not all(
                type(v) is int for v in (k, onset, apex)):
            raise ValueError(f"entry {j} is interval {k} ({onset}-{apex}), not {micro[j]} "
                             f"({interval.onset}-{interval.apex})")
        if label is None:
            if not isinstance(note, str) or not 0 < len(note) <= NOTE_CHARS or probs is not None:
                raise ValueError(f"entry {j} has neither a class nor a note")
            if zero_motion(interval) and not note.startswith(SAME_FRAME_HEAD):
                raise ValueError(f"entry {j} is an interval of zero motion classified")
        elif (label not in names or note is not None or not isinstance(probs, list) or len(probs) != len(names)
              or not all(type(p) is float and math.isfinite(p) and 0.0 <= p <= 1.0 for p in probs)):
            raise ValueError(f"entry {j}'s class {label!r} or its {len(names)} probabilities are not this model's")
        out.append([k, onset, apex, label, probs, note])
    # what classify_kept saves ends a batch (or the whole pass): a batch boundary, so the rest batches as before
    if len(out) < len(micro) and (not out or out[-1][3] is None or _classified(out) % recordings._BATCH):
        raise ValueError(f"its {len(out)} entries do not end a batch of {recordings._BATCH}")
    return out
