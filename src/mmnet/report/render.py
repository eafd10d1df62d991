"""The report for people: report.md, the MEGC prediction log, the terminal results table."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from ..data.common import natural_key
from ..display_width import display_width, pad
from ..model_use import synthetic_banner
from ..run_folder import split_skipped
from .ci_text import report_protocol, resampled_words
from .cite import citation_lines
from .class_gaps import class_gap_lines
from .config_summary import configuration_lines
from .env_text import environment_lines
from .left_out import exclusions_text, scheme_exclusions
from .methods import methods_lines
from .one_class import one_class_lines
from .parts import part_class_lines
from .protocol_text import network_line, per_dataset_heading, protocol_line, report_title
from .rounding import format_mean_std, format_metric
from .run_reader import FOLD_REMEDY, Run
from .scores import HEADLINE, LAST_NOTE, ZERO_RULE
from .selection import PAPER_F1_EPOCHS, PAPER_KEY, optimistic_label
from .str_report import classes_note
from .subject_spread import subject_spread_line
from .verdict import VERDICT_MIN_SUBJECTS, chance_verdict, seeds_differ

__all__ = ["render_markdown", "megc_log", "natural_order", "format_results_table", "chance_verdict", "format_metric",
           "format_mean_std", "VERDICT_MIN_SUBJECTS"]


#: The selection column of report.md's score tables: each row says which it is, also when copied without its heading
SELECTION_CELLS = {"last": "last (honest)", PAPER_KEY: "paper* (optimistic)"}


def _headline_rows(block: dict, key: str = "last", differ: bool = False) -> list[str]:
    name, over = SELECTION_CELLS[key], "; the seeds tested different samples: a partial run" if differ else ""
    rows = [f"| {name} | {s} | {r['n']} | {r['correct']} | {format_metric(r['acc'], True)} | "
            f"{format_metric(r['uf1'])} | {format_metric(r['uar'])} |" for s, r in block["per_seed"].items()]
    if block["n_seeds"] > 1:
        cells = " | ".join(format_mean_std(block["mean"][k], block["std"][k], k == "acc") for k in HEADLINE)
        rows.append(f"| {name} | mean ± std (ddof=1, {block['n_seeds']} seeds{over}) | | | {cells} |")
    return ["| selection | seed | n | correct | Acc % | UF1 | UAR |", "|---|---|---|---|---|---|---|", *rows]


def _interval(ci: list[float], pct: bool) -> str:
    return f"{format_metric(ci[0], pct)} – {format_metric(ci[1], pct)}"


#: Subjects below which the report says its percentile intervals tend to be narrow. The method stays the
#: percentile bootstrap (another would change every published interval); the note says what it is worth.
FEW_FOR_PERCENTILE = 30


def _ci_rows(ci: dict, protocol: str = "loso") -> list[str]:
    """The bootstrap 95 % intervals of the headline: over subjects (the LOSO unit), then over samples."""
    rows = ["| seed | resampled | Acc % (95 % CI) | UF1 (95 % CI) | UAR (95 % CI) |", "|---|---|---|---|---|"]
    for level, what in (("subjects", "subjects"), ("samples", "samples")):
        block = ci[level]
        for s, r in block["per_seed"].items():
            rows.append(f"| {s} | {what} ({block['n_units'][s]}) | "
                        + " | ".join(_interval(r[k], k == "acc") for k in HEADLINE) + " |")
        for s in block.get("omitted") or {}:  # reports of older versions lack it
            rows.append(f"| {s} | {what} ({block['n_units'][s]}) | not computed | not computed | not computed |")
        if block["mean"]:
            rows.append(f"| mean over seeds | {what} | "
                        + " | ".join(_interval(block["mean"][k], k == "acc") for k in HEADLINE) + " |")
    missing = ci["subjects"]["resamples_missing_a_class"]
    note = (f" {missing} draws of subjects held no sample of some class and were drawn again, so that every "
            "resample's UF1 and UAR average over the same classes as the headline." if missing else "")
    for level in ("subjects", "samples"):
        omitted = ci[level].get("omitted") or {}
        for why in dict.fromkeys(omitted.values()):  # one note per reason, naming its seeds
            seeds = ", ".join(s for s, w in omitted.items() if w == why)
            note += f" No interval over {level} for seed(s) {seeds}: {why}."
    few = min(ci["subjects"]["n_units"].values())
    if few < FEW_FOR_PERCENTILE:  # simulated: a 95 % interval covers 88-91 % with 10 subjects
        note += (f" The percentile bootstrap over {few} subjects is approximate: below about {FEW_FOR_PERCENTILE} "
                 "subjects its intervals tend to be too narrow (they cover the true value less often than 95 %).")
    if few < VERDICT_MIN_SUBJECTS:
        note += (f" With {few} subjects the bootstrap over subjects can take only a few distinct values: "
                 "read these intervals as rough.")
    return [f"95 % confidence intervals: {ci['method']}, {ci['resamples']} resamples, random seed {ci['seed']}. "
            + resampled_words(ci, protocol) + note, "", *rows]


def _class_table(sc: dict, classes: list[str]) -> list[str]:
    rows = ["| class | n (true) | predicted | F1 | recall |", "|---|---|---|---|---|"]
    cm = np.array(sc["confusion"])
    for i, c in enumerate(classes):
        rows.append(f"| {i} {c} | {int(cm[i].sum())} | {int(cm[:, i].sum())} | "
                    f"{format_metric(sc['f1'][i])} | {format_metric(sc['recall'][i])} |")
    return rows


def _confusion_table(cm: list[list[int]], classes: list[str]) -> list[str]:
    rows = ["| true \\ predicted | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    rows += [f"| {c} | " + " | ".join(str(v) for v in cm[i]) + " |" for i, c in enumerate(classes)]
    return rows


def _some(sample_ids: list[str], shown: int = 5) -> str:
    more = f" and {len(sample_ids) - shown} more" if len(sample_ids) > shown else ""
    return f"{len(sample_ids)} sample(s) of its test subjects ({', '.join(sample_ids[:shown])}{more})"


def _data_identity(report: dict) -> list[str]:
    """The frames' content hash first (the same frames anywhere), the labels' hash and the annotation files', then
    the fingerprint of this copy's files. Runs of an older mmnet lack some: "not recorded"."""
    digest, labels, files = report.get("frames_digest"), report.get("labels_digest"), report.get("annotation_sha256")
    older = "not recorded (an older mmnet trained this run)"
    return [f"- Frames digest: {digest} (a hash of the decoded frames and sample windows the run trained on: the "
            "same digest means the same pixels and onset/apex windows, wherever the files lie; it does not cover "
            "the labels)" if digest else f"- Frames digest: {older}",
            f"- Labels digest: {labels} (a hash of every sample's id, label and class index, as samples.csv lists "
            "them: the same digest means the same labels)" if labels else f"- Labels digest: {older}",
            "- Annotation files (sha256): " + (", ".join(f"{name} {sha}" for name, sha in sorted(files.items()))
                                               or "none (labels from folder names)")
            if files is not None else f"- Annotation files (sha256): {older}",
            f"- Dataset fingerprint: {report['dataset_fingerprint'] or 'n/a'} (a hash of the frame files' paths, "
            "sizes and modification times: it identifies this copy on this machine, not the data)"]


def _synthetic_line(report: dict) -> str | None:
    """The banner of a run on mmnet's synthetic faces (env.json's synthetic_data, from the data's synth.json)."""
    drawn = (report.get("environment") or {}).get("synthetic_data")
    if not isinstance(drawn, dict):
        return None
    composite = (report.get("config") or {}).get("data", {}).get("dataset") == "composite"
    layout = drawn.get("layout") or next(iter(report.get("datasets") or []), "")
    inferred = (report.get("environment") or {}).get("synthetic_data_inferred")
    modified = (report.get("environment") or {}).get("synthetic_modified")
    return (synthetic_banner([layout], what="run", partly=composite) + (f" ({inferred}.)" if inferred else "")
            + (f" The set was modified after `mmnet synth` wrote it: {modified}." if modified else ""))


def _not_run(subjects: list[str]) -> str:
    """LODO: the folds (test datasets) of untested subjects ('dataset/subject'), e.g. 'fold casme2 not run: '."""
    datasets = list(dict.fromkeys(s.split("/", 1)[0] for s in subjects))
    return f"fold{'s' if len(datasets) > 1 else ''} {', '.join(datasets)} not run: "


def render_markdown(report: dict) -> str:
    """report.md text for a report dict from :func:`compute_report`."""
    classes, st = report["classes"], report["status"]
    L = [f"# {report_title(report)}", ""]
    if report["complete"]:
        L.append("**Status: complete** "
                 "(every sample tested by a finished fold, every configured seed present).")
    else:
        L.append("**Status: PARTIAL — numbers cover finished folds only.**")
        L += [f"- unfinished fold (no done.json): seed {u['seed']} {u['fold']}" for u in st["unfinished_folds"]]
        L += [f"- seed {s} not started" for s in st["missing_seeds"]]
        L += [f"- finished fold with a damaged predictions file: seed {d['seed']} {d['fold']} has done.json but "
              f"'{d['file']}' has no rows for {_some(d['samples'])}. {FOLD_REMEDY}"
              for d in st.get("damaged_folds", [])]
        lodo = (report.get("protocol") or {}).get("protocol") == "lodo"
        L += [f"- seed {s}: {_not_run(u['subjects']) if lodo else ''}{u['samples']} sample(s) not tested yet, "
              f"subjects {', '.join(u['subjects'])}" for s, u in st["untested"].items()]
    if banner := _synthetic_line(report):  # said first: the numbers below are not a real dataset's
        L += ["", f"**{banner}**"]
    # split here too, so that a report.json of an earlier mmnet (its count held the list's exclusions) reads the same
    problems, unlisted = split_skipped((r["sample_id"], r["reason"]) for r in st.get("skipped") or [])
    problems, by_scheme = scheme_exclusions(problems)  # on purpose, not for a problem: counted per label
    n_skipped = len(problems) if "skipped" in st else st["skipped_samples"]
    skipped = f"{n_skipped} more skipped, listed in skipped.csv" if n_skipped else "none skipped"
    skipped += f"; {exclusions_text(by_scheme)}" if by_scheme else ""
    skipped += "".join(f"; {n} not in {name}, left out by the protocol's list" for name, n in unlisted.items())
    L += ["", f"Protocol: {protocol_line(report)}; {report['pooling']}.",
          f"Samples: {report['n_samples']} in samples.csv ({skipped}); "
          f"finished folds per seed: {', '.join(f'{s}: {n}' for s, n in report['n_folds'].items())}; "
          f"classes: {', '.join(f'{i} {c}' for i, c in enumerate(classes))}.", ""]
    if (network := network_line(report)) is not None:
        L[-1:-1] = [network]  # under the protocol and samples lines
    if problems:  # every annotated sample training did not use for a problem, with its reason (skipped.csv)
        L += ["Not used for training:", ""] + [f"- {sid}: {reason}" for sid, reason in problems[:50]]
        if len(problems) > 50:
            L.append(f"- ... {len(problems) - 50} more in skipped.csv")
        L.append("")
    h = report["headline"]
    L += [f"## Headline ({h['description']})", ""]
    verdict = chance_verdict(report)
    if verdict:
        L += [f"**Verdict: {verdict}.**", ""]
    if spread := subject_spread_line(h.get("subject_spread"), len(report["datasets"]) > 1):
        L += [spread, ""]  # the pooled numbers below can hide a subject the model fails on
    L += [line for warning in one_class_lines(report) for line in (warning, "")]
    L += [*_headline_rows(h, differ=seeds_differ(report)), ""]
    L += [line for note in class_gap_lines(report) for line in (note, "")]  # beside the figures they qualify
    if "ci" in h:
        L += [*_ci_rows(h["ci"], report_protocol(report)), ""]
    paper, label = report.get(PAPER_KEY), optimistic_label(report)
    if paper:
        tested = "held-out dataset" if report_protocol(report) == "lodo" else "test subject"
        L += [f"## Paper selection — {label}", "",
              f"{paper['description']}. Shown beside the honest numbers above for comparison with the paper; "
              f"it selects on the {tested} and is not a valid estimate.",
              "", *_headline_rows(paper, PAPER_KEY, seeds_differ(report)), "", f"\\* {label}.", ""]
    if "per_dataset" in h:
        heading, row_names = per_dataset_heading(report)
        L += [heading, "", "| dataset | selection | n | Acc % | UF1 | UAR |", "|---|---|---|---|---|---|"]
        for name, block in (("last", h), (f"paper ({label})", paper)):
            if block:
                for d, r in block["per_dataset"].items():
                    n = next(iter(r["per_seed"].values()))["n"]
                    cells = " | ".join(format_mean_std(r["mean"][k], r["std"][k], k == "acc") for k in HEADLINE)
                    L.append(f"| {row_names.get(d, d)} | {name} | {n} | {cells} |")
        L.append("")
        L += [f"{d} has no samples of {', '.join(names)}: its UF1 and UAR above count their F1 and recall as 0, "
              f"averaged over all {len(classes)} classes ({ZERO_RULE}), not over the classes it has as "
              "some papers do." for d, names in report.get("absent_classes_per_dataset", {}).items()]
        if report.get("absent_classes_per_dataset"):
            L.append("")
        L += part_class_lines(h["per_dataset"], classes, row_names)
    for seed, entry in report["seeds"].items():
        for k, title in (("last", "honest, last epoch"), (PAPER_KEY, f"paper, {PAPER_F1_EPOCHS}; {label}")):
            if k not in entry:
                continue
            sc = entry[k]
            L += [f"## Seed {seed}: per class and confusion matrix ({title})", "",
                  *_class_table(sc, classes), "", *_confusion_table(sc["confusion"], classes), ""]
        last = entry["last"]
        L += [f"## Seed {seed}: per subject (honest, last epoch)", "",
              "| subject | fold | n | correct | acc % | classes | UAR (its classes) |", "|---|---|---|---|---|---|---|"]
        many = len(report["datasets"]) > 1
        L += [f"| {r['dataset'] + '/' if many else ''}{r['subject']} | {r['fold']} | {r['n']} | "
              f"{r['correct']} | {format_metric(r['acc'], True)} | {r.get('classes', 'n/a')} | "
              f"{format_metric(r.get('uar'))} |"
              for r in last["per_subject"]]
        L += ["", f"## Seed {seed}: folds", ""]
        if PAPER_KEY in entry:
            L += ["| fold | n | epochs | seconds | correct (last) | acc epoch* | correct* | F1 epoch* |",
                  "|---|---|---|---|---|---|---|---|"]
            for a, b in zip(last["folds"], entry[PAPER_KEY]["folds"]):
                L.append(f"| {a['fold']} | {a['n']} | {a['epochs']} | {a['seconds']} | {a['correct']} | "
                         f"{b['acc_epoch']} | {b['correct']} | {b['f1_epoch']} |")
            L += ["", f"\\* {label}.", ""]
        else:
            L += ["| fold | n | epochs | seconds | correct |", "|---|---|---|---|---|"]
            L += [f"| {a['fold']} | {a['n']} | {a['epochs']} | {a['seconds']} | {a['correct']} |"
                  for a in last["folds"]]
            L.append("")
    L += [*methods_lines(report), *configuration_lines(report), "## Environment", ""]
    L += environment_lines(report)  # env.json, its records in words, and the run's wall time
    if differs := (report.get("reproduce") or {}).get("env_differs"):
        L.append(f"- (env.json records the run's start; folds resumed later trained with another {', '.join(differs)}: "
                 "the Reproduce line below names them)")
    L += ["", "## Data and reproduction", "", *_data_identity(report), ""]
    reproduce = report.get("reproduce")
    if reproduce:
        L += [f"Reproduce: `{reproduce['command']}`. {reproduce['note']}", ""]
    if report["issues"]:
        L += ["## Issues", "", *[f"- {i}" for i in report["issues"]], ""]
    L += citation_lines(report)  # report.cite: the network's, mmnet's and the data's papers
    figures = sorted({f.rsplit(".", 1)[0] for f in report["files"] if f.endswith((".png", ".pdf", ".svg"))})
    kinds = sorted({f.rsplit(".", 1)[1] for f in report["files"] if f.endswith((".png", ".pdf", ".svg"))})
    L += ["## Files", "", f"Figures ({', '.join(kinds)}): {', '.join(figures)}; megc_log.txt (MEGC prediction log), "
          "pooled_predictions.csv (the scored predictions), report.json (every number above).", ""]
    L += [*(f"Note: {n}" for n in report.get("figure_notes", [])), ""] if report.get("figure_notes") else []
    L += ["Sharing: the scores and figures may be shared; samples.csv, predictions.csv, pooled_predictions.csv, "
          "issues.csv and megc_log.txt carry the dataset's annotations per clip: share them only as its agreement "
          "allows.", ""]  # docs/reports.md, "Sharing a run"
    return "\n".join(L)


def natural_order(column: pd.Series) -> pd.Series:
    """``sort_values``' key: text columns in natural order (s2 before s10), whichever dtype pandas gives text
    (object, "string", pandas 3's "str"); other columns as they are."""
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        return column.map(natural_key)
    return column


def _csv_rows(rows: list[list]) -> list[str]:
    """Rows as CSV lines (RFC 4180: a sample id holding a comma or a quote is quoted, so the row keeps its columns)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().splitlines()


def megc_log(report: dict, pooled_by_tag: dict[str, dict[str, pd.DataFrame]], run: Run) -> tuple[str, str]:
    """MEGC-style log (per fold: subject, sample, true, predicted) and the pooled predictions CSV."""
    classes, many = report["classes"], len(report["datasets"]) > 1
    clip = run.samples.set_index("sample_id")["clip"] if "clip" in run.samples.columns else None
    # a composite run's samples as the MEGC2019 list names them too (casme2/02 is its sub02, smic/s1 its s01)
    cde = run.samples.set_index("sample_id")[["cde_subject", "cde_clip"]] if "cde_clip" in run.samples.columns else None
    lines = [f"# MEGC-style prediction log of run {report['run']}; {LAST_NOTE}.",
             "# classes: " + ", ".join(f"{i}={c}" for i, c in enumerate(classes))]
    frames = []
    for tag, parts in pooled_by_tag.items():
        seed, _, paper = tag.partition("-")
        for which in ("acc", "f1") if paper else ("acc",):
            p = parts[which].copy()
            p.insert(0, "selection", f"paper_{which}_optimistic" if paper else "last")
            p.insert(0, "seed", int(seed))
            frames.append(p)
        if paper:
            continue
        p = parts["acc"]
        lines.append(f"\n## seed {seed}")
        for i, (fold, x) in enumerate(sorted(p.groupby("fold"), key=lambda t: natural_key(t[0])), start=1):
            who = (x["dataset"] + "/" + x["subject"]) if many else x["subject"]
            subj = ", ".join(sorted(set(who), key=natural_key))
            lines += [f"Fold {i}: {fold} (test subject {subj}, epoch {int(x['epoch'].iloc[0])})",
                      "subject,sample,true,pred" + (",cde_subject,cde_clip" if cde is not None else "")]
            rows = []
            for r in x.sort_values("sample_id", key=lambda c: c.map(natural_key)).itertuples():
                sample = clip[r.sample_id] if clip is not None else r.sample_id
                who = f"{r.dataset}/{r.subject}" if many else r.subject
                named = list(cde.loc[r.sample_id]) if cde is not None else []
                rows.append([who, sample, classes[r.true], classes[r.pred], *named])
            lines += _csv_rows(rows)
    pooled = pd.concat(frames, ignore_index=True)
    pooled["true_label"] = [classes[i] for i in pooled["true"]]
    pooled["pred_label"] = [classes[i] for i in pooled["pred"]]
    cols = ["seed", "selection", "fold", "epoch", "sample_id", "dataset", "subject", "true", "pred",
            "true_label", "pred_label"]
    cols += [c for c in pooled.columns if c.startswith("prob_")]
    pooled = pooled.sort_values(["seed", "selection", "fold", "sample_id"], key=natural_order)
    return "\n".join(lines) + "\n", pooled[cols].to_csv(index=False, lineterminator="\n", float_format="%.6f")


def format_results_table(report: dict) -> str:
    """A compact terminal table of the headline (and optimistic paper) numbers of a report dict."""
    rows = [("selection", "seed", "n", "Acc %", "UF1", "UAR")]
    blocks = [("last", report["headline"])] + ([("paper*", report[PAPER_KEY])] if PAPER_KEY in report else [])
    for name, b in blocks:
        for s, r in b["per_seed"].items():
            rows.append((name, s, str(r["n"]), format_metric(r["acc"], True), format_metric(r["uf1"]),
                         format_metric(r["uar"])))
        if b["n_seeds"] > 1:
            m, sd = b["mean"], b["std"]
            rows.append((name, "mean±std", "",
                         *(f"{format_metric(m[k], k == 'acc')}±{format_metric(sd[k], k == 'acc')}"
                           for k in ("acc", "uf1", "uar"))))
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = ["pooled over folds; std over seeds with ddof=1" if report["headline"]["n_seeds"] > 1
             else "pooled over folds"]
    if seeds_differ(report):  # each seed's numbers hold; their mean mixes different samples
        notes[0] += "; the seeds tested different samples (a partial run): mean±std mixes them"
    ci = report["headline"].get("ci")
    if ci:
        subj = ci["subjects"]
        block = subj["mean"] or (next(iter(subj["per_seed"].values())) if len(subj["per_seed"]) == 1 else None)
        if block:
            which = " of the honest (last) rows only, not of paper*" if PAPER_KEY in report else ""
            notes.append(f"95% CI{which}, bootstrap over subjects: "
                         + ", ".join(f"{name} {_interval(block[k], k == 'acc')}"
                                     for k, name in zip(HEADLINE, ("Acc %", "UF1", "UAR")))
                         + ("" if subj["mean"] is None else " (seed mean)"))
    if PAPER_KEY in report:
        notes.append(f"* {optimistic_label(report)}")
    if not report["complete"]:
        notes += [f"DAMAGED: '{d['file']}' of a finished fold has no rows for {_some(d['samples'])}; "
                  "those samples are left out" for d in report["status"].get("damaged_folds", [])]
        notes.append("PARTIAL run: finished folds only (see report.md)")
    notes += _str_notes(report.get("spot_then_recognise"))
    notes += report.get("figure_notes", [])
    return "\n".join(lines + notes)


def _str_notes(summary: dict | None) -> list[str]:
    """A long-video run's spotting and STR scores (report.md, 'Spot then recognise'), beside the table of the
    recognition of annotated micro-expressions, which alone would read as the run's result."""
    if not summary:
        return []
    lines = ["the table: recognition of the annotated micro-expressions; spot then recognise "
             "(report.md, 'Spot then recognise'; MEGC, IoU >= 0.5):"]
    for r in summary.get("per_seed") or []:
        spot, strr = r.get("spotting") or {}, r.get("str") or {}
        f1 = ", ".join(f"{t} {format_metric(spot[t]['f1'])}" for t in ("micro", "macro", "overall") if t in spot)
        z = strr.get("strs_metric") or {}
        other = f", STRS-Metric {format_metric(z['strs'])}" if "strs" in z else ""
        lines.append(f"  seed {r['seed']}: spotting F1 {f1}; STRS {format_metric(strr.get('strs'))} "
                     f"(MEGC evaluator{other})")
        lines.append(f"    {classes_note(strr)}")
    return lines
