"""The finished folds of a spotting LOSO (``train-spotter --loso``), kept so that a rerun resumes.

Each finished fold is written atomically to ``MODEL.loso/<subject>.json``: the held-out subject,
its videos, the fit statistics, its spotted intervals (scores at full precision, so the pooled MEGC
scoring of a resumed run equals an uninterrupted one's) and the settings that produced it: the
dataset, a fingerprint of its videos (ids, subjects, frame rates, frame files with their sizes,
ground truth), the spotter config, the seed, the device kind and the mmnet version. A rerun with
the same settings reuses the records; a record made with other settings is never reused (and is
replaced when its fold finishes again). Subjects whose record names differ only in letter case are refused
before any fold runs (``FoldRecords.check_names``).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..run_folder import safe_name
from ..utils import atomic_write_text
from .config import SpotConfig, config_key
from .intervals import Interval

if TYPE_CHECKING:
    from ..data.long_video import LongVideoLoad

__all__ = ["FoldRecords", "loso_settings"]

FORMAT = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")  # one '_' per character, as the records' names always had


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _frame_files(video) -> list:
    # names and sizes, not contents: reading every frame of minutes of video again costs as much as spotting it
    if video.frames:
        return [[n, name, _size(Path(video.path) / name)] for n, name in video.frames]
    return [_size(Path(video.path))]


def recording_fingerprint(video) -> str:
    """sha256 of one recording's source: its id, frame rate, folder or file name, frame files and sizes."""
    return hashlib.sha256(json.dumps([video.video, video.fps, Path(video.path).name,
                                      _frame_files(video)]).encode()).hexdigest()


def data_fingerprint(load: LongVideoLoad) -> str:
    """sha256 over what a fold's result depends on in the data: every video's id, subject, frame rate,
    source, frame files (names and sizes) and annotated intervals."""
    digest = hashlib.sha256()
    for v in load.videos:
        intervals = [[i.onset, i.apex, i.offset, i.type, i.label] for i in v.intervals]
        digest.update(json.dumps([v.video, v.subject, v.fps, Path(v.path).name, _frame_files(v), intervals,
                                  [list(b) for b in getattr(v, "blinks", ())]]).encode())
    digest.update(json.dumps(list(getattr(load, "types", ()))).encode())
    return digest.hexdigest()


def loso_settings(dataset: str, load: LongVideoLoad, config: SpotConfig, *, seed: int, device: str) -> dict:
    """What a fold record must match to be reused."""
    from ..version import __version__

    return {"format": FORMAT, "dataset": dataset, "videos": len(load.videos), "data": data_fingerprint(load),
            "config": config_key(config), "seed": seed,
            "device": str(device).split(":")[0], "mmnet": __version__}


def _interval(i: Interval) -> dict:
    # not Interval.to_dict: that rounds the score, and the MEGC matching orders predictions by it
    return {"onset": i.onset, "apex": i.apex, "offset": i.offset, "type": i.type, "label": i.label,
            "score": None if i.score is None else float(i.score), "probabilities": i.probabilities}


class FoldRecords:
    """The fold records of one LOSO in ``folder`` for ``settings`` (``loso_settings``)."""

    def __init__(self, folder: str | Path, settings: dict):
        self.folder = Path(folder)
        self.settings = settings
        self.reusable: dict[str, dict] = {}
        self.stale: dict[str, list[str]] = {}  # file name -> the settings that differ
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                subject = record["subject"]
                old = record["settings"]
            except (OSError, ValueError, KeyError, TypeError):
                self.stale[path.name] = ["unreadable"]
                continue
            differ = sorted(k for k in set(settings) | set(old) if settings.get(k) != old.get(k))
            if differ or path.name != self.file_name(subject):
                self.stale[path.name] = differ or ["file name"]
            else:
                self.reusable[subject] = record

    @staticmethod
    def file_name(subject: str) -> str:
        return safe_name(str(subject), _UNSAFE) + ".json"

    def check_names(self, subjects) -> None:
        """Raise a ConfigError when two subjects' records would share a file, also on a file system that ignores
        case (macOS, Windows: 's01' and 'S01'): one fold's record would overwrite the other's, and a resume would
        take one subject's predictions for the other's."""
        from ..errors import ConfigError

        seen: dict[str, str] = {}
        for subject in subjects:
            other = seen.setdefault(self.file_name(subject).casefold(), subject)
            if other != subject:
                raise ConfigError(f"LOSO subjects {other!r} and {subject!r} would share the fold record "
                                  f"'{self.folder / self.file_name(subject)}' on a file system that ignores letter "
                                  "case (macOS, Windows), so one fold's record would replace the other's: rename one "
                                  "of the two subjects in the annotations (and its frame folder).")

    def summary(self, subjects: list[str]) -> str:
        """One line: how many folds are reused, and whether older records were set aside."""
        reused = sum(s in self.reusable for s in subjects)
        line = (f"LOSO: {reused} of {len(subjects)} folds reused from {self.folder}, {len(subjects) - reused} "
                "to compute" if reused else f"LOSO: {len(subjects)} folds to compute; each finished one is kept in "
                f"{self.folder}")
        if self.stale:
            differ = sorted({k for v in self.stale.values() for k in v})
            line += (f"\nLOSO: {len(self.stale)} fold record(s) in {self.folder} were made with other settings "
                     f"({', '.join(differ)} differ); they are not reused and are replaced as the folds finish")
        return line

    def get(self, subject: str) -> dict | None:
        """The reusable record of ``subject``'s fold, its predictions as ``Interval``s; None if there is none."""
        record = self.reusable.get(subject)
        if record is None:
            return None
        predictions = {v: [Interval(**d) for d in ivs] for v, ivs in record["predictions"].items()}
        return {**record, "predictions": predictions}

    def put(self, fold: dict, predictions: dict[str, list[Interval]], seconds: dict,
            notes: dict[str, list[str]] | None = None) -> None:
        """Write one finished fold (atomically: an interrupted write leaves no half record); ``notes``: video id ->
        what its spotting could not vouch for."""
        record = {"settings": self.settings, "subject": fold["subject"], "videos": fold["videos"], "fit": fold["fit"],
                  "predictions": {v: [_interval(i) for i in ivs] for v, ivs in predictions.items()},
                  "notes": notes or {}, "time_s": seconds}
        atomic_write_text(self.folder / self.file_name(fold["subject"]), json.dumps(record, indent=1) + "\n")
