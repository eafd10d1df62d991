"""A sweep's scores per dataset, for settings that score several (a composite under LOSO, each held-out dataset
of a LODO run): ``OUT/summary_per_dataset.csv`` and summary.md's "Per dataset" table. The pooled number of a
LODO setting mixes separate models (one per held-out dataset); these rows say what each one scored."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..report.render import format_mean_std
from ..utils import atomic_write_text

__all__ = ["PER_DATASET_CSV", "dataset_rows", "write_per_dataset", "per_dataset_markdown", "tested_on_cell",
           "write_rows_csv"]

PER_DATASET_CSV = "summary_per_dataset.csv"
_METRICS = ("acc", "uf1", "uar")


def dataset_rows(setting: str, summary: dict) -> list[dict]:
    """One row per dataset a setting's run scored (summarize_run's ``per_dataset``); none for a run of one."""
    rows = []
    for dataset, b in (summary.get("per_dataset") or {}).items():
        trained = b.get("trained_on")
        row = {"setting": setting, "protocol": summary.get("protocol"), "tested_on": dataset,
               "trained_on": "+".join(trained) if trained else None, "n_seeds": b["n_seeds"], "n_samples": b["n"]}
        for m in _METRICS:
            row[f"{m}_mean"], row[f"{m}_std"] = b["mean"][m], b["std"][m]
        rows.append(row)
    return rows


def write_rows_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` (dicts with the first one's keys) as a CSV, fractions to 6 decimals, as the run folder's tables: a
    full repr (0.41666666666666663) claims digits the scores do not have, and a tiny one would come out as 1e-07."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows({k: f"{v:.6f}" if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    atomic_write_text(path, buf.getvalue())


def write_per_dataset(out: Path, rows: list[dict]) -> None:
    """``summary_per_dataset.csv`` (fractions to 6 decimals, as summary.csv); nothing without such rows."""
    if rows:
        write_rows_csv(Path(out) / PER_DATASET_CSV, rows)


def per_dataset_markdown(rows: list[dict]) -> list[str]:
    """summary.md's table of each setting's datasets (LODO: each row a separate model); none without rows."""
    if not rows:
        return []
    lines = ["", "## Per dataset", "",
             "Each setting's scores on each dataset it tested (summary_per_dataset.csv). Under LODO each row is a "
             "separate model, trained on the datasets named and tested on the held-out one; the table above pools "
             "their predictions. Mean ± std over seeds, last epoch.", "",
             "| setting | protocol | tested on | trained on | seeds | n | Acc % | UF1 | UAR |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [format_mean_std(r[f"{m}_mean"], r[f"{m}_std"], m == "acc", " ± ") for m in _METRICS]
        trained = r["trained_on"] or ("every dataset's other subjects" if r["protocol"] == "loso" else "-")
        lines.append(f"| {r['setting']} | {(r['protocol'] or '-').upper()} | {r['tested_on']} | {trained} | "
                     f"{r['n_seeds']} | {r['n_samples']} | " + " | ".join(cells) + " |")
    return lines


def tested_on_cell(row: dict) -> str:
    """summary.md's and the terminal's protocol and tested-on cells' text for a summary row: 'LODO: samm'."""
    if not row.get("protocol"):
        return "-"
    return f"{row['protocol'].upper()}: {row.get('tested_on') or '-'}"
