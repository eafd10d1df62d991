"""`mmnet compare`'s markdown: the score table, then each run against the reference with its paired tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..config_effect import as_written
from .bootstrap import METRICS
from .render import VERDICT_MIN_SUBJECTS, format_metric
from .rounding import half_up
from .verdict import p_text

__all__ = ["render_compare_markdown", "few_subjects", "ci_method",
           "INSTANCES_NOTE", "MCNEMAR_NOTE", "USED_NOTE", "PROTOCOL_NAMES", "PROTOCOLS_NOTE"]

_NAMES = {"acc": "Acc %", "uf1": "UF1", "uar": "UAR"}
INSTANCES_NOTE = ("the tests compare these trained instances on these subjects, not their recipes: they resample "
                  "or swap subjects, or look at samples, never at seeds")
MCNEMAR_NOTE = ("McNemar is sample-level: it treats the samples as independent, which under LOSO they are not "
                "(the samples of one subject share a face and a fold), so its p-values are anti-conservative "
                "(too small); the sign-flip test over subjects is the one to read")
USED_NOTE = ("The settings are those the runs trained with: config.yaml, with auto as the folds resolved it, the "
             "torch threads and version, the CPU capability, the frames and labels digests and the mmnet that "
             "trained the folds (mmnet_version, git_revision, code_digest) where recorded")

PROTOCOL_NAMES = {"loso": "LOSO", "lodo": "LODO"}
#: What a comparison of runs of other protocols pairs, and what its difference measures.
PROTOCOLS_NOTE = ("both runs scored the same samples, each with the model of its own protocol's fold (LOSO: trained "
                  "on the other subjects, those of the sample's dataset included; LODO: on the other datasets only), "
                  "so the difference is what leaving the sample's dataset out of training costs, on the same subjects")


def few_subjects(sizes: Sequence[int]) -> str | None:
    """Why the paired bootstrap's interval is rough with this many subjects (``sizes``: each dataset's, resampled
    within itself; one size: not stratified); None from VERDICT_MIN_SUBJECTS."""
    n_units = sum(sizes)
    if n_units >= VERDICT_MIN_SUBJECTS:
        return None
    # multisets of n subjects drawn from n, per dataset: a stratified draw combines one of each dataset's
    distinct = math.prod(math.comb(2 * n - 1, n) for n in sizes)
    return (f"with {n_units} subjects (fewer than {VERDICT_MIN_SUBJECTS}) the paired bootstrap over subjects takes "
            f"only {distinct:,} distinct resamples: its interval is rough; the sign-flip test over the {n_units} "
            f"subjects cannot give a p-value below {2 / 2**n_units:.4g}")


def ci_method(runs: Sequence[str], stratified: Sequence[str]) -> str:
    """The runs' intervals' method: stratified by dataset where a run tests several (``stratified``: those)."""
    method = "percentile bootstrap over subjects of the seed mean"
    if not stratified:
        return method
    which = "" if len(stratified) == len(runs) else f" for {', '.join(stratified)}"
    return f"{method}, stratified by dataset (subjects resampled within each dataset){which}"


def _flips(flip: dict) -> str:
    """How the sign-flip p-value was found: every arrangement (exact with one seed per run) or random ones."""
    if not flip.get("all_arrangements", flip["exact"]):
        return f"{flip['flips']:,} random ones, seed {flip['seed']}"
    if flip["exact"]:
        return f"all {flip['arrangements']:,} arrangements, exact"
    return (f"all {flip['arrangements']:,} arrangements; approximate with several seeds per run: a seed paired with "
            "two seeds of the other run is swapped in one pair and not in the other")


def _signed(v: float, pct: bool) -> str:
    return half_up(v, 2, 100, sign=True) if pct else half_up(v, 4, sign=True)


def _no_effect_in_one(key: str, u: dict, c: dict) -> str:
    """"model.pc_depth: 3 has no effect in RUN (why; REFERENCE has 2)"."""
    runs = [c["reference"], c["run"]]
    here = runs.index(u["no_effect_in"]) if u["no_effect_in"] in runs else 1
    return (f"{key}: {as_written(u['values'][here])} has no effect in {runs[here]} ({u['why']}; {runs[1 - here]} "
            f"has {as_written(u['values'][1 - here])})")


def _p(p: float, floor: float = 0.0) -> str:
    """A p-value; at the resolution of random flips (none as far from 0) as '≤ floor'."""
    text = p_text(p)  # the report's rounding: never 0.0500 for a p below 0.05
    return f"≤ {text}" if p <= floor * (1 + 1e-9) else text


def render_compare_markdown(result: dict) -> str:
    """The comparison as markdown: the score table, then each run against the reference."""
    m = result["method"]
    made = (f"Made by mmnet {result['mmnet_version']} on {result['created_at']}: `{result['command']}`."
            if "command" in result else "")
    lines = ["# Run comparison", "", *([made, ""] if made else []),
             f"Honest selection (model after the last epoch), pooled over folds; mean over seeds. 95 % intervals: "
             f"{m['ci']}, {m['resamples']} resamples, random seed {m['seed']}.", "",
             "| run | seeds | n | Acc % [95 % CI] | UF1 [95 % CI] | UAR [95 % CI] | parameters | protocol: tested on |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        cells = []
        for k in METRICS:
            pct = k == "acc"
            ci = f" [{format_metric(r['ci'][k][0], pct)}, {format_metric(r['ci'][k][1], pct)}]" if r["ci"] else ""
            cells.append(format_metric(r["mean"][k], pct) + ci)
        flag = "" if r["complete"] else " (PARTIAL)"
        ref = " (reference)" if r["run"] == result["reference"] else ""
        params = r.get("parameters")
        cells.append(f"{params:,}" if isinstance(params, int) else "-")
        cells.append(f"{PROTOCOL_NAMES.get(r['protocol'], r['protocol'])}: {'+'.join(r['tested_on']) or '-'}"
                     if r.get("protocol") else "-")
        lines.append(f"| {r['run']}{ref}{flag} | {r['n_seeds']} | {r['n']} | " + " | ".join(cells) + " |")
    lines += _per_dataset_lines(result["runs"])
    for c in result["comparisons"]:
        b, flip = c["paired_bootstrap"], c["sign_flip"]
        rough = b.get("few_subjects")
        flips = _flips(flip)
        lines += ["", f"## {c['run']} vs {c['reference']}", ""]
        if protocols := c.get("protocols"):
            lines += [f"{protocols['note'][0].upper()}{protocols['note'][1:]}.", ""]
        within = ", resampled within each dataset" if b.get("stratified_by") else ""
        lines += [f"Difference = {c['run']} minus {c['reference']}, with a paired bootstrap over {b['n_units']} "
                  f"subjects ({b['resamples']} resamples, seed {b['seed']}{within}) for its 95 % interval: a "
                  "percentile interval, approximate (it tends to be narrow with few subjects). The p-value is the "
                  "sign-flip test's: the runs' predictions swapped on every set of subjects "
                  f"({flips}), two-sided, on the difference shown. Both ask whether these trained instances differ "
                  "on these subjects, not whether "
                  "their recipes do (seeds are not resampled).", "",
                  *([f"{rough[0].upper()}{rough[1:]}.", ""] if rough else []),
                  "| metric | difference | 95 % CI (bootstrap, approximate) | p (sign-flip) |",
                  "|---|---|---|---|"]
        for k in METRICS:
            d, pct = b[k], k == "acc"
            flip_p = _p(flip[k]["p_value"], 0.0 if flip.get("all_arrangements", flip["exact"]) else flip["p_floor"])
            lines.append(f"| {_NAMES[k]} | {_signed(d['difference'], pct)} | "
                         f"[{_signed(d['ci'][0], pct)}, {_signed(d['ci'][1], pct)}]{' (rough)' if rough else ''} "
                         f"| {flip_p} |")
        lines += ["", "McNemar's exact test on per-sample correctness (equal seeds paired, then the others in "
                  "numeric order). "
                  f"{MCNEMAR_NOTE[0].upper()}{MCNEMAR_NOTE[1:]}.", "",
                  "| seeds (reference, run) | n | only reference right | only run right | p (two-sided) |",
                  "|---|---|---|---|---|"]
        lines += [f"| {t['reference_seed']}, {t['seed']} | {t['n']} | {t['reference_only_correct']} | "
                  f"{t['run_only_correct']} | {_p(t['p_value'])} |" for t in c["mcnemar"]]
        unpaired = c.get("mcnemar_unpaired_seeds") or {}
        left = [f"{who} seed(s) {', '.join(unpaired[key])}" for key, who in (("reference", c["reference"]),
                                                                           ("run", c["run"])) if unpaired.get(key)]
        if left:
            lines += ["", f"Not in McNemar (no seed of the other run to pair with): {'; '.join(left)}."]
        diff = c["config_differences"]
        lines += ["", "Differences in the settings used (reference → run): "
                  + ("; ".join(f"{k}: {_shown(k, v[0])} → {_shown(k, v[1])}" for k, v in list(diff.items())[:30])
                     or "none")
                  + (f"; ... {len(diff) - 30} more" if len(diff) > 30 else "") + ". " + USED_NOTE + "."]
        if unused := c.get("inert_differences"):
            lines += ["", "Set differently but without effect in both runs (the same model trains): " + "; ".join(
                f"{k}: {as_written(u['values'][0])} → {as_written(u['values'][1])} ({u['why']})"
                for k, u in unused.items()) + "."]
        if one := c.get("inert_in_one_differences"):  # not a second variable of the comparison
            lines += ["", "Set differently but without effect in one run (the other's value would train the same "
                      "model there): " + "; ".join(_no_effect_in_one(k, u, c) for k, u in one.items()) + "."]
    if result["notes"]:
        lines += ["", "Notes:", "", *[f"- {n}" for n in result["notes"]]]
    return "\n".join(lines) + "\n"


def _shown(key: str, value) -> str:
    """A compared value as config.yaml writes it; the mmnets that trained a run's folds (a list, one per mmnet) as
    plain text: ``0.1.0 1ac4fea (seed 0) and 0.2.0 8fdbf3b ... (seed 0)``."""
    if key == "mmnet" and isinstance(value, list):
        return " and ".join(map(str, value))
    return as_written(value)


def _per_dataset_lines(runs: list[dict]) -> list[str]:
    """Each run's scores per dataset it tested (LODO: each a separate model), where a run tested several."""
    if not any(r.get("per_dataset") for r in runs):
        return []
    lines = ["", "Per dataset (mean over seeds; under LODO each row is a separate model, trained on the datasets named "
             "and tested on the held-out one, which the table above pools):", "",
             "| run | tested on | trained on | n | Acc % | UF1 | UAR |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        for d, b in (r.get("per_dataset") or {}).items():
            trained = "+".join(b["trained_on"]) if b.get("trained_on") else "every dataset's other subjects"
            lines.append(f"| {r['run']} | {d} | {trained} | {b['n']} | "
                         + " | ".join(format_metric(b["mean"][k], k == "acc") for k in METRICS) + " |")
    return lines
