"""Whether a spotting score is in-sample: scored on the videos the spotter learnt from, or on the subjects whose
faces the recogniser that classified them learnt from.

``train-spotter`` (without ``--loso``) trains on every video of the dataset. A saved spotter records which
(its ``fitted_on``: dataset, video ids, subjects and each subject's videos; a spotter saved by an earlier mmnet
records none: unknown), and
``mmnet spot`` copies that, and the recogniser checkpoint's training subjects (``infer.training_subjects``), into
``spot.json``'s provenance (each model's ``trained_on``).
``mmnet score-spots`` reads the ``spot.json`` beside each predictions file and warns when a scored video is one
the spotter was trained on (by subject and video where the scored file names the subject: CAS(ME)^3's STR CSVs
name every subject's recordings 'a', 'b', ..., which its loader names 'spNO.1_a'), or (with an STR analysis) of a
subject the recogniser was trained on: such scores are
in-sample, and the leave-one-subject-out figures (``train-spotter --loso``; ``mmnet train`` on the long-video
dataset for spot then recognise) are the honest ones.

Also here, what the LOSO table of ``train-spotter --loso`` needs to be read alone: its baseline, its settings,
and that the presets' k values are published statistics of whole datasets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path

from ..utils import json_object_or_none

__all__ = ["trained_on", "read_trained_on", "model_summaries", "in_sample_warnings",
           "TRAINED_ON_ALL", "loso_settings_record", "preset_leak_note", "SAME_PEOPLE"]

#: A long-video dataset -> the datasets (long and clip) whose subject ids name the same people.
SAME_PEOPLE = {"casme-sq": ("casme-sq", "casme2-long"), "casme2-long": ("casme-sq", "casme2-long"),
               "casme3-long": ("casme3-long", "casme3"), "samm-long": ("samm-long", "samm"),
               "table-long": ("table-long", "table")}
#: A preset -> the long-video datasets whose published statistics its k values are (SoftNet: half the mean length).
PRESET_DATASETS = {"casme2": ("casme-sq", "casme2-long"), "samm": ("samm-long",), "casme3": ("casme3-long",)}
#: What `train-spotter` without --loso says of scores on its own training videos.
TRAINED_ON_ALL = ("the spotter is trained on every video of the dataset: scores on those videos (`mmnet spot "
                  "--spotter-model` on them, then `mmnet score-spots`) are in-sample; the honest figure is the "
                  "--loso table (train-spotter --loso)")
#: The names `mmnet spot --out` gives its predictions files: only beside them is a spot.json theirs.
_SPOT_FILES = ("spotting.csv", "intervals.csv", "str.csv", "spots.eaf")


def trained_on(dataset: str | None, videos: Iterable) -> dict:
    """A spotter's training record: the dataset (None: the videos' own, when they share one), and the ids and
    subjects of the ``LongVideo``s it learnt from, and each subject's ids (``videos_of``: a file that names the
    subject of each video is compared by the pair)."""
    videos = list(videos)
    if dataset is None and len(named := {getattr(v, "dataset", None) for v in videos}) == 1:
        dataset = named.pop()
    videos_of: dict[str, set[str]] = {}
    for v in videos:
        videos_of.setdefault(str(v.subject), set()).add(str(v.video))
    return {"dataset": dataset, "videos": sorted({str(v.video) for v in videos}), "subjects": sorted(videos_of),
            "videos_of": {s: sorted(ids) for s, ids in sorted(videos_of.items())}}


def read_trained_on(value) -> dict | None:
    """A saved ``trained_on`` as written, or None (absent: a spotter of an earlier mmnet; unknown). A record without
    ``videos_of`` (an earlier mmnet's) is read without it."""
    if not isinstance(value, dict) or not isinstance(value.get("videos"), list):
        return None
    out = {"dataset": value.get("dataset") if isinstance(value.get("dataset"), str) else None,
           "videos": [str(v) for v in value["videos"]], "subjects": [str(s) for s in value.get("subjects") or []]}
    videos_of = value.get("videos_of")
    if isinstance(videos_of, dict) and all(isinstance(ids, list) for ids in videos_of.values()):
        out["videos_of"] = {str(s): [str(v) for v in ids] for s, ids in videos_of.items()}
    return out


def model_summaries(summary: dict | None, classifier: dict | None, spotter, *, classified: bool) -> dict | None:
    """``spot_provenance``'s ``summaries``: when ``classified``, the classifier's summary with its training subjects
    (``classifier``: ``infer.training_subjects.classifier_trained_on``), and the saved spotter's training record
    (``trained_on``: None when not recorded; a spotter that learns nothing has none)."""
    out = {}
    if classified:
        out["classifier"] = {**(summary or {}), "trained_on": classifier}
    if spotter is not None:
        learns = not getattr(spotter, "fold_independent", False)
        out["spotter"] = {"trained_on": getattr(spotter, "fitted_on", None) if learns else
                          {"dataset": None, "videos": [], "subjects": [], "note": "this spotter learns nothing"}}
    return out or None


def _same_people(scored: str | None, trained: str | None) -> bool:
    """Whether subject ids of ``trained`` may name the scored dataset's people (either unknown: they may)."""
    if scored is None or trained in (None, "unknown"):
        return True
    return trained in SAME_PEOPLE.get(scored, (scored,))


def _video(key) -> str:
    return str(key[1]) if isinstance(key, tuple) else str(key)


def _trained_video(key, subject: str, record: dict, shared: set) -> bool:
    """Whether the scored video ``key`` (of ``subject``) is one the spotter learnt from. A recorded id that names
    one video only matches by itself, whatever the key calls its subject (an STR CSV's '15' for the loader's 's15').
    An id that subjects share (among the scored keys, ``shared``, or in the record: CAS(ME)^3's task letters) is
    compared by the pair: its video is the subject's recorded id, or that id named as the subject's recordings are
    elsewhere (CAS(ME)^3's 'a' for 'spNO.1_a'; a table-long folder path 'P01/session2' by its last part, as
    `mmnet spot` names it)."""
    video = _video(key)
    paired = isinstance(key, tuple) and key[0] and (video in shared or record["owners"].get(video, 0) > 1)
    if not paired and video in record["videos"]:
        return True
    return any(v == video or v == f"{subject}_{video}" or v.endswith(f"/{video}")
               for v in record["videos_of"].get(subject, ()))


def _models(path: Path) -> tuple[dict | None, dict | None, dict | None]:
    """(spotter, its training record with ``videos`` a set and ``videos_of`` each subject's, classifier) from the
    spot.json beside ``path``."""
    spot = json_object_or_none(path.parent / "spot.json") if path.name in _SPOT_FILES else None
    models = ((spot or {}).get("provenance") or {}).get("models") or {}
    spotter = models.get("spotter") if isinstance(models.get("spotter"), dict) else None
    record = read_trained_on(spotter.get("trained_on")) if spotter is not None else None
    if record is not None:
        # an earlier mmnet's record has no pairs: any of its videos may be any of its subjects'
        videos_of = record.get("videos_of") or dict.fromkeys(record["subjects"], record["videos"])
        # how many subjects' recordings each id names (none counted for an earlier record: its ids alone decide)
        owners = Counter(v for vs in (record.get("videos_of") or {}).values() for v in set(map(str, vs)))
        record = {**record, "videos": set(record["videos"]), "videos_of": videos_of, "owners": owners}
    classifier = models.get("classifier") if isinstance(models.get("classifier"), dict) else None
    return spotter, record, classifier


def in_sample_warnings(file_of: Mapping, *, dataset: str | None, subject_of: Callable,
                       classes: bool) -> tuple[list[str], list[str]]:
    """(warnings, notes) for ``score-spots``: ``file_of`` maps each scored video key to its predictions file; the
    ``spot.json`` beside a file `mmnet spot --out` wrote says which spotter (and recogniser) made it. ``dataset``:
    the scored dataset (--dataset), None for a truth CSV; ``classes``: an STR analysis is reported."""
    spotters: dict[str, list] = {}
    unknown: dict[str, list] = {}
    recognisers: dict[str, list] = {}
    models_of: dict[Path, tuple] = {}  # a predictions file holds many videos: its spot.json is read once
    subjects_of = Counter(_video(k) for k in {(str(k[0]), _video(k)) for k in file_of if isinstance(k, tuple)})
    shared = {video for video, n in subjects_of.items() if n > 1}  # ids the scored subjects share
    for key, path in file_of.items():
        path = Path(path)
        if path not in models_of:
            models_of[path] = _models(path)
        spotter, record, classifier = models_of[path]
        if spotter is not None:
            name = str(spotter.get("path", "?"))
            if record is None:
                unknown.setdefault(name, []).append(key)
            elif _same_people(dataset, record["dataset"]) and _trained_video(key, str(subject_of(key)), record, shared):
                spotters.setdefault(name, []).append(key)
        record = (classifier or {}).get("trained_on")
        if classes and isinstance(record, dict) and isinstance(record.get("subjects"), dict):
            subject = str(subject_of(key))
            if any(subject in map(str, subs) for ds, subs in record["subjects"].items()
                   if isinstance(subs, list) and _same_people(dataset, ds)):
                recognisers.setdefault(str(classifier.get("path", "?")), []).append(key)
    total = len(file_of)
    warnings = [f"{len(keys)} of {total} scored videos were used to train the spotter {name}: these scores are "
                "in-sample; the honest figure is train-spotter --loso" for name, keys in spotters.items()]
    warnings += [f"{len(keys)} of {total} scored videos are of subjects the recogniser {name} was trained on "
                 f"({', '.join(sorted({str(subject_of(k)) for k in keys}))}): its classes (the STR analysis) are "
                 "in-sample; the honest figure is spot then recognise leave-one-subject-out (`mmnet train` on the "
                 "long-video dataset)" for name, keys in recognisers.items()]
    notes = [f"the spotter {name} of {len(keys)} scored video(s) does not record the videos it was trained on "
             "(saved by an earlier mmnet): whether these scores are in-sample is unknown"
             for name, keys in unknown.items()]
    return warnings, notes


def preset_leak_note(dataset: str, config, *, synthetic: bool = False) -> str | None:
    """The note that the preset's k values are published statistics of the whole dataset scored (held-out subjects
    included), when they are; None for a preset of another dataset, k values set by hand, or ``synthetic``
    recordings in the dataset's layout (drawn by `mmnet synth`: the published statistics are not theirs)."""
    from .config import PRESETS

    preset = getattr(config, "preset", None)
    if synthetic or dataset not in PRESET_DATASETS.get(preset, ()):
        return None
    values = PRESETS[preset]
    if any(values.get(f"{t}.k") not in (None, getattr(config, t).k) for t in ("micro", "macro")):
        return None
    return (f"the {preset} preset's k values ({config.micro.k} / {config.macro.k}: SoftNet's half the mean expression "
            "length) are published statistics of the whole dataset, the held-out subjects included: a small leak, "
            "standard in the field")


def loso_settings_record(dataset: str, config, *, seed: int, synthetic: bool = False) -> dict:
    """MODEL.loso.json's ``settings``: what the table was made with, so that the file can be audited alone."""
    note = preset_leak_note(dataset, config, synthetic=synthetic)
    return {"dataset": dataset, "preset": config.preset, "spotter": asdict(config), "seed": seed,
            "parameters": ("fixed: the preset's values and any --set, chosen before the run; none is fitted on the "
                           "held-out subject (a learned spotter's network is fitted on the other subjects only)"),
            **({"preset_note": note} if note else {})}
