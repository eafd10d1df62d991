"""Read and check a LOSO run folder, as training writes it (layout: :mod:`mmnet.run_folder`), for scoring.

A fold folder without ``done.json`` is unfinished: it is listed, never scored. Everything that
does not add up (a prediction for an unknown sample, a true label that disagrees with
samples.csv, a sample tested twice, epochs with different test sets) is an error, because a
report built on it could not be audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .. import run_folder as rf
from ..data.common import natural_key
from ..errors import MMNetError
from ..shell_words import shell_quote
from .synthetic_inferred import inferred_synthetic

__all__ = ["RunFolderError", "Fold", "Run", "load_run", "read_predictions", "config_value", "read_csv", "read_json",
           "RUN_TABLE_REMEDY"]

_TEXT_COLUMNS = {"sample_id": str, "subject": str, "dataset": str, "clip": str, "label": str, "reason": str,
                 "check": str, "severity": str, "message": str, "cde_subject": str, "cde_clip": str}
POOLED_PREDICTIONS = "pooled_predictions.csv"  # the report's table of the scored predictions


class RunFolderError(MMNetError, ValueError):
    """A run folder whose files are missing or do not agree with each other."""


@dataclass
class Fold:
    """One fold folder of one seed. ``done`` is None for an unfinished fold (then nothing else is read)."""

    seed: int
    name: str  # folder name, e.g. "fold-sub01"
    path: Path
    done: dict | None = None
    history: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    # samples of the fold's test subjects that its predictions.csv has no rows for, though the fold finished
    missing: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.done is not None


@dataclass
class Run:
    """Everything read from a run folder; ``issues`` holds non-fatal findings for the report."""

    path: Path
    config: dict
    env: dict
    classes: list[str]
    samples: pd.DataFrame
    skipped: pd.DataFrame
    expected_seeds: list[int]
    folds: dict[int, list[Fold]] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    # issues.csv: the data's warnings about the samples used or the protocol (none in runs written before it)
    data_issues: list[dict] = field(default_factory=list)


def read_csv(path: Path, required: tuple[str, ...], remedy: str = "", *, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """The table, or an error naming the file; ``remedy`` (what to do) is the caller's: a fold's file and the
    run's own tables are mended differently (a fold's errors get theirs from ``_read_fold_or_say_how``).
    ``text``: columns read as text besides the usual ones (sample_id, subject, dataset, clip, label, reason)."""
    try:
        # keep_default_na=False: a subject called "NA" stays a string, an empty cell stays "".
        df = pd.read_csv(path, dtype={**_TEXT_COLUMNS, **dict.fromkeys(text, str)}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RunFolderError(
            f"'{path}' is not a readable CSV table ({exc}). {remedy}".rstrip()
        ) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RunFolderError(
            f"'{path}' lacks column(s) {missing}; found {list(df.columns)}. Expected at least {list(required)}."
        )
    return df


def _int_column(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise RunFolderError(
            f"'{path}' row {row + 2}: column '{column}' = {df[column].iloc[row]!r}, expected an integer."
        )
    return values.astype("int64")


def read_json(path: Path) -> dict:
    """A run folder's JSON object, or an error naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"'{path}' is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"'{path}' must hold a JSON object, got {type(data).__name__}.")
    return data


def config_value(cfg: dict, dotted: str, default=None):
    """``cfg["a"]["b"]`` for ``"a.b"``, or ``default`` where a level is missing."""
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _classes(config: dict, samples: pd.DataFrame, path: Path) -> list[str]:
    """Class names in logit order: config data.classes, else derived from samples.csv."""
    by_index = samples.groupby("class_index")["label"].unique()
    names = config_value(config, "data.classes")
    if names is not None:
        # label may be the annotated emotion ("fear") of a merged class ("negative"): not compared.
        names = [str(n) for n in names]
        for i in by_index.index:
            if not 0 <= int(i) < len(names):
                raise RunFolderError(f"samples.csv class_index {int(i)} is outside data.classes {names}.")
        return names
    clash = {int(i): list(v) for i, v in by_index.items() if len(v) > 1}
    if clash:
        raise RunFolderError(f"'{path / 'samples.csv'}': class names cannot be derived, one class_index has several "
                             f"labels {clash}; write data.classes into config.yaml.")
    n = int(samples["class_index"].max()) + 1 if len(samples) else 0
    return [str(by_index[i][0]) if i in by_index.index else f"class_{i}" for i in range(n)]


RUN_TABLE_REMEDY = ("`mmnet train` writes it when the run starts: restore it from a copy, or train again into a "
                    "new --out folder.")
FOLD_REMEDY = ("To redo this fold, delete its done.json and rerun the same `mmnet train` command (the other "
               "finished folds are kept).")


def _read_fold_or_say_how(run: Run, seed: int, path: Path, sample_index: pd.DataFrame) -> Fold:
    """``_read_fold``; a damaged fold's error also says how to redo it (the one place that says it)."""
    try:
        return _read_fold(run, seed, path, sample_index)
    except RunFolderError as exc:
        raise RunFolderError(f"{exc} {FOLD_REMEDY}") from None


def _read_fold(run: Run, seed: int, path: Path, sample_index: pd.DataFrame) -> Fold:
    fold = Fold(seed=seed, name=path.name, path=path)
    done_path = path / rf.DONE
    if not done_path.is_file():
        return fold
    fold.done = read_json(done_path)
    hist_path = path / rf.HISTORY
    if hist_path.is_file():
        fold.history = read_csv(hist_path, ("epoch",))
        fold.history["epoch"] = _int_column(fold.history, "epoch", hist_path)
    else:
        run.issues.append(f"seed {seed} {path.name}: history.csv is missing; learning curves leave this fold out.")

    pred_path = path / rf.PREDICTIONS
    if not pred_path.is_file():
        raise RunFolderError(f"'{path}' has done.json but no predictions.csv.")
    pred = read_csv(pred_path, ("epoch", "sample_id", "true", "pred"))
    for col in ("epoch", "true", "pred"):
        pred[col] = _int_column(pred, col, pred_path)
    n_classes = len(run.classes)
    for col in ("true", "pred"):
        bad = (pred[col] < 0) | (pred[col] >= n_classes)
        if bad.any():
            raise RunFolderError(
                f"'{pred_path}': column '{col}' holds {int(pred[col][bad].iloc[0])}, outside 0..{n_classes - 1}."
            )
    for col in [c for c in pred.columns if str(c).startswith("prob_")]:
        # the pooled table hands these on to readers: a damaged or NaN probability is named, not passed on
        values = pd.to_numeric(pred[col], errors="coerce")
        bad = ~(values.between(0.0, 1.0))  # NaN and text (coerced to NaN) fail too
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise RunFolderError(f"'{pred_path}' row {row + 2}: column '{col}' holds {pred[col].iloc[row]!r}, not a "
                                 "class score in [0, 1]; the file is damaged.")
        pred[col] = values
    unknown = sorted(set(pred["sample_id"]) - set(sample_index.index))
    if unknown:
        raise RunFolderError(f"'{pred_path}' predicts {len(unknown)} sample(s) not in samples.csv, e.g. {unknown[:3]}.")
    dup = pred.duplicated(["epoch", "sample_id"])
    if dup.any():
        r = pred[dup].iloc[0]
        raise RunFolderError(f"'{pred_path}' has two rows for sample {r['sample_id']!r} at epoch {r['epoch']}.")
    expected_true = sample_index.loc[pred["sample_id"], "class_index"].to_numpy()
    wrong = pred["true"].to_numpy() != expected_true
    if wrong.any():
        r = pred[wrong].iloc[0]
        raise RunFolderError(
            f"'{pred_path}': sample {r['sample_id']!r} has true={r['true']} but samples.csv says "
            f"{int(sample_index.loc[r['sample_id'], 'class_index'])}; the run mixes label schemes."
        )
    sets = pred.groupby("epoch")["sample_id"].apply(frozenset)
    if sets.nunique() > 1:
        raise RunFolderError(
            f"'{pred_path}': the test samples differ between epochs {list(sets.index)}; "
            "each epoch must test the whole fold."
        )
    epochs = fold.done.get("epochs")
    if epochs is not None and int(pred["epoch"].max()) != int(epochs):
        raise RunFolderError(
            f"'{pred_path}': last epoch {int(pred['epoch'].max())} but done.json says epochs={epochs}."
        )
    # subject/dataset come from samples.csv: one source of truth for identities.
    pred["subject"] = sample_index.loc[pred["sample_id"], "subject"].to_numpy()
    pred["dataset"] = sample_index.loc[pred["sample_id"], "dataset"].to_numpy()
    tested = set(fold.done.get("test_subjects") or [])
    if tested:
        subj = pred.drop_duplicates("sample_id")
        # LOSO names a subject ('01' or 'casme2/01'); leave-one-dataset-out names the dataset.
        ok = [s in tested or d in tested or f"{d}/{s}" in tested or f"{d}_{s}" in tested
              for s, d in zip(subj["subject"], subj["dataset"])]
        if not all(ok):
            odd = sorted(set(subj["subject"][[not o for o in ok]]))
            run.issues.append(
                f"seed {seed} {path.name}: predicts subjects {odd} not in done.json test_subjects {sorted(tested)}."
            )
    # A finished fold tested every sample of its subjects: one without rows lost them from the file.
    # A bare subject name in test_subjects is matched only when it cannot be another dataset's subject.
    predicted_subjects = set(zip(pred["dataset"], pred["subject"]))
    one_dataset = sample_index["dataset"].nunique() == 1
    of_fold = [(d, s) in predicted_subjects or d in tested or f"{d}/{s}" in tested or f"{d}_{s}" in tested
               or (one_dataset and s in tested) for d, s in zip(sample_index["dataset"], sample_index["subject"])]
    lost = set(sample_index.index[of_fold]) - set(pred["sample_id"]) - set(run.skipped["sample_id"])
    fold.missing = sorted(lost, key=natural_key)
    fold.predictions = pred.sort_values(["epoch", "sample_id"], kind="stable").reset_index(drop=True)
    return fold


def read_predictions(run_dir: str | Path) -> pd.DataFrame:
    """A run's scored predictions (``RUN/pooled_predictions.csv``, written with its report) as a DataFrame, one
    row per (seed, selection, sample). Subject, sample and label columns stay text: subject ``"01"`` is not read
    as the number 1, so the table joins with ``Sample.subject`` and ``sample_id`` of ``load_dataset``."""
    path = Path(run_dir) / POOLED_PREDICTIONS
    if not path.is_file():
        raise RunFolderError(f"'{path}' does not exist: build the run's report first "
                             f"(`mmnet report {shell_quote(run_dir)}`, or mmnet.report.build_report).")
    return read_csv(path, ("seed", "selection", "fold", "epoch", "sample_id", "subject", "true", "pred"),
                    f"Rebuild it: `mmnet report {shell_quote(run_dir)}`.",
                    text=("selection", "fold", "true_label", "pred_label"))


def load_run(run_dir: str | Path) -> Run:
    """Read a run folder and check that its files agree (see the module docstring)."""
    root = Path(run_dir)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise RunFolderError(f"Run folder '{root}' {what}; pass the --out folder of a finished `mmnet train`.")
    issues: list[str] = []
    config: dict = {}
    if (root / rf.CONFIG).is_file():
        try:
            config = yaml.safe_load((root / rf.CONFIG).read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"'{root / rf.CONFIG}' is not valid YAML ({exc}); restore it (training writes it "
                                 "again when the same `mmnet train` command is rerun).") from None
        if not isinstance(config, dict):
            raise RunFolderError(f"'{root / rf.CONFIG}' must hold a mapping of config sections, "
                                 f"not a {type(config).__name__}; restore it by rerunning the same `mmnet train`.")
    else:
        issues.append("config.yaml is missing: the configuration cannot be audited.")
    env = read_json(root / rf.ENV) if (root / rf.ENV).is_file() else {}
    if not env:
        issues.append("env.json is missing: the environment cannot be audited.")
    env.update(inferred_synthetic(config, env, root))  # a run of mmnet 0.1.0 on synthetic faces: by its data root
    if not (root / rf.SAMPLES).is_file():
        raise RunFolderError(f"'{root}' has no samples.csv: is it a run folder written by `mmnet train`?")
    samples = read_csv(root / rf.SAMPLES, ("sample_id", "dataset", "subject", "label", "class_index"),
                        RUN_TABLE_REMEDY)
    samples["class_index"] = _int_column(samples, "class_index", root / rf.SAMPLES)
    if samples["sample_id"].duplicated().any():
        dup = samples["sample_id"][samples["sample_id"].duplicated()].iloc[0]
        raise RunFolderError(f"'{root / rf.SAMPLES}' lists sample {dup!r} twice.")
    skipped = (
        read_csv(root / rf.SKIPPED, rf.SKIPPED_COLUMNS, RUN_TABLE_REMEDY)
        if (root / rf.SKIPPED).is_file()
        else pd.DataFrame({"sample_id": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    )
    classes = _classes(config, samples, root)
    expected = [int(s) for s in (config.get("seeds") or [])]
    run = Run(root, config, env, classes, samples, skipped, expected, issues=issues)
    if (root / rf.ISSUES).is_file():
        run.data_issues = read_csv(root / rf.ISSUES, rf.ISSUES_COLUMNS, RUN_TABLE_REMEDY).to_dict("records")

    index = samples.set_index("sample_id")
    seed_dirs = {}
    for d in root.iterdir():
        m = rf.SEED_FOLDER.fullmatch(d.name)
        if m and d.is_dir():
            seed_dirs[int(m.group(1))] = d
    if not seed_dirs:
        raise RunFolderError(f"'{root}' has no seed-<S>/ folders: no fold has started yet, nothing to score.")
    for seed in sorted(seed_dirs):
        fold_dirs = sorted((d for d in seed_dirs[seed].iterdir() if d.is_dir() and d.name.startswith("fold-")),
                           key=lambda d: natural_key(d.name))
        run.folds[seed] = [_read_fold_or_say_how(run, seed, d, index) for d in fold_dirs]
        seen: dict[str, str] = {}
        for fold in run.folds[seed]:
            if fold.predictions is None:
                continue
            for sid in fold.predictions["sample_id"].unique():
                if sid in seen:
                    raise RunFolderError(f"seed {seed}: sample {sid!r} is tested in both {seen[sid]} and {fold.name}.")
                seen[sid] = fold.name
    extra = sorted(set(seed_dirs) - set(expected)) if expected else []
    if extra:
        issues.append(f"seed folder(s) {extra} are not in config seeds {expected}; they are reported too.")
    return run
