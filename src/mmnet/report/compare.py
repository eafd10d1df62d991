"""Compare run folders: scores with confidence intervals, and paired tests of runs on the same samples.

:func:`compare_runs` scores each run with the honest selection (the model after the last epoch;
an epoch chosen on the test subject is no basis for a test), then checks that every run is
comparable with the first, the reference: same classes, dataset and label scheme, and
the same scored samples with the same subjects and labels in every seed. Anything else is refused
with the difference named, because a paired test of different samples means nothing. Runs of the same
samples under another protocol (LOSO against LODO) are paired by sample, and the comparison says so: each
sample was scored by a model that never saw its subject, so the difference is what leaving its dataset out
of training costs.

For each run against the reference:

- a paired bootstrap over subjects (the LOSO unit) of the difference of Acc, UF1 and UAR (run
  minus reference, each the mean over its seeds), both runs scored on the same resampled subjects: an
  approximate percentile interval, no p-value (at 10-26 subjects its p-value rejected a true null 7-11 % of
  the time at the 5 % level); with fewer than :data:`VERDICT_MIN_SUBJECTS` subjects it takes few distinct
  resamples (10 for 3 subjects), so its interval is marked rough;
- a paired sign-flip test over subjects (the runs' predictions swapped on every set of subjects up to 16
  subjects; exact with one seed per run, approximate with several): the comparison's p-value, whose
  smallest value says how few subjects there are (0.25 for 3); UAR's is the primary test, the other
  metrics' and McNemar's secondary (none is corrected for multiple comparisons);
- McNemar's exact test on per-sample correctness, for each pair of seeds matched in sorted order;
- what differs in the settings the runs used: config.yaml with "auto" as each run's finished folds
  resolved it, the torch thread count, the mmnet that trained the folds (version, git revision, code
  digest), and env.json's torch version, CPU capability, frames and labels digests.

The tests hold the trained models fixed: they ask whether these trained instances differ on these
subjects, not whether the recipes do (the spread over seeds is not in them), so a run with fewer
than :data:`MIN_SEEDS` seeds is warned of. McNemar treats samples as independent, which they are
not under LOSO (the samples of one subject share a face and a fold): its p-values are too small.

The markdown is :mod:`mmnet.report.compare_text`'s; the result records the mmnet version, the command line and
the time it was made, so that a pasted table can be traced.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..config import flatten_config
from ..config_effect import inert_in_both, inert_in_one
from ..config_history import fill_earlier_keys
from ..errors import MMNetError
from ..run_folder import FOLD_NUMERICS, fold_numerics, fold_software
from .bootstrap import (
    LEVEL,
    RESAMPLES,
    SEED,
    SIGN_FLIP_EXACT_MAX,
    mcnemar_exact,
    paired_bootstrap,
    paired_sign_flip,
    stratum_sizes,
)
from .compare_roots import same_data_root
from .compare_text import (
    INSTANCES_NOTE,
    MCNEMAR_NOTE,
    PROTOCOL_NAMES,
    PROTOCOLS_NOTE,
    USED_NOTE,
    ci_method,
    few_subjects,
    render_compare_markdown,
)
from .protocol_text import datasets_tested
from .render import VERDICT_MIN_SUBJECTS
from .run_reader import Run, config_value, load_run
from .scores import score_run

__all__ = ["CompareError", "compare_runs", "render_compare_markdown", "recorded_parameters"]

_SAME_CONFIG = ("data.dataset", "data.scheme")  # data.protocol may differ: the runs are paired by sample
#: Seeds per run below which compare warns: with 2 the spread over seeds rests on one degree of freedom,
#: too little to tell a recipe's difference from the luck of its seeds.
MIN_SEEDS = 3
#: What env.json records of a run's machine and data beyond its config; compared where both runs record it.
_RECORDED = ("torch_version", "cpu_capability", "frames_digest", "labels_digest")


class CompareError(MMNetError, ValueError):
    """Runs that cannot be compared (different samples, dataset or classes), or too few of them."""


def _plain(value):
    """A numpy scalar as the Python value (for messages)."""
    return value.item() if hasattr(value, "item") else value


def _scored(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {s: f.set_index("sample_id")[["dataset", "subject", "true"]] for s, f in frames.items()}


def _differences(name_a: str, a: Run, fa: dict, name_b: str, b: Run, fb: dict) -> list[str]:
    """Why run B cannot be paired with run A; empty when it can."""
    out = []
    if a.classes != b.classes:
        out.append(f"classes differ: {a.classes} in {name_a}, {b.classes} in {name_b}")
    for key in _SAME_CONFIG:
        va, vb = config_value(a.config, key), config_value(b.config, key)
        if va != vb:
            out.append(f"{key} differs: {va!r} in {name_a}, {vb!r} in {name_b}")
    ref_seed, ref = next(iter(_scored(fa).items()))
    for label, frames in ((name_a, fa), (name_b, fb)):
        for seed, f in _scored(frames).items():
            only_here, only_ref = sorted(set(f.index) - set(ref.index)), sorted(set(ref.index) - set(f.index))
            if only_here or only_ref:
                parts = [f"{len(x)} sample(s) only in {who}, e.g. {x[:3]}"
                         for x, who in ((only_ref, f"{name_a} seed {ref_seed}"), (only_here, f"{label} seed {seed}"))
                         if x]
                out.append(f"scored samples differ ({'; '.join(parts)}); compare complete runs of the same data, "
                           "or runs stopped after the same folds")
                return out
            joined = ref.merge(f, left_index=True, right_index=True, suffixes=("", "_b"))
            for col in ("true", "subject", "dataset"):
                bad = joined[joined[col] != joined[f"{col}_b"]]
                if len(bad):
                    sid, va, vb = bad.index[0], _plain(bad[col].iloc[0]), _plain(bad[col + "_b"].iloc[0])
                    if col == "true":
                        va, vb = f"{a.classes[va]} ({va})", f"{b.classes[vb]} ({vb})"
                    out.append(f"sample {sid!r} has {col} {va!r} in {name_a} but {vb!r} in {label} seed {seed} "
                               f"({len(bad)} such sample(s)): different annotations or label scheme")
                    return out
    return out


def _settings_used(run: Run) -> dict:
    """What the run trained with, flattened: config.yaml, with train.device, precision and memory_format as the
    finished folds' done.json recorded them (else env.json: "auto" as it resolved), the torch thread count, and
    env.json's _RECORDED values, and the mmnet that trained them (``mmnet``: one entry per mmnet, see
    _software_used). A value the folds differ in is the sorted list of their values. Where nothing is recorded
    (an older run) config.yaml's value stands, "auto" memory format resolved from the recorded device and
    precision as the trainer resolves it, and the thread count and env.json's values are left out."""
    config = copy.deepcopy(run.config)
    fill_earlier_keys(config)  # an older run's config.yaml: the keys added since, as it behaved (not differences)
    # how often the resume state is written, and a TensorBoard log: not how the run trained
    used = {k: v for k, v in flatten_config(config).items()
            if k not in ("train.state_every_s", "train.tensorboard", "train.card_contact")}
    finished = [f.done for folds in run.folds.values() for f in folds if f.finished]
    per_fold = [fold_numerics(done, run.env) for done in finished] or [fold_numerics({}, run.env)]
    for key in FOLD_NUMERICS:
        values = sorted({v[key] for v in per_fold if v[key] is not None}, key=str)
        if values:
            used[f"train.{key}" if key in FOLD_NUMERICS[:3] else key] = values[0] if len(values) == 1 else values
    if software := _software_used(run):
        used["mmnet"] = software
    if used.get("train.memory_format") == "auto":  # a run of before the memory format was recorded
        used.pop("train.memory_format")
        if (resolved := _auto_memory_format(used.get("train.device"), used.get("train.precision"),
                                            run.env.get("cpu_capability"))) is not None:
            used["train.memory_format"] = resolved
    used.update({key: run.env[key] for key in _RECORDED if run.env.get(key)})
    return used


def _software_used(run: Run) -> str | list[str] | None:
    """The mmnet that trained the run's finished folds, as its Reproduce line names it ("0.2.0 e4d7812
    sha256:7883a728aa6f"); several: one entry each, with the seeds it trained ("... (seeds 0, 1)")."""
    seeds: dict[str, list] = {}
    for seed, folds in sorted(run.folds.items()):
        for fold in (f for f in folds if f.finished):
            seeds.setdefault(_software_text(fold_software(fold.done, run.env)), []).append(seed)
    if len(seeds) > 1:
        return [f"{name} (seed{'s' if len(set(s)) > 1 else ''} {', '.join(map(str, dict.fromkeys(s)))})"
                for name, s in seeds.items()]
    return next(iter(seeds), None) or _software_text(fold_software({}, run.env))


def _software_text(software: dict) -> str | None:
    parts = (software.get("mmnet_version"), str(software.get("git_revision") or "")[:7] or None,
             str(software.get("code_digest") or "")[:19] or None)
    return " ".join(p for p in parts if p) or None


def _auto_memory_format(device, precision, cpu_capability) -> str | None:
    """"auto" as ``runtime.resolve_memory_format`` resolves it on a run's recorded device, precision and CPU
    capability (NCHW only for fp32 on a CPU without AVX-512); None where what it depends on is not recorded."""
    if not isinstance(device, str) or not isinstance(precision, str):
        return None
    if device.split(":")[0] != "cpu" or precision == "bf16":
        return "channels_last"
    return None if not cpu_capability else "channels_last" if cpu_capability == "AVX512" else "contiguous"


def _machine_only(key: str) -> bool:
    """A compared value that only the run's records hold (no config key; the memory format where "auto" cannot be
    resolved from an older run's records): absent in one run is not a difference."""
    return key in ("torch_threads", "train.memory_format", "mmnet") or key in _RECORDED


def _setting_differences(ref: dict, run: dict, inert: dict | None = None) -> dict:
    """``{key: [reference's, run's]}``; keys in ``inert`` (a run does not use them) are left out."""
    return {k: [ref.get(k), run.get(k)] for k in sorted(set(ref) | set(run))
            if ref.get(k) != run.get(k) and not (_machine_only(k) and (k not in ref or k not in run))
            and k not in (inert or {})}


def _configs(a: Run, b: Run) -> tuple[dict, dict]:
    """Both runs' config.yaml, an older run's keys filled in as it behaved."""
    out = copy.deepcopy(a.config), copy.deepcopy(b.config)
    for config in out:
        fill_earlier_keys(config)
    return out


#: The test to read first; the others are shown beside it, none corrected for multiple comparisons.
PRIMARY = "UAR with the sign-flip test over subjects"


def _headline_ci(report: dict, level: str = "subjects") -> dict | None:
    """The interval of the seed mean, or of the one seed (None: seeds tested different subjects)."""
    block = report["headline"]["ci"][level]
    return block["mean"] or (next(iter(block["per_seed"].values())) if len(block["per_seed"]) == 1 else None)


def recorded_parameters(report: dict) -> int | None:
    """The network's parameter count a run's folds recorded in its report (one network; None for an earlier
    mmnet's run)."""
    trained = (((report.get("protocol") or {}).get("network") or {}).get("trained")) or []
    counts = {t.get("parameters") for t in trained if isinstance(t, dict)}
    return counts.pop() if len(counts) == 1 and isinstance(next(iter(counts)), int) else None


def _seed_order(seed: str) -> tuple:
    return (0, int(seed), "") if seed.lstrip("-").isdigit() else (1, 0, seed)  # 2 before 10


def seed_pairs(ref_seeds: Sequence[str], run_seeds: Sequence[str]) -> tuple[list[tuple[str, str]], dict]:
    """McNemar's pairs of seeds (reference, run): equal seeds first, then the others in numeric order; and the
    seeds of each run left without a partner (``reference``, ``run``)."""
    ref, run = sorted(ref_seeds, key=_seed_order), sorted(run_seeds, key=_seed_order)
    same = [s for s in ref if s in run]
    ref_rest, run_rest = [s for s in ref if s not in same], [s for s in run if s not in same]
    pairs = [(s, s) for s in same] + list(zip(ref_rest, run_rest))
    return pairs, {"reference": ref_rest[len(run_rest):], "run": run_rest[len(ref_rest):]}


def compare_runs(paths: Sequence[str | Path], resamples: int = RESAMPLES) -> dict:
    """Score the runs and compare each with the first; see the module docstring. Writes nothing."""
    if len(paths) < 2:
        raise CompareError(f"compare needs at least two run folders, got {len(paths)}.")
    # 'run1', './run1/' and '/abs/run1' are one folder; a symbolic link is not followed, so that a run
    # can still be compared with itself through one (a check that the comparison shows no difference)
    names = [str(p) for p in paths]
    where = [os.path.abspath(p) for p in paths]
    twice = [name for name, absolute in zip(names, where) if where.count(absolute) > 1]
    if twice:
        raise CompareError(f"a run folder is given twice: {twice} are the same folder.")
    loaded = []
    for p in paths:
        run = load_run(p)
        report, pooled = score_run(run, "last", resamples)
        frames = {str(s): pooled[s]["acc"] for s in report["headline"]["per_seed"]}
        loaded.append((run, report, frames))
    ref_run, ref_report, ref_frames = loaded[0]
    problems = []
    for name, (run, _, frames) in zip(names[1:], loaded[1:]):
        problems += [f"- {d}" for d in _differences(names[0], ref_run, ref_frames, name, run, frames)]
    if problems:
        raise CompareError("the runs are not comparable on the same samples:\n" + "\n".join(problems))
    rows = []
    for name, (_, report, _) in zip(names, loaded):
        h = report["headline"]
        rows.append({"run": name, "complete": report["complete"], "n_seeds": h["n_seeds"],
                     "n": next(iter(h["per_seed"].values()))["n"], "mean": h["mean"], "std": h["std"],
                     "ci": _headline_ci(report), "ci_samples": _headline_ci(report, "samples"),
                     "dataset_fingerprint": report["dataset_fingerprint"],
                     "frames_digest": report.get("frames_digest"), "parameters": recorded_parameters(report),
                     **datasets_tested(report)})  # which datasets it tested, each one's scores (LODO: per model)
    ref_used = _settings_used(ref_run)
    comparisons = []
    for name, (run, _, frames) in zip(names[1:], loaded[1:]):
        configs = _configs(ref_run, run)
        # keys neither network nor data path reads, and a data root written two ways: not differences
        inert = {**inert_in_both(*configs), **same_data_root(ref_run, run)}
        one = inert_in_one(*configs)  # read by one run only: the difference is in what makes the other not read it
        used = _settings_used(run)
        changed = _setting_differences(ref_used, used, {**inert, **one})
        every = _setting_differences(ref_used, used)
        unused = {k: {"values": v, "why": inert[k]} for k, v in every.items() if k in inert}
        unused_in_one = {k: {"values": v, "no_effect_in": (names[0], name)[one[k][0]], "why": one[k][1]}
                         for k, v in every.items() if k in one}
        boot = paired_bootstrap(list(frames.values()), list(ref_frames.values()), len(ref_run.classes),
                                resamples=resamples)
        sizes = stratum_sizes([*frames.values(), *ref_frames.values()]) if boot["stratified_by"] else None
        boot["few_subjects"] = few_subjects(sizes or [boot["n_units"]])
        sign_flip = paired_sign_flip(list(frames.values()), list(ref_frames.values()), len(ref_run.classes),
                                     flips=resamples)
        mcnemar = []
        pairs, unpaired = seed_pairs(list(ref_frames), list(frames))
        for sa, sb in pairs:
            fa, fb = ref_frames[sa], frames[sb]
            both = fa.merge(fb, on="sample_id", suffixes=("", "_b"))
            t = mcnemar_exact(both["true_b"] == both["pred_b"], both["true"] == both["pred"])  # (run, reference)
            mcnemar.append({"reference_seed": sa, "seed": sb, "n": len(both), "run_only_correct": t["a_only_correct"],
                            "reference_only_correct": t["b_only_correct"], "both_correct": t["both_correct"],
                            "both_wrong": t["both_wrong"], "p_value": t["p_value"]})
        comparisons.append({"run": name, "reference": names[0], "protocols": _protocols(ref_run, run),
                            "config_differences": changed,
                            "inert_differences": unused, "inert_in_one_differences": unused_in_one,
                            "paired_bootstrap": boot, "sign_flip": sign_flip, "mcnemar": mcnemar,
                            "mcnemar_unpaired_seeds": unpaired})
    digests = [r["frames_digest"] for r in rows]
    notes = []
    if all(digests) and len(set(digests)) > 1:
        caches = [run.env.get("frame_cache_version") for run, _, _ in loaded]
        upgrade = (f" (frame cache versions {', '.join(map(str, caches))}: an mmnet upgrade changed how the same "
                   "files are decoded)" if all(caches) and len(set(caches)) > 1 else "")
        notes.append(f"the runs' decoded frames differ (frames_digest: frames or preprocessing changed){upgrade}: "
                     "same samples and labels, different input data")
    elif not all(digests) and len({r["dataset_fingerprint"] for r in rows}) > 1:  # runs without a digest
        notes.append(_fingerprint_note(names, [run.env for run, _, _ in loaded]))
    if not all(r["complete"] for r in rows):
        notes.append("some runs are PARTIAL: the comparison covers the folds finished in every run")
    few = [r["run"] for r in rows if r["n_seeds"] < MIN_SEEDS]
    if few:
        notes.append(f"{', '.join(few)} {'has' if len(few) == 1 else 'have'} fewer than {MIN_SEEDS} seeds, and "
                     f"{INSTANCES_NOTE}; to compare recipes, train at least {MIN_SEEDS} seeds of each and weigh "
                     "the gap between their means against the spread over seeds (± std)")
    # always several p-values: three metrics, the sign-flip test and McNemar's per pair of seeds, for each run
    runs = f", for {len(comparisons)} runs each tested against the reference" if len(comparisons) > 1 else ""
    notes.append(f"the p-values are not corrected for multiple comparisons (three metrics, the sign-flip test and "
                 f"McNemar's{runs}): the primary test is {PRIMARY}, the others are secondary")
    return {**_provenance(names, resamples), "selection": "last", "classes": ref_run.classes, "reference": names[0],
            "runs": rows,
            "comparisons": comparisons, "notes": notes,
            "method": {"ci": ci_method(names, [n for n, (_, r, _) in zip(names, loaded)
                                               if r["headline"]["ci"]["subjects"].get("stratified_by")]),
                       "level": LEVEL,
                       "resamples": resamples, "seed": SEED,
                       "paired": "paired bootstrap over subjects of run minus reference: an approximate percentile "
                                 "interval (it tends to be narrow with few subjects), no p-value; rough with fewer "
                                 f"than {VERDICT_MIN_SUBJECTS} subjects",
                       "primary": PRIMARY,
                       "sign_flip": "paired sign-flip test over subjects: the runs' predictions swapped on every "
                                    "set of subjects, the comparison's p-value (2**n arrangements, all of them up to "
                                    f"{SIGN_FLIP_EXACT_MAX} subjects, else "
                                    f"{resamples} random ones); two-sided, p >= 2 / 2**n; it tests the paired "
                                    "bootstrap's difference (the mean over seeds of each seed's score, run minus "
                                    "reference; sign_flip.<metric>.difference), the predictions swapped in every "
                                    "pair of a seed of each run; exact (sign_flip.exact) only with all arrangements "
                                    "(sign_flip.all_arrangements) and one seed per run, else approximate",
                       "differences": USED_NOTE,
                       "scope": INSTANCES_NOTE,
                       "mcnemar": "exact two-sided McNemar (binomial) test on per-sample correctness; " + MCNEMAR_NOTE}}


def _protocols(ref: Run, run: Run) -> dict | None:
    """How two runs of other protocols (LOSO, LODO) are paired, for the comparison to say; None: the same protocol."""
    short = [str(config_value(r.config, "data.protocol", "loso")) for r in (ref, run)]
    if short[0] == short[1]:
        return None
    words = " vs ".join(PROTOCOL_NAMES.get(p, p) for p in short)
    return {"reference": short[0], "run": short[1], "paired": "by sample",
            "note": f"protocols differ: {words}; paired by sample: {PROTOCOLS_NOTE}"}


def _fingerprint_note(names: list[str], envs: list[dict]) -> str:
    """Why the fingerprints of runs that do not all record a frames digest differ. The fingerprint holds the frame
    cache's version: a run started before the digest was recorded (frame cache version 1, as a rule) has another
    fingerprint for the same files than one of a later mmnet, which decodes them anew."""
    earlier = [n for n, env in zip(names, envs) if not env.get("frames_digest")]
    if len(earlier) == len(names):
        return ("the runs' dataset fingerprints differ (frames or preprocessing changed, or the same files "
                "elsewhere): same samples and labels, different input data")
    return (f"the runs' dataset fingerprints differ, and the frame cache version changed by an mmnet upgrade: "
            f"{', '.join(earlier)} {'was' if len(earlier) == 1 else 'were'} started by an earlier mmnet (no frames "
            "digest recorded: frame cache version 1), and the fingerprint includes the frame cache version, so it "
            "differs for the same files; whether the frames differ is not recorded (version 1 decoded 16-bit grey "
            "images and photos with a rotation tag differently)")


def _provenance(names: list[str], resamples: int) -> dict:
    """What traces a pasted comparison: the mmnet that made it, its command line (the CLI's for a library call) and
    when (UTC)."""
    from datetime import datetime, timezone

    from ..shell_words import shell_quote
    from ..version import __version__

    more = f" --resamples {resamples}" if resamples != RESAMPLES else ""
    return {"mmnet_version": __version__, "command": "mmnet compare " + " ".join(map(shell_quote, names)) + more,
            "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
