"""The model card as Markdown (RUN/final/MODEL_CARD.md), from its JSON form (``model_card.write_model_card``)."""

from __future__ import annotations

from .. import run_folder as rf
from ..choices import AUTHORS_FP32, AUTHORS_PRECISION
from ..report.rounding import half_up
from ..shell_words import shell_quote

__all__ = ["render_card", "MMNET_CLASS"]

#: the network done.json and the checkpoint record for MMNet itself (mmnet.model.factory.network_name)
MMNET_CLASS = "mmnet.model.mmnet:MMNet"
_NAMES = {"acc": "ACC", "uf1": "UF1", "uar": "UAR"}


def render_card(card: dict) -> str:
    """The card as Markdown."""
    t, cl = card["training"], card["classes"]
    name = card["model"].get("class", MMNET_CLASS)
    label = card["model"].get("variant") or "MMNet" if name == MMNET_CLASS else name.rpartition(":")[2]
    lines = [f"# Model card: {label} micro-expression classifier", ""]
    if card.get("synthetic_banner"):  # before anything that names a dataset: no real one is behind this model
        lines += [f"**{card['synthetic_banner']}**", ""]
    lines += [f"Weights: `{card['weights']['file']}` in the model folder `{card['model']['path']}` of the run "
              f"(SHA-256 `{card['weights']['sha256']}`, {card['weights']['bytes']} bytes); this card is in "
              f"`{rf.FINAL}/` and, the same, in the model folder. Architecture: {card['model']['architecture']}. "
              + _how_to_load(card), "", f"Contact: {card.get('contact') or 'not given'}.", "",
              "## Training data", "",
              f"{t['samples']} samples of {t['subjects']} subjects, every one used for training "
              f"({t['skipped_samples']} left out, listed in skipped.csv"
              + "".join(f"; {n} not in {name}, left out by the protocol's list"
                        for name, n in (t.get("not_listed") or {}).items())
              + f"); {t['epochs']} "
              f"epoch{'' if t['epochs'] == 1 else 's'} (train.epochs: a fixed count, none chosen on a test subject), "
              f"seed {t['seed']}, "
              f"{t['device']} {t['precision']}{_tf32(t.get('tf32'))}, {t['seconds']} s.",
              "", f"Dataset fingerprint: `{t.get('dataset_fingerprint') or 'not recorded'}` (from the run's env.json: "
              "a hash of the samples, the image size and each frame file's path, size and modification time; "
              "a run with the same fingerprint trained on the same frames).", ""]
    for ds, v in t["datasets"].items():
        what = f"synthetic (`{ds}` layout, no owner)" if v.get("synthetic") else f"`{ds}`"
        lines.append(f"- {what}: {v['samples']} samples, subjects {', '.join(v['subjects'])}")
    lines += ["", "### Who was recorded", ""]
    lines += [f"- {'synthetic' if v.get('synthetic') else f'`{ds}`'}: {v.get('recorded')}"
              for ds, v in t["datasets"].items()]
    lines += ["", card.get("subgroups") or "", "", "## Classes", "", f"Scheme `{cl['scheme']}`, in logit order:", ""]
    lines += [f"{i}. {c} (training samples: {cl['samples_per_class'][c]})" for i, c in enumerate(cl["names"])]
    pre = card["preprocessing"]
    lines += ["", "## Preprocessing", "",
              f"Image size {pre.get('image_size')}, mean {pre.get('mean')}, std {pre.get('std')}; {pre['frames']}",
              *_part_frames(pre.get("part_frames")),
              "", f"Face alignment of the training clips: {card['alignment']['caption']}", "",
              "## Recipe", "", f"Configuration: {card['source']}. Values that differ from the built-in "
              "defaults (the paper's 5-class CASME II recipe; local paths left out; the full configuration "
              "is the run's config.yaml):", ""]
    values = card["recipe_values"]
    lines += [f"- `{k}`: `{v}`" for k, v in values.items()]
    if t.get("precision") not in (None, AUTHORS_PRECISION):  # what train.precision=auto chose shows nowhere else
        lines.append(f"- precision used: `{t['precision']}` (the final fit's done.json); {AUTHORS_FP32}")
    elif t.get("strict_fp32"):  # fp32 as the authors trained, but without their TF32 convolutions on the GPU
        lines.append(f"- precision used: `fp32` (the final fit's done.json), {t['strict_fp32']}")
    elif not values:
        lines.append("- none: the paper's recipe as published")
    lines += ["", "## How well does it work?", "", *_loso_lines(card["loso"]), "",
              f"**{card['not_measured']}**", "", "## Intended use", "", card["intended_use"], "",
              "## Limits", "", card["limits"], "", "Known failure modes (inputs unlike the training clips):", ""]
    lines += [f"- {m}" for m in card.get("failure_modes") or []]
    lines += ["", "## Licence", "", card["licence"], ""]
    if card.get("cite"):  # a card of an earlier mmnet has none
        lines += ["Papers to cite for the training data (docs/datasets.md, \"Datasets: request and cite\"):", "",
                  *(f"- {paper}" for paper in card["cite"]), ""]
    lines += ["## Software", ""]
    sw = card["software"]
    code = f", code {sw['code_digest'][:19]}" if sw.get("code_digest") else ""  # none before 0.2.0
    lines += [f"mmnet {sw['mmnet_version']}, git revision {sw['git_revision'] or 'unknown'}{code}, torch "
              f"{sw['torch_version']}, Python {sw['python']}.", ""]
    return "\n".join(lines)


def _loso_lines(loso: dict) -> list[str]:
    """The run's cross-validation as its report gives it: the scores with their bootstrap intervals over subjects,
    chance, the report's verdict, the spread over subjects and the per-class F1 and recall."""
    if not loso["available"]:
        return [loso["note"]]
    m, s, ci = loso["mean"], loso["std"] or {}, loso.get("ci_subjects") or {}
    several = any(v is not None for v in s.values())
    lines = [f"Cross-validation of the same recipe in the same run ({loso['protocol'].upper()}, "
             f"{loso['n_seeds']} seed(s), {loso['selection']}), from its report (report.md):", "",
             f"| metric | {'mean ± std over seeds' if several else 'value'} | 95 % CI (bootstrap over subjects) |",
             "|---|---|---|"]
    # rounded as the report rounds them (halves up), so the card and report.md agree to the last digit
    lines += [f"| {_NAMES[k]} | {half_up(m[k], 4)}" + (f" ± {half_up(s[k], 4)}" if s.get(k) is not None else "")
              + (f" | {half_up(ci[k][0], 4)} – {half_up(ci[k][1], 4)} |" if ci.get(k) else " | not computed |")
              for k in ("acc", "uf1", "uar")]
    if not loso["complete"]:
        lines += ["", "The cross-validation is incomplete (unfinished folds or seeds): these numbers are partial."]
    if loso.get("chance") is not None:
        lines += ["", f"Chance: UAR {loso['chance']:.2f} (1 / {round(1 / loso['chance'])} classes: a constant or "
                      "random guess)."]
    if loso.get("verdict"):
        lines += ["", f"**Verdict: {loso['verdict']}.**"]
    if loso.get("subject_spread_line"):
        lines += ["", loso["subject_spread_line"]]
    if loso.get("per_class"):
        mean = " (mean over seeds)" if several else ""
        lines += ["", f"Per class{mean}:", "", "| class | F1 | recall |", "|---|---|---|"]
        lines += [f"| {c} | {half_up(v['f1'], 4)} | {half_up(v['recall'], 4)} |" for c, v in loso["per_class"].items()]
    if loso.get("per_dataset"):
        lines += ["", "Per dataset (mean over seeds):", ""]
    for d, dm in (loso.get("per_dataset") or {}).items():
        lines.append(f"- {d}: ACC {half_up(dm['acc'], 4)}, UF1 {half_up(dm['uf1'], 4)}, UAR {half_up(dm['uar'], 4)}")
    return lines


def _how_to_load(card: dict) -> str:
    """How to load the model: MMNet with `mmnet predict`; another network in Python, by its factory or class."""
    model, path = card["model"], shell_quote(card["model"]["path"])
    if model.get("class", MMNET_CLASS) == MMNET_CLASS:
        return (f"Load it with `mmnet predict --checkpoint {path}` (a path in the run folder) or "
                "`mmnet.model.load_checkpoint`.")
    if model.get("factory"):
        return (f"`mmnet predict` builds MMNet, not this network: load it in Python with "
                f"`mmnet.model.load_checkpoint({model['path']!r}, factory={model['factory']!r})`, where the "
                "factory's module is importable.")
    cls = model["class"].rpartition(":")[2]
    return (f"`mmnet predict` builds MMNet, not this network: load it in Python with `{cls}.from_pretrained"
            f"({model['path']!r})`, where `{model['class']}` is importable.")


def _part_frames(parts: dict | None) -> list[str]:
    """The lines naming each dataset's frames folder (a composite's parts') and whether it held face crops."""
    if not parts:
        return []
    raw = [p for p, v in parts.items() if v.get("uncropped")]
    lines = ["", "Frames of each part of the composite:" if len(parts) > 1 else "Frames:", ""]
    lines += [f"- `{part}`: `{v.get('folder')}`{' (layout ' + v['layout'] + ')' if v.get('layout') else ''}, "
              f"{'UNCROPPED full frames (not face crops)' if v.get('uncropped') else 'face crops'}"
              for part, v in parts.items()]
    if raw:
        lines += ["", f"The model learnt {', '.join(raw)} from whole frames, where the face fills a small part of "
                  "each input and the background the rest: it was not trained on face crops of that data."]
    return lines


def _tf32(flags) -> str:
    """" (TF32 convolutions, fp32 matrix products)" of a GPU fit's done.json; "" where none was recorded (CPU)."""
    if not isinstance(flags, dict):
        return ""
    said = {True: "TF32", False: "fp32"}
    return (f" ({said.get(flags.get('cudnn_allow_tf32'), '?')} convolutions, "
            f"{said.get(flags.get('cuda_matmul_allow_tf32'), '?')} matrix products)")
