"""The summary of ``mmnet demo --seeds ... [--with-control]``: one row per seed, as markdown and CSV."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

from ..report.rounding import half_up
from ..utils import replace_files_together

#: Columns of OUT/summary.csv, in order (control_* only with --with-control). UF1/UAR are fractions,
#: acc a fraction; seconds include the data generation of that seed, and for a run an earlier command trained
#: (reused, or resumed) its folds' recorded training time: summary.md says which.
SUMMARY_COLUMNS = ("seed", "uf1", "uar", "acc", "control_uf1", "seconds", "control_seconds", "machine")


def write_summary(rows: list[dict], out: Path, *, with_control: bool) -> str:
    """Write OUT/summary.csv and OUT/summary.md from the per-seed rows; return the markdown table."""
    columns = [c for c in SUMMARY_COLUMNS if with_control or not c.startswith("control_")]
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (half_up(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    text = _markdown(rows, with_control)
    # together and whole: an interruption leaves the earlier summary, never a cut one
    replace_files_together(out, {"summary.csv": table.getvalue().encode("utf-8"),
                                 "summary.md": (text + "\n").encode("utf-8")})
    return text + f"\nsummary: {out / 'summary.md'} and {out / 'summary.csv'}"


def arithmetic(env: dict) -> str:
    """The precision and layout a run trained in, from its env.json, how they were decided and how to force them: a
    run's exact scores depend on them (bf16 rounds differently from fp32, a layout changes the kernels' sums)."""
    prec, fmt, basis = env.get("precision", "?"), env.get("memory_format", "?"), str(env.get("compute_basis", "?"))
    how = {"calibration": "this machine's calibration, see `mmnet info`", "config": "as set"}.get(basis, basis)
    line = f"arithmetic: {prec}, {fmt} ({how})"
    if env.get("cpu_routes"):  # fp32 kernel routes come from the calibration only
        line += f", fp32 kernel routes {', '.join(env['cpu_routes'])}"
    if basis != "config":
        line += f"; to repeat it anywhere: --set train.precision={prec} --set train.memory_format={fmt}"
        line += " (the kernel routes then stay off)" if env.get("cpu_routes") else ""
    if (env.get("calibration") or {}).get("under_load"):
        line += "; measured on a busy host: a run on a quiet one measures again and may choose otherwise"
    return line


def _markdown(rows: list[dict], with_control: bool) -> str:
    head = ["seed", "honest UF1", "UAR", "Acc %"] + (["permuted-label UF1"] if with_control else [])
    head += ["seconds" + (" (honest + control)" if with_control else "")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [str(r["seed"]), half_up(r["uf1"], 3), half_up(r["uar"], 3), half_up(r["acc"], 1, 100)]
        if with_control:
            cells.append(half_up(r["control_uf1"], 3))
            cells.append(f"{_seconds(r, 'seconds')} + {_seconds(r, 'control_seconds')}")
        else:
            cells.append(_seconds(r, "seconds"))
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    if len(rows) > 1:
        uf1 = [r["uf1"] for r in rows]
        note = f"honest UF1 over {len(rows)} seeds: median {statistics.median(uf1):.3f}, min {min(uf1):.3f}"
        if with_control:
            note += f"; permuted-label UF1 max {max(r['control_uf1'] for r in rows):.3f}"
        notes.append(note)
    notes += [f"seed {r['seed']}: {r['verdict']}" for r in rows if r.get("verdict")]  # did it learn?
    machines = sorted({r["machine"] for r in rows})
    notes.append("machine: " + "; ".join(machines))
    return "\n".join(lines + [""] + notes)


def _seconds(row: dict, key: str) -> str:
    """A run's seconds, with the note of a run (partly) trained by an earlier command: "412 (earlier run, reused)"."""
    note = row.get(f"{key}_note")
    return f"{row[key]} ({note})" if note else str(row[key])
