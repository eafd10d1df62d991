"""Write fake LOSO run folders in the trainer's layout (config.yaml, env.json, samples.csv, seed-*/fold-*)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import yaml

CLASSES = ["negative", "positive", "surprise"]


def make_samples(subjects: dict[str, list[int]], dataset: str = "casme2") -> list[dict]:
    """One sample per label in ``subjects[subject]``: {sample_id, dataset, subject, clip, label, class_index}."""
    rows = []
    for subject, labels in subjects.items():
        for k, c in enumerate(labels):
            clip = f"EP{k:02d}"
            rows.append({"sample_id": f"{dataset}/{subject}/{clip}", "dataset": dataset, "subject": subject,
                         "clip": clip, "label": CLASSES[c], "class_index": c})
    return rows


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def write_run(
    root: Path,
    samples: list[dict],
    predict: Callable[[int, int, dict], int],
    *,
    epochs: int = 3,
    seeds: tuple[int, ...] = (0,),
    config_seeds: tuple[int, ...] | None = None,
    selection: str = "last",
    unfinished: tuple[str, ...] = (),
    classes: list[str] = CLASSES,
) -> Path:
    """Write a run folder; one fold per (dataset, subject); ``predict(seed, epoch, sample)`` gives the class.

    Folds named in ``unfinished`` (subject names) get a partial history and no done.json.
    """
    root.mkdir(parents=True, exist_ok=True)
    cfg = {"data": {"dataset": samples[0]["dataset"], "scheme": "test-3class", "classes": classes},
           "train": {"epochs": epochs, "lr": 8e-4}, "eval": {"selection": selection},
           "seeds": list(config_seeds if config_seeds is not None else seeds)}
    (root / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {"mmnet_version": "0.1.0", "torch_version": "2.x", "python": "3.x", "platform": "test", "device": "cpu",
           "precision": "fp32", "git_revision": "abc123", "dataset_fingerprint": "sha1:feed",
           "started_at": "2025-01-01T00:00:00"}
    (root / "env.json").write_text(json.dumps(env))
    _write_csv(root / "samples.csv", samples, ["sample_id", "dataset", "subject", "clip", "label", "class_index"])
    groups: dict[tuple[str, str], list[dict]] = {}
    for s in samples:
        groups.setdefault((s["dataset"], s["subject"]), []).append(s)
    multi = len({d for d, _ in groups}) > 1
    for seed in seeds:
        for (dataset, subject), test in groups.items():
            name = f"fold-{dataset}_{subject}" if multi else f"fold-{subject}"
            fold_dir = root / f"seed-{seed}" / name
            done = subject not in unfinished
            last = epochs if done else max(1, epochs - 1)
            preds, hist = [], []
            for e in range(1, last + 1):
                correct = 0
                for s in test:
                    p = predict(seed, e, s)
                    correct += p == s["class_index"]
                    probs = [0.1] * len(classes)
                    probs[p] = 1 - 0.1 * (len(classes) - 1)
                    preds.append({"epoch": e, "sample_id": s["sample_id"], "subject": subject, "dataset": dataset,
                                  "true": s["class_index"], "pred": p,
                                  **{f"prob_{i}": f"{v:.2f}" for i, v in enumerate(probs)}})
                hist.append({"epoch": e, "train_loss": 1.0 / e, "train_acc": 1 - 0.5 / e, "lr": 8e-4,
                             "test_loss": 1.2 / e, "test_acc": correct / len(test), "seconds": 1.0})
            _write_csv(fold_dir / "history.csv", hist, list(hist[0]))
            fields = ["epoch", "sample_id", "subject", "dataset", "true", "pred",
                      *[f"prob_{i}" for i in range(len(classes))]]
            if done:
                _write_csv(fold_dir / "predictions.csv", preds, fields)
                (fold_dir / "done.json").write_text(json.dumps(
                    {"fold": f"{dataset}/{subject}" if multi else subject, "test_subjects": [subject],  # as fold.py
                     "epochs": epochs, "seconds": 3.0}))
    return root


def mark_started(out: Path) -> None:
    """Make the run at ``out`` look started: a fold with a finished epoch."""
    (out / "seed-0" / "fold-x").mkdir(parents=True)
    (out / "seed-0" / "fold-x" / "history.csv").write_text("epoch\n1\n")


def as_frame_cache_version1(out: Path, channels_last: bool | None = None) -> dict:
    """Make the run at ``out`` (prepared by today's mmnet) look started by an mmnet of frame cache version 1: no
    ``frames_digest`` in its env.json, whose ``dataset_fingerprint`` is "fingerprint-v1"; with ``channels_last``,
    a config.yaml of before train.memory_format. Returns the env.json written."""
    env = json.loads((out / "env.json").read_text())
    del env["frames_digest"]  # as runs started before it was recorded
    env["dataset_fingerprint"] = "fingerprint-v1"
    (out / "env.json").write_text(json.dumps(env))
    if channels_last is not None:  # of before train.memory_format: read as channels_last
        saved = yaml.safe_load((out / "config.yaml").read_text())
        del saved["train"]["memory_format"]
        saved["train"]["channels_last"] = channels_last
        (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    mark_started(out)
    return env
