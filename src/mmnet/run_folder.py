"""The run folder: its file names and CSV columns, the contract between training and the report.

Layout (training writes it, ``mmnet report`` reads it; docs/reports.md describes each file)::

    RUN/config.yaml          resolved config (data.classes, eval.selection, train.epochs, seeds)
    RUN/env.json             versions, device, git revision, dataset fingerprint, frames and labels digests
    RUN/samples.csv          SAMPLES_COLUMNS: every sample used (the composite adds CDE_COLUMNS)
    RUN/skipped.csv          SKIPPED_COLUMNS: optional, every sample left out and why
    RUN/issues.csv           ISSUES_COLUMNS: optional, the data's warnings about the samples used or the whole
                             protocol (a list other than the official one, a later annotation release ...)
    RUN/frame_notes.csv      FRAME_NOTES_COLUMNS: optional, frames clamped to what is on disk
    RUN/seed-<S>/fold-<NAME>/history.csv       HISTORY_COLUMNS
    RUN/seed-<S>/fold-<NAME>/predictions.csv   prediction_columns(num_classes)
    RUN/seed-<S>/fold-<NAME>/state.pt          resume state of an unfinished fold (removed when done)
    RUN/seed-<S>/fold-<NAME>/model/            the fold's final model (train.save_models)
    RUN/seed-<S>/fold-<NAME>/done.json         marks a finished fold; records its FOLD_NUMERICS and FOLD_SOFTWARE
    RUN/.driver.lock         lock of the command driving the run (pid, host, start time): a second is refused
    RUN/mmnet.log, status.json  each start's lines (timestamped) and exit code; the state while it runs (run_log)
    RUN/slurm-jobs.json      SLURM executor: the job that last ran each fold (a rerun follows a queued job)
    RUN/slurm-logs/          SLURM executor: submitit's job files and each job's stdout/stderr (default place)
    RUN/tensorboard/         train.tensorboard: TensorBoard event files, a folder per fold as above
                             (seed-<S>/fold-<NAME>/, final/) and summary/ (the run's scores); not read by the report
    RUN/final/                 the final fit (train.final_fit): a fold folder without a test subject
                               (history.csv, state.pt while unfinished, done.json, model/), plus
    RUN/final/MODEL_CARD.md    the model card, and model_card.json (the same, for programs); an identical
                               copy of both in RUN/final/model/, so the model folder carries its card

Spot then recognise (a long-video dataset) adds::

    RUN/truth.csv            TRUTH_COLUMNS: every annotated interval of every recording (micro and macro)
    RUN/truth_types.txt      the interval types the annotation covers, one a line (micro, macro); only
                             these are scored (absent, as in runs written before it: both)
    RUN/videos.csv           VIDEOS_COLUMNS: every recording and the fold that spots it
    RUN/spotting/<video>.json  a training-free spotter's result per recording, reused by every fold
    RUN/seed-<S>/fold-<NAME>/spots.csv         spots_columns(classes): the fold's recordings spotted and recognised

Both sides import the names and columns from here, so they cannot drift apart.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError
from .utils import atomic_write_text, remove_stale_temporaries, stat_key

__all__ = [
    "CONFIG", "ENV", "SAMPLES", "SKIPPED", "ISSUES", "FRAME_NOTES", "HISTORY", "PREDICTIONS", "STATE", "MODEL", "DONE",
    "SLURM_JOBS", "SLURM_LOGS", "DRIVER_LOCK",
    "TENSORBOARD", "TENSORBOARD_SUMMARY", "FINAL", "MODEL_CARD", "MODEL_CARD_JSON",
    "SAMPLES_COLUMNS", "CDE_COLUMNS", "SKIPPED_COLUMNS", "ISSUES_COLUMNS", "FRAME_NOTES_COLUMNS", "HISTORY_COLUMNS",
    "PREDICTION_ID_COLUMNS",
    "SEED_FOLDER", "prediction_columns", "TRUTH", "TRUTH_TYPES", "VIDEOS", "SPOT_CACHE", "SPOTS", "TRUTH_COLUMNS",
    "VIDEOS_COLUMNS", "SPOTS_COLUMNS", "SPOTS_PACKED_COLUMNS", "spots_columns",
    "seed_folder", "fold_folder", "safe_name", "check_fold_folders", "fold_path",
    "write_csv", "saved_models", "saved_models_hint", "finished_result", "FOLD_NUMERICS", "fold_numerics",
    "fold_folders", "trained_folds", "remove_resume_state",
    "FOLD_SOFTWARE", "fold_software", "software_name", "not_listed", "split_skipped",
]

# Files of the run folder.
CONFIG = "config.yaml"
ENV = "env.json"
SAMPLES = "samples.csv"
SKIPPED = "skipped.csv"
ISSUES = "issues.csv"
FRAME_NOTES = "frame_notes.csv"
# Files of a fold folder.
HISTORY = "history.csv"
PREDICTIONS = "predictions.csv"
STATE = "state.pt"
MODEL = "model"
DONE = "done.json"
# The SLURM executor's bookkeeping (not read by the report).
SLURM_JOBS = "slurm-jobs.json"
SLURM_LOGS = "slurm-logs"
# The advisory lock of the command driving the run (train.run_lock).
DRIVER_LOCK = ".driver.lock"
# Optional TensorBoard event files (train.tensorboard; not read by the report).
TENSORBOARD = "tensorboard"
TENSORBOARD_SUMMARY = "summary"

# The final fit's folder (a fold folder) and its model card.
FINAL = "final"
MODEL_CARD = "MODEL_CARD.md"
MODEL_CARD_JSON = "model_card.json"

# Spot then recognise.
TRUTH = "truth.csv"
TRUTH_TYPES = "truth_types.txt"
VIDEOS = "videos.csv"
SPOT_CACHE = "spotting"
SPOTS = "spots.csv"

SAMPLES_COLUMNS = ("sample_id", "dataset", "subject", "clip", "label", "class_index")
# the MEGC2019 list's names of a composite sample (its subject, its clip) and its line there
CDE_COLUMNS = ("cde_subject", "cde_clip", "cde_line")
SKIPPED_COLUMNS = ("sample_id", "reason")
# skipped.csv's reason for a part's sample that a composite's list leaves out (data.composite): the protocol's
# choice, not a problem of the data, so it is counted apart and written last
NOT_LISTED = "not in "
# sample_id: a sample used, or what else the issue is about (a dataset, a list line)
ISSUES_COLUMNS = ("sample_id", "check", "severity", "message")
FRAME_NOTES_COLUMNS = ("sample_id", "note")
HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "lr", "test_loss", "test_acc", "seconds")
# label: as annotated; class: the label scheme's class ("" when the scheme does not score it)
TRUTH_COLUMNS = ("video", "subject", "onset", "apex", "offset", "type", "label", "class")
VIDEOS_COLUMNS = ("video", "subject", "fold", "fps", "first_frame", "last_frame", "frames")
# label, then one p_<class> column per class of the fold's MMNet (spots_columns): its class and probabilities for a
# micro interval; empty for macro intervals (and a micro one it could not classify)
SPOTS_COLUMNS = ("video", "subject", "onset", "apex", "offset", "type", "score", "label")
# spots.csv as runs wrote it before the p_ columns: the probabilities packed in one cell, "class=p;..." (read still)
SPOTS_PACKED_COLUMNS = (*SPOTS_COLUMNS, "probabilities")
PREDICTION_ID_COLUMNS = ("epoch", "sample_id", "subject", "dataset", "true", "pred")

SEED_FOLDER = re.compile(r"seed-(-?\d+)")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def prediction_columns(num_classes: int) -> tuple[str, ...]:
    """predictions.csv: one row per (epoch, test sample), then the class probabilities."""
    return PREDICTION_ID_COLUMNS + tuple(f"prob_{c}" for c in range(num_classes))


def spots_columns(classes) -> tuple[str, ...]:
    """spots.csv: ``SPOTS_COLUMNS``, then ``p_<class>`` per class of the fold's model, in its order."""
    return SPOTS_COLUMNS + tuple(f"p_{c}" for c in classes)


def not_listed(reason: str) -> bool:
    """Whether a skipped.csv reason is a composite's list leaving the sample out (not a data problem)."""
    return str(reason).startswith(NOT_LISTED)


def split_skipped(rows) -> tuple[list, dict[str, int]]:
    """skipped.csv's (sample id, reason) rows: those skipped for a problem, in order, and the count of those a
    composite's list leaves out, by the list's file name."""
    problems, unlisted = [], {}
    for sample_id, reason in rows:
        if not_listed(reason):
            name = str(reason)[len(NOT_LISTED):]
            unlisted[name] = unlisted.get(name, 0) + 1
        else:
            problems.append((sample_id, reason))
    return problems, unlisted


def seed_folder(seed: int) -> str:
    return f"seed-{seed}"


def safe_name(name: str, unsafe: re.Pattern = _UNSAFE, plain: str = "") -> str:
    """``name`` with anything but ASCII letters, digits, ``._-`` replaced by ``_``. When anything but a character of
    ``plain`` was replaced, a short hash of the original follows, so that names differing only there (``张三``,
    ``李四``) stay apart; other names keep the form earlier runs gave their folders and files."""
    safe = unsafe.sub("_", name)
    if not unsafe.search(name.translate({ord(c): "_" for c in plain})):
        return safe
    return f"{safe}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


def fold_folder(name: str) -> str:
    """A fold's folder name: ``fold-`` and its ``safe_name``; the '/' of a LOSO fold's 'dataset/subject' is a plain
    '_' (``check_fold_folders`` refuses the names that would then meet)."""
    return "fold-" + safe_name(name, plain="/")


def check_fold_folders(folds) -> None:
    """Raise a ConfigError when two fold names would share a folder (one fold would never run), also on a file
    system that ignores case (macOS, Windows: 'Q' and 'q')."""
    seen: dict[str, str] = {}
    for name in folds:
        other = seen.setdefault(fold_folder(name).casefold(), name)
        if other != name:
            raise ConfigError(f"folds {other!r} and {name!r} would share the folder {fold_folder(name)!r}, so one "
                              "of them would never run; rename one of the two subjects in the annotations")


def fold_path(run_dir: str | Path, seed: int, fold: str) -> Path:
    return Path(run_dir) / seed_folder(seed) / fold_folder(fold)


def fold_folders(run_dir: str | Path) -> list[Path]:
    """The run's fold folders and its final fit's (which may not exist yet)."""
    return [*Path(run_dir).glob("seed-*/fold-*"), Path(run_dir) / FINAL]


def trained_folds(run_dir: str | Path) -> list[Path]:
    """The fold folders (the final fit's too) where an epoch has finished: then the run's config may not change."""
    return [fold for fold in fold_folders(run_dir) if any((fold / name).exists() for name in (HISTORY, STATE, DONE))]


def finished_result(fold_dir: str | Path) -> dict | None:
    """A finished fold's done.json (a JSON object, with its predictions.csv beside it), else None."""
    fold_dir = Path(fold_dir)
    try:
        record = json.loads((fold_dir / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and (fold_dir / PREDICTIONS).is_file() else None


#: What a fold's numbers depend on beyond its config: where "auto" resolved (device, precision, memory format) and
#: the torch thread count. Each done.json records the values its fold trained with; env.json those of the run's start.
FOLD_NUMERICS = ("device", "precision", "memory_format", "torch_threads")


def fold_numerics(done: dict, env: dict) -> dict:
    """A finished fold's FOLD_NUMERICS: its done.json's, and where an older done.json lacks one, env.json's (None
    when neither has it). env.json's device also names the card ("cuda:0 (NVIDIA ...)"): the device alone."""
    started = {k: env.get(k) for k in FOLD_NUMERICS}
    if isinstance(started["device"], str):
        started["device"] = started["device"].split(" (")[0]
    return {k: done[k] if done.get(k) is not None else started[k] for k in FOLD_NUMERICS}


#: The mmnet that trained a fold (a resume after an upgrade trains the rest with another): each done.json records it;
#: the code digest tells installed mmnets apart, which have no git revision (absent before 0.2.0).
FOLD_SOFTWARE = ("mmnet_version", "git_revision", "code_digest")


def fold_software(done: dict, env: dict) -> dict:
    """A finished fold's FOLD_SOFTWARE: its done.json's; a done.json of before they were recorded, env.json's (the
    mmnet that started the run)."""
    recorded = "mmnet_version" in done
    return {k: done.get(k) if recorded else env.get(k) for k in FOLD_SOFTWARE}


def software_name(software: dict) -> str:
    """``mmnet 0.2.0 (git revision 1ac4fea..., code sha256:5f2c0e1d9a7b)``: the report's, card's and resume's name."""
    parts = (("git revision", software.get("git_revision"), 99), ("code", software.get("code_digest"), 19))
    known = [f"{what} {str(value)[:n]}" for what, value, n in parts if value]  # what the record holds of the two
    return f"mmnet {software.get('mmnet_version') or 'unknown'}" + (f" ({', '.join(known)})" if known else "")


def write_csv(path: str | Path, columns: tuple[str, ...], rows) -> None:
    """Write a CSV of the run folder atomically (readers never see half a file)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def data_changes(run_dir: str | Path, fingerprint: str, sample_rows, frames_digest: str | None = None,
                 version1: Callable[[], bool] | None = None) -> list[str]:
    """How the data a run is resumed on differs from what its first start recorded (env.json's frames digest,
    samples.csv's samples and labels), one phrase each; [] when it is the same or unrecorded.

    The digest is of the decoded frames, not of where their files lie: the same dataset moved or copied
    elsewhere resumes. Runs started before it was recorded compare the cache's fingerprint (paths, sizes
    and file times) instead; ``version1()`` says whether it is the same files under frame cache version 1, decoded
    alike (True: no change), or raises a ConfigError where that version decoded them otherwise
    (train.cache_version1)."""
    import json

    run_dir = Path(run_dir)
    changes = []
    try:
        env = json.loads((run_dir / ENV).read_text(encoding="utf-8"))
        saved_digest, saved = env.get("frames_digest"), env.get("dataset_fingerprint")
    except (OSError, ValueError, AttributeError):
        saved_digest = saved = None
    if saved_digest and frames_digest:
        if saved_digest != frames_digest:
            changes.append(f"the frames differ (digest of the decoded frames {saved_digest} -> {frames_digest}: a "
                           "frame modified, added or removed, an onset or apex moved, or another mmnet frame "
                           "decoding)")
    elif saved and saved != fingerprint and not (version1 is not None and version1()):
        changes.append(f"the frame files differ (fingerprint {saved} -> {fingerprint}: a frame modified, added, "
                       "removed or copied anew, or another mmnet frame-cache format; this run's env.json has no "
                       "frames digest, so its frames are known by path and file time only: a moved copy differs)")
    try:
        with open(run_dir / SAMPLES, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if "sample_id" not in (reader.fieldnames or ()):  # 0 bytes, or no table: not a change of the data
                raise ConfigError(f"'{run_dir / SAMPLES}' is damaged ({(run_dir / SAMPLES).stat().st_size} bytes, "
                                  "no sample_id column): it lists the samples this run's finished folds were "
                                  "trained on, so the data cannot be checked against it. Put back a copy of it, or "
                                  "use --restart to move this run aside and train anew.")
            old = {r["sample_id"]: [r.get(c, "") for c in SAMPLES_COLUMNS] for r in reader}
    except (OSError, KeyError, csv.Error):
        return changes
    new = {str(r[0]): [str(v) for v in r] for r in sample_rows}
    for what, ids in (("samples added", sorted(new.keys() - old.keys())),
                      ("samples gone", sorted(old.keys() - new.keys())),
                      ("samples relabelled", sorted(k for k in new.keys() & old.keys() if new[k] != old[k]))):
        if ids:
            changes.append(f"{len(ids)} {what} (e.g. {', '.join(ids[:3])})")
    return changes


def remove_finished_leftovers(fold_dir: Path) -> None:
    """What a kill between a fold's done.json and its end left beside it: the resume state (~110 MB) and
    half-written temporaries. Called wherever a finished fold is recognised, so they are not kept forever."""
    remove_resume_state(fold_dir)
    remove_stale_temporaries(fold_dir, time.time())


def remove_resume_state(fold_dir: Path) -> None:
    """A finished fold's resume state, and the damaged ones set aside (state.pt.corrupt, tens of MB each): kept for
    a look while the fold trained again, of no use once it is done."""
    for path in [fold_dir / STATE, *fold_dir.glob(f"{STATE}.corrupt*")]:
        path.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_sha256(path: Path) -> str:
    """``file_sha256`` of a model's weights, hashed once: one command checks the model card against them, records
    and summarises the model, and identifies kept classes by them (hundreds of MB each time). Keyed by the resolved
    path and ``utils.stat_key``, so that weights replaced since (a server's model, a retrained one) are hashed anew."""
    resolved = Path(path).resolve()
    return _hashed(resolved, stat_key(resolved))


@functools.lru_cache(maxsize=16)
def _hashed(path: Path, key: tuple[int, ...]) -> str:
    return file_sha256(path)


def model_digest_problem(weights: Path, weights_name: str) -> str | None:
    """For a fold's saved model (``FOLD/model/<weights_name>``): a line naming it when its sha256 is not the one
    the fold's done.json recorded (its bytes changed after training, which loading it would not notice); None
    when they agree, or for any other file (config.json beside it has no recorded digest). ``weights_name``:
    as for :func:`saved_models`."""
    done = weights.parent.parent / DONE
    if weights.name != weights_name or weights.parent.name != MODEL or not done.is_file():
        return None
    try:
        recorded = json.loads(done.read_text(encoding="utf-8")).get("model_sha256")
    except (OSError, ValueError, AttributeError):
        return None  # a damaged done.json is named where the run is resumed
    if not isinstance(recorded, str) or (actual := file_sha256(weights)) == recorded:
        return None
    return (f"'{weights}' is damaged: its sha256 ({actual[:16]}...) is not the one '{done}' recorded when the fold "
            f"saved it ({recorded[:16]}...). Rerun the run's command to train the fold again, or restore the file.")


def saved_models(run_dir: str | Path, weights_name: str) -> list[Path]:
    """The weights files of the folds' saved models (train.save_models) in a run folder, sorted. ``weights_name``
    is mmnet.model.mmnet.WEIGHTS_NAME, passed in because the model module imports this one."""
    return sorted(Path(run_dir).glob(f"seed-*/fold-*/{MODEL}/{weights_name}"))


def saved_models_hint(path: Path, weights_name: str) -> str:
    """For an error about a checkpoint at ``path``: when it is a training run folder (a common slip), where
    its models (``weights_name`` files) are or why it has none; "" otherwise."""
    if not path.is_dir():
        return ""
    # a run folder (seed-0/fold-x/model), or the folder of `mmnet demo` above one (demo-run/run/seed-0/...)
    models = [m for pattern in ("model", "*/model", "*/*/model", "*/*/*/model")
              for m in sorted(path.glob(f"{pattern}/{weights_name}"))]
    if models:
        shown = ", ".join(str(m.parent) for m in models[:3]) + (", ..." if len(models) > 3 else "")
        return f" The models under '{path}' (give one of them): {shown}."
    if (path / "config.yaml").is_file():
        return (f" '{path}' is a run folder without saved models: train with --set train.save_models=true "
                "(one model per fold) or --final-fit (one model on every subject).")
    # a seed-N or seed-N/fold-NAME folder inside such a run
    kind = path.name.split("-", 1)[0]
    run = {"seed": path.parent, "fold": path.parent.parent if path.parent.name.startswith("seed-") else None}.get(kind)
    if run is not None and (run / "config.yaml").is_file():
        return (f" '{path}' is a {kind} folder of the run '{run}', which was trained without "
                f"saved models: rerun it with `mmnet train ... --out {run} --restart --set train.save_models=true` "
                "(one model per fold; --restart moves the earlier run aside) or --final-fit (one model on every "
                "subject).")
    return ""


# mmnet 0.1.0 read a run folder here (load_run); it is mmnet.report's now. Kept until 0.3.0, with a warning.
def __getattr__(name: str) -> object:
    from .lazy_names import RUN_FOLDER_MOVED, moved_name

    return moved_name(__name__, RUN_FOLDER_MOVED, name)
