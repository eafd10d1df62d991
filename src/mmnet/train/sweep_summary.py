"""A sweep's comparison of its settings: ``OUT/summary.md`` and ``OUT/summary.csv``, and the terminal table."""

from __future__ import annotations

from pathlib import Path

import yaml

from .. import run_folder as rf
from ..config_effect import as_written, inert_keys
from ..display_width import display_width, pad
from ..errors import ConfigError
from ..model.config import MMNetConfig
from ..report import summarize_run
from ..report.compare import recorded_parameters
from ..report.render import FEW_FOR_PERCENTILE, format_mean_std
from ..report.rounding import half_up
from ..report.verdict import ABOVE, NO_VERDICT, NOT_SHOWN, VERDICT_MIN_SUBJECTS
from ..utils import atomic_write_text, json_object_or_none
from .experiment import has_results
from .sweep_datasets import dataset_rows, per_dataset_markdown, tested_on_cell, write_per_dataset, write_rows_csv

__all__ = ["summarize_sweep", "format_summary_table", "network_size", "NOT_RUN"]

METRICS = ("acc", "uf1", "uar")
NOT_RUN = "not run"  # a summary row's status: the setting has no finished fold (or no run folder) yet


def _mean_std(row: dict, metric: str, sep: str) -> str:
    """'mean ± std'; the mean alone with one seed (no spread); '-' for a setting without a finished fold."""
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if mean is None:
        return "-"
    return format_mean_std(mean, std, metric == "acc", sep)


def summarize_sweep(out_dir: str | Path, names: list[str], *, overrides: dict | None = None) -> list[dict]:
    """Compare the run folders ``out_dir/<name>``: mean and std (ddof=1) over seeds of Acc, UF1, UAR; a setting
    without a finished fold (``--only`` ran others) is a row with ``status`` "not run" and no numbers.

    Writes ``summary.csv`` (one row per setting, fractions to 6 decimals, with the bootstrap 95 % interval over
    subjects of the seed mean: ``<metric>_ci_low``, ``<metric>_ci_high``) and ``summary.md``
    (percent for Acc) into ``out_dir`` and returns the rows. The last columns say what the numbers are:
    ``n_subjects`` (the subjects the interval resamples), ``selection`` (``last``: the model after the last epoch),
    ``chance`` (1 / classes: the UAR of a constant guess) and ``ci_rough`` (fewer than ``VERDICT_MIN_SUBJECTS``
    subjects: the interval can take only a few distinct values, as report.md says), then ``protocol`` (``loso``,
    ``lodo``) and ``tested_on`` (the datasets scored, '+'-joined: a LODO run of some folds names those folds'
    datasets), then ``vs_chance`` (the setting's verdict in a few words, as its report.md gives it). A setting that
    scored several datasets also has a row per dataset in ``summary_per_dataset.csv``
    (:mod:`mmnet.train.sweep_datasets`) and summary.md's "Per dataset" table.
    """
    out = Path(out_dir)
    rows, shown, described_by, methods, per_dataset = [], {}, {}, {}, []
    for name in names:
        given = (overrides or {}).get(name, {})
        row = {"setting": name, "overrides": " ".join(f"{k}={as_written(v)}"  # as --set writes it: false, not False
                                                      for k, v in given.items())}
        unused = _no_effect(out / name)  # summary.md marks them: not a variable of the comparison
        shown[name] = " ".join(f"{k}={as_written(v)}" + (" (no effect)" if k in unused else "")
                               for k, v in given.items())
        if not has_results(out / name):
            row.update({"complete": False, "status": NOT_RUN, "n_seeds": 0, "n_samples": 0})
            row.update({f"{m}_{k}": None for k in ("mean", "std", "ci_low", "ci_high") for m in METRICS})
            rows.append(row)
            continue
        s = summarize_run(out / name)
        row.update({"complete": s["complete"], "status": "complete" if s["complete"] else "partial",
                    "n_seeds": s["n_seeds"], "n_samples": s["n_samples"]})
        for m in METRICS:
            row[f"{m}_mean"] = s["mean"][m]
            row[f"{m}_std"] = s["std"][m]
        for m in METRICS:  # bootstrap 95 % CI over subjects of the seed mean (docs/reports.md)
            row[f"{m}_ci_low"], row[f"{m}_ci_high"] = s["ci"][m] if s["ci"] else (None, None)
        described_by[name] = {k: s[k] for k in ("n_subjects", "chance", "ci_rough", "vs_chance")}
        described_by[name].update(protocol=s["protocol"], tested_on="+".join(s["tested_on"]) or None)
        per_dataset += dataset_rows(name, s)
        methods[s["ci_method"]] = None
        rows.append(row)
    for row in rows:  # last columns: readers of the earlier ones are unchanged
        row.update(network_size(out / row["setting"]))
        described = described_by.get(row["setting"], {})
        row.update({"n_subjects": described.get("n_subjects"), "selection": "last" if described else None,
                    "chance": described.get("chance"),
                    "ci_rough": described.get("ci_rough")})
        row.update({k: described.get(k) for k in ("protocol", "tested_on")})  # after those: appended columns
        row["vs_chance"] = _vs_chance({**row, "vs_chance": described.get("vs_chance")})  # report.md's verdict
    write_rows_csv(out / "summary.csv", rows)  # fractions to 6 decimals
    write_per_dataset(out, per_dataset)
    atomic_write_text(out / "summary.md", _markdown(rows, shown, list(methods), per_dataset))
    return rows


def _no_effect(run: Path) -> dict[str, str]:
    """The keys that a setting's run does not read (:func:`mmnet.config_effect.inert_keys` of its config.yaml);
    none where it has no readable config.yaml (not run yet)."""
    try:
        cfg = yaml.safe_load((run / rf.CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return inert_keys(cfg) if isinstance(cfg, dict) else {}


def network_size(run: Path) -> dict:
    """``parameters`` and ``gflop`` (forward FLOPs of one onset/apex pair at the run's image size, in 1e9) of a
    run folder's network: the parameters its folds recorded (report.json), else those of MMNet built from its
    config.yaml; the FLOPs counted by torch's FlopCounterMode on that MMNet built on the meta device (no weights,
    no data: a fraction of a second). Convolutions and matrix products are counted (a multiply-add is 2 FLOPs),
    element-wise operations are not: the paper's convention (14.42 GFLOP for the 5-class 224 px MMNet). None
    where it is not known: no config.yaml, or a model.factory network (its FLOPs are not counted)."""
    recorded = recorded_parameters(json_object_or_none(run / "report.json") or {})
    size = {"parameters": recorded, "gflop": None}
    try:
        cfg = yaml.safe_load((run / rf.CONFIG).read_text(encoding="utf-8")) or {}
        model_cfg = MMNetConfig.from_dict(dict(cfg.get("model") or {}))
    except (OSError, yaml.YAMLError, ConfigError, AttributeError, TypeError):
        return size
    if model_cfg.factory:
        return size
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..model import MMNet

    with torch.device("meta"):  # shapes only: nothing is allocated or computed
        model = MMNet(config=model_cfg).eval()
        x = torch.empty(1, 3, model_cfg.image_size, model_cfg.image_size)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x, flow=x) if model_cfg.main_input == "flow" else model(x, x)
    return {"parameters": recorded if recorded is not None else sum(p.numel() for p in model.parameters()),
            "gflop": round(counter.get_total_flops() / 1e9, 3)}


#: Every LOSO score above is a test subject's: the setting picked as the best by them is chosen on the test
#: subjects, as the paper's epoch is, and its scores overstate what it would score on new subjects.
SELECTION_NOTE = ("Picking the best setting by these LOSO scores selects on the test subjects (each score is "
                  "measured on them): the best setting's numbers are optimistic, as the paper selection's are, and "
                  "the more settings are tried the more so. Report the chosen setting's scores from data the choice "
                  "did not see, e.g. another dataset or new subjects.")


def _markdown(rows: list[dict], shown: dict[str, str], methods: list[str], per_dataset: list[dict]) -> str:
    seeds = sorted({r["n_seeds"] for r in rows if r["n_seeds"]})
    lines = ["# Sweep summary", "",
             "Selection `last`: the model after the last epoch of each fold (honest: nothing is chosen on the test "
             "subjects), pooled over the folds of each seed; mean ± standard deviation over seeds (ddof=1: with N "
             "seeds it has N - 1 degrees of freedom" + ("; with 2 seeds only one: a rough spread" if 2 in seeds else "")
             + "). Each setting's full report is `<setting>/report.md`; summary.csv holds the interval over "
             "subjects of the seed mean (`<metric>_ci_low`, `_ci_high`), the UAR one is shown here.", "",
             "| setting | overrides | seeds | n | Acc % | UF1 | UAR | parameters | GFLOP | subjects | UAR 95 % CI "
             "| vs chance | protocol: tested on |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [_mean_std(r, m, " ± ") for m in METRICS] + _size_cells(r) + _chance_cells(r) + [tested_on_cell(r)]
        lines.append(f"| {_named(r)} | {shown.get(r['setting']) or '(base)'} | {r['n_seeds']} | {r['n_samples']} | "
                     + " | ".join(cells) + " |")
    lines += [*per_dataset_markdown(per_dataset), "", GFLOP_NOTE]
    if methods:
        lines += ["", f"95 % confidence intervals: {'; '.join(methods)} (subjects are resampled with all their "
                      "samples: the LOSO unit), of the mean over seeds. n counts samples, subjects the subjects "
                      "resampled." + _few_subjects_note(rows)]
    lines += _chance_note(rows)
    if len(rows) > 1:
        lines += ["", SELECTION_NOTE]
    return "\n".join(lines) + "\n"


def _vs_chance(row: dict) -> str | None:
    """Where a setting's UAR stands against chance, as its report.md's verdict says (below VERDICT_MIN_SUBJECTS
    subjects a permutation test decides, the interval being rough); None without numbers."""
    mean, chance, standing = row.get("uar_mean"), row.get("chance"), row.get("vs_chance")
    if mean is None or chance is None:
        return None
    if standing == NOT_SHOWN and mean <= chance + 1e-12:
        return "at or below chance"
    return standing or NO_VERDICT  # no verdict line: no interval of the seed mean


def _chance_cells(row: dict) -> list[str]:
    """The subjects, UAR interval (rough with few subjects, as report.md says) and vs-chance cells."""
    low, high = row.get("uar_ci_low"), row.get("uar_ci_high")
    interval = "-" if low is None else f"[{half_up(low, 4)}, {half_up(high, 4)}]" + (
        " (rough)" if row.get("ci_rough") else "")
    return [str(row["n_subjects"]) if row.get("n_subjects") is not None else "-", interval, row.get("vs_chance") or "-"]


def _few_subjects_note(rows: list[dict]) -> str:
    """report.md's words for an interval over few subjects."""
    few = min((r["n_subjects"] for r in rows if r.get("n_subjects")), default=None)
    if few is None or few >= FEW_FOR_PERCENTILE:
        return ""
    note = (f" The percentile bootstrap over {few} subjects is approximate: below about {FEW_FOR_PERCENTILE} "
            "subjects its intervals tend to be too narrow (they cover the true value less often than 95 %).")
    if few < VERDICT_MIN_SUBJECTS:
        note += (f" With {few} subjects the bootstrap over subjects can take only a few distinct values: "
                 "read these intervals as rough (`ci_rough` in summary.csv).")
    return note


def _chance_note(rows: list[dict]) -> list[str]:
    """Chance, and the settings whose UAR does not clear it: their order among themselves ranks nothing."""
    chances = {half_up(r["chance"], 4) for r in rows if r.get("chance") is not None}
    if not chances:
        return []
    level = (f"UAR {next(iter(chances))}" if len(chances) == 1 else "each setting's 1 / classes (summary.csv "
             "`chance`)")
    note = (f"Chance: {level}, the UAR of a constant guess (1 / classes). Vs chance is each setting's verdict, as "
            f"its report.md gives it (from {VERDICT_MIN_SUBJECTS} subjects the UAR interval decides; below, a "
            "permutation test within subjects, the interval being rough). A setting not shown above chance is not "
            "shown to do better than guessing")
    near = [r["setting"] for r in rows if r.get("vs_chance") not in (None, ABOVE)]
    if near:
        note += f": {', '.join(near)}"
    if near and len(near) == sum(r.get("vs_chance") is not None for r in rows):
        note += "; no setting is shown above chance, so their order ranks nothing"
    return ["", note + "."]


#: What the GFLOP column counts (network_size).
GFLOP_NOTE = ("GFLOP: forward pass of one onset/apex pair at the run's image size, convolutions and matrix products "
              "counted by torch's FlopCounterMode (a multiply-add is 2 FLOPs; element-wise operations not counted); "
              "'-' for a network built by model.factory or a setting without a config.")


def _size_cells(row: dict) -> list[str]:
    """The parameters (with thousands separators) and GFLOP cells; '-' where not known."""
    params, gflop = row.get("parameters"), row.get("gflop")
    return [f"{params:,}" if isinstance(params, int) else "-", f"{gflop:.2f}" if isinstance(gflop, float) else "-"]


def _named(row: dict) -> str:
    return row["setting"] + {"complete": "", "partial": " (PARTIAL)", NOT_RUN: " (NOT RUN)"}[row["status"]]


def format_summary_table(rows: list[dict]) -> str:
    """The comparison as a plain terminal table, then the UAR against chance as summary.md gives it (the subjects,
    the interval over them, where it stands) in a second table, so that each fits a terminal's width."""
    # which datasets a row tested, where that is not the same one dataset in every row (LODO, composites)
    datasets = any(r.get("protocol") == "lodo" or "+" in (r.get("tested_on") or "") for r in rows)
    scores = [("setting", "seeds", "Acc %", "UF1", "UAR", "parameters", "GFLOP",
               *(["protocol: tested on"] if datasets else []))]
    scores += [(_named(r), str(r["n_seeds"]), *(_mean_std(r, m, "±") for m in METRICS), *_size_cells(r),
                *([tested_on_cell(r)] if datasets else [])) for r in rows]
    chance = [("setting", "subjects", "UAR 95 % CI", "vs chance")] + [(_named(r), *_chance_cells(r)) for r in rows]
    lines = _aligned(scores) + [""] + _aligned(chance)
    notes = ["last epoch; mean±std over seeds (ddof=1); pooled over folds"
             + ("; each dataset's scores: summary.md, summary_per_dataset.csv" if datasets else "")]
    near = [r["setting"] for r in rows if r.get("vs_chance") not in (None, ABOVE)]
    if near:
        notes.append(f"UAR not shown above chance: {', '.join(near)} (summary.md)")
    if len(rows) > 1:
        notes.append("picking the best setting by these scores selects on the test subjects: optimistic (summary.md)")
    return "\n".join(lines + notes)


def _aligned(table: list[tuple[str, ...]]) -> list[str]:
    """The rows' cells padded to their column's width, a rule under the header."""
    # by the columns shown, not len(): a setting named in Chinese or Japanese takes two a character
    widths = [max(display_width(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(pad(c, w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines
