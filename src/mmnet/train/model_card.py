"""The final model's card: RUN/final/MODEL_CARD.md and model_card.json (the same, for programs).

RUN/final holds the card; an identical copy goes into the model folder (RUN/final/model/, the
``save_pretrained`` folder), so whoever copies only that folder keeps the card with the weights.

Everything on the card is read from the run folder (config.yaml, env.json, samples.csv,
skipped.csv, final/done.json, the saved weights) plus the LOSO report of the same run, so a card
can always be written again from what is on disk. The LOSO numbers are the honest ones (the model
after the last epoch of each fold); the final model itself is trained on every subject and its
own accuracy is not measured.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from .. import run_folder as rf
from ..config import non_default_values
from ..data.releases import RELEASES, papers_to_cite
from ..infer.alignment import alignment_summary
from ..infer.provenance import is_synthetic
from ..model import CheckpointInfo, read_checkpoint
from ..model.config import variant_name
from ..model.mmnet import WEIGHTS_NAME
from ..model_use import (
    INTENDED_USE,
    LIMITS,
    NOBODY_RECORDED,
    SUBGROUPS,
    SYNTHETIC_LIMITS,
    failure_modes,
    synthetic_banner,
    who_recorded,
)
from ..report.methods import strict_fp32
from ..report.parts import dataset_order
from ..report.run_reader import RUN_TABLE_REMEDY, read_csv, read_json
from ..report.subject_spread import subject_spread_line
from ..report.verdict import chance_verdict
from ..utils import atomic_write_text
from .card_render import MMNET_CLASS, render_card

__all__ = ["write_model_card", "render_card", "DATASET_OWNERS", "INTENDED_USE", "LIMITS"]

#: Each dataset a run's samples.csv can name (a long-video dataset's micro-expressions keep its key): its release
#: as the owner names it, who releases it (docs/datasets.md) and the owner's page that gives its licence agreement
#: (None: the card names the owner to ask). The card's licence note names the agreement; its terms are the owner's,
#: so the card points to them.
DATASET_RELEASES = {key: (r.name, r.owner, r.page) for key, r in RELEASES.items() if key != "composite"}
#: "<release>, <owner>" per dataset: the card's ``training.datasets.<key>.owner``.
DATASET_OWNERS = {key: f"{name}, {owner}" for key, (name, owner, _) in DATASET_RELEASES.items()}
#: The ``table`` dataset holds a lab's own clips: no owner's agreement, but the consent of the people filmed.
OWN_CLIPS = "table"
DATASET_OWNERS[OWN_CLIPS] = "your own clips (the table dataset), recorded by whoever trained this model"
OWN_CLIPS_TERMS = ("your own clips (the table dataset): the consent the people filmed gave, and your institution's "
                   "data-protection and ethics approval, say whether a model trained on them may be shared")
#: The ``table-long`` dataset holds a lab's own long recordings (spot-then-recognise trains on their intervals).
OWN_RECORDINGS = "table-long"
DATASET_OWNERS[OWN_RECORDINGS] = "your own recordings (the table-long dataset), recorded by whoever trained this model"
#: a lab's own data: the terms its card names instead of an owner's agreement
OWN_DATA_TERMS = {OWN_CLIPS: OWN_CLIPS_TERMS, OWN_RECORDINGS: OWN_CLIPS_TERMS.replace(
    "your own clips (the table dataset)", "your own recordings (the table-long dataset)")}
# Local paths and what to do with the run (not the recipe): left out of the card's values.
_NOT_RECIPE = ("data.root", "data.cache_dir", "train.final_fit", "train.tensorboard", "train.state_every_s",
               "train.card_contact")
# Shown in the card's own sections: the scheme under "classes", the input size under "preprocessing".
_SHOWN_ELSEWHERE = ("data.scheme", "model.image_size")

NOT_MEASURED = ("The final model is trained on every subject, so no held-out subject is left to test it: its own "
                "accuracy is NOT measured. The LOSO scores above estimate how this recipe does on subjects it "
                "has not seen; they are not a measurement of this model.")
def write_model_card(run_dir: str | Path, report: dict | None, *, source: str | None = None) -> dict:
    """Write the card of ``run_dir/final`` and return it (the JSON form).

    Args:
        run_dir: a run folder whose final fit is finished (``final/done.json``).
        report: the run's LOSO report (``build_report``), or None when no fold ran.
        source: where the configuration came from ("recipe casme2_5class", a file), for the card.
    """
    run = Path(run_dir)
    final = run / rf.FINAL
    cfg = yaml.safe_load((run / rf.CONFIG).read_text(encoding="utf-8")) or {}
    env = read_json(run / rf.ENV) if (run / rf.ENV).is_file() else {}  # optional, as for the report: "unknown"
    done = read_json(final / rf.DONE)
    samples = read_csv(run / rf.SAMPLES, ("dataset", "subject", "class_index"), RUN_TABLE_REMEDY).to_dict("records")
    skipped = read_csv(run / rf.SKIPPED, rf.SKIPPED_COLUMNS, RUN_TABLE_REMEDY) if (run / rf.SKIPPED).is_file() else None
    # a composite's list leaving a part's sample out is the protocol's choice, counted apart from data problems
    problems, unlisted = rf.split_skipped([] if skipped is None else zip(skipped["sample_id"], skipped["reason"]))
    weights = final / rf.MODEL / WEIGHTS_NAME
    _, meta = read_checkpoint(weights)  # also proves the weights load
    data = cfg.get("data") or {}
    classes = list(data.get("classes") or [])
    synthetic = bool(is_synthetic(data, run))  # the rule `mmnet explain` and `mmnet serve` label the model by
    datasets = dataset_order(s["dataset"] for s in samples)  # SMIC, CASME II, SAMM, as the report lists them
    drawn = _synthetic_parts(data, run, datasets) if synthetic else set()
    per_dataset = {}
    for ds in datasets:
        rows = [s for s in samples if s["dataset"] == ds]
        per_dataset[ds] = {"samples": len(rows), "subjects": sorted({s["subject"] for s in rows}),
                           "owner": DATASET_OWNERS.get(ds, f"{ds}: its owners"), "recorded": who_recorded(ds)}
        if ds in drawn:  # mmnet's faces in this dataset's file layout: nobody's data, nobody filmed
            per_dataset[ds].update(owner=None, synthetic=True, layout=ds,
                                   recorded="nobody: mmnet's synthetic faces, drawn by `mmnet synth`")
    counts = Counter(int(s["class_index"]) for s in samples)
    partly = synthetic and set(drawn) != set(datasets)
    card = {
        "model": {"path": f"{rf.FINAL}/{rf.MODEL}", "weights": f"{rf.FINAL}/{rf.MODEL}/{WEIGHTS_NAME}",
                  **_architecture(done, meta), "network": meta.get("model")},
        "weights": {"file": WEIGHTS_NAME, "sha256": rf.file_sha256(weights), "bytes": weights.stat().st_size},
        "source": source or "not recorded (the Python API was called without source=)",
        "training": {"dataset": data.get("dataset"), "datasets": per_dataset, "samples": len(samples),
                     "subjects": len({(s["dataset"], s["subject"]) for s in samples}),
                     "skipped_samples": len(problems), "not_listed": unlisted,
                     "epochs": done.get("epochs"), "seed": done.get("seed"),
                     "seconds": done.get("seconds"), "device": done.get("device"),
                     "precision": done.get("precision"), "tf32": done.get("tf32"),  # a GPU fit's TF32 flags
                     # report.md's Methods clause, of the final fit (its device and precision, not the run start's)
                     "strict_fp32": strict_fp32(cfg, {**env, **{k: done[k] for k in ("device", "precision")
                                                                if done.get(k)}}, [done]) or None,
                     "selection": "none: the model after the last epoch",
                     "dataset_fingerprint": env.get("dataset_fingerprint")},
        "classes": {"scheme": data.get("scheme"), "names": classes,
                    "samples_per_class": {c: counts.get(i, 0) for i, c in enumerate(classes)}},
        "preprocessing": {**(meta.get("preprocessing") or {}), "frames": _frames_note(cfg),
                          # a composite's parts: each one's frames folder, and whether it held face crops
                          **({"part_frames": env["part_frames"]} if env.get("part_frames") else {})},
        # the checkpoint's own record (what `mmnet predict --align` crops new footage by), not the config's guess
        "alignment": alignment_summary(CheckpointInfo.from_metadata(meta).training),
        "recipe_values": _non_default(cfg),
        "loso": _loso(report, cfg),
        "not_measured": NOT_MEASURED,
        "intended_use": INTENDED_USE,
        "limits": SYNTHETIC_LIMITS if synthetic and not partly else LIMITS,
        "failure_modes": failure_modes(_rate_keys(data, [d for d in datasets if d not in drawn]),
                                       synthetic=synthetic and not partly),
        "subgroups": NOBODY_RECORDED if synthetic and not partly else SUBGROUPS,
        "synthetic_data": synthetic,
        "synthetic_banner": synthetic_banner(sorted(drawn) or datasets, partly=partly) if synthetic else None,
        "contact": str((cfg.get("train") or {}).get("card_contact") or "") or "not given",
        "licence": _licence({d: v for d, v in per_dataset.items() if d not in drawn}, synthetic, partly),
        # the papers of the real data it learnt from (none for synthetic faces, nor a lab's own clips)
        "cite": papers_to_cite([d for d in datasets if d not in drawn],
                               composite=data.get("dataset") == "composite" and not drawn,
                               objective="objective" in str(data.get("scheme") or "")),
        "software": {"mmnet_version": meta.get("mmnet_version"),
                     # the final fit's, not the run's; the code digest tells installed mmnets apart (no git revision)
                     **{k: rf.fold_software(done, env)[k] for k in ("git_revision", "code_digest")},
                     "torch_version": env.get("torch_version"), "python": env.get("python")},
    }
    text_json, text_md = json.dumps(card, indent=2, default=str) + "\n", render_card(card)
    for folder in (final, final / rf.MODEL):  # the card, and its copy that travels with the model folder
        atomic_write_text(folder / rf.MODEL_CARD_JSON, text_json)
        atomic_write_text(folder / rf.MODEL_CARD, text_md)
    return card


def _frames_note(cfg: dict) -> str:
    main = (cfg.get("model") or {}).get("main_input", "difference")
    seen = {"difference": "the apex minus the onset frame", "apex": "the apex frame",
            "flow": f"the optical flow onset -> apex ({(cfg.get('data') or {}).get('flow_method')})"}.get(main, main)
    return (f"two frames of a face crop, onset and apex; the main branch sees {seen}, the position calibration "
            "the onset face. Frames are resized to image_size x image_size (bilinear) and normalised with the "
            "mean and std above. Give face crops aligned like the training data (`mmnet predict --align` or "
            "`mmnet prepare` for raw footage).")


def _rate_keys(data: dict, datasets: list[str]) -> list[str]:
    """The datasets as ``model_use.FRAME_RATES`` keys: SMIC's samples say "smic" whichever part (HS at 100 fps, VIS
    or NIR at 25) data.dataset named."""
    named = str(data.get("dataset") or "")
    return [named if ds == "smic" and named.startswith("smic-") else ds for ds in datasets]


def _non_default(cfg: dict) -> dict:
    """Every recipe value that differs from the built-in defaults (the paper's 5-class CASME II recipe)."""
    return {k: v for k, v in non_default_values(cfg).items() if k not in _NOT_RECIPE and k not in _SHOWN_ELSEWHERE}


def _loso(report: dict | None, cfg: dict) -> dict:
    protocol = (cfg.get("data") or {}).get("protocol", "loso")
    if report is None or "headline" not in report:
        return {"available": False, "protocol": protocol,
                "note": "no cross-validation fold was run in this run folder (train.final_fit: only): "
                        "this recipe's accuracy on unseen subjects is not known from this run."}
    head = report["headline"]
    out = {"available": True, "protocol": protocol, "selection": "last (honest: the model after the last epoch "
           "of each fold; nothing about the test subject chose it)", "complete": report.get("complete"),
           "folds_per_seed": report.get("n_folds"), "n_seeds": head.get("n_seeds"), "samples": report.get("n_samples"),
           "mean": head.get("mean"), "std": head.get("std"), "per_seed": head.get("per_seed")}
    if head.get("per_dataset"):
        out["per_dataset"] = {d: v.get("mean") for d, v in head["per_dataset"].items()}
    # the report's own chance level, verdict, intervals and spread, quoted (never computed again otherwise)
    classes = report.get("classes") or []
    subj = (head.get("ci") or {}).get("subjects") or {}
    per_seed_ci = subj.get("per_seed") or {}
    spread, many = head.get("subject_spread"), len(report.get("datasets") or []) > 1
    out.update(chance=1 / len(classes) if classes else None, verdict=chance_verdict(report),
               ci_subjects=subj.get("mean") or (next(iter(per_seed_ci.values())) if len(per_seed_ci) == 1 else None),
               subject_spread=spread, subject_spread_line=subject_spread_line(spread, many),
               per_class=_per_class(report))
    return out


def _per_class(report: dict) -> dict:
    """Each class's F1 and recall of the honest selection (report.json's seeds.<S>.last), the mean over seeds."""
    seeds = [e["last"] for e in (report.get("seeds") or {}).values() if "f1" in e.get("last", {})]
    if not seeds:
        return {}
    return {c: {k: sum(s[k][i] for s in seeds) / len(seeds) for k in ("f1", "recall")}
            for i, c in enumerate(report.get("classes") or [])}


def _synthetic_parts(data: dict, run: Path, datasets: list[str]) -> set[str]:
    """The datasets of ``datasets`` whose data folder is mmnet's synthetic set: all of them for a synthetic
    dataset, the synthetic parts of a composite."""
    if data.get("dataset") != "composite":
        return set(datasets)
    from ..data import dataset_paths
    from ..dataset_root import parse_root
    from ..errors import ConfigError

    try:
        parts = dataset_paths(parse_root("composite", data.get("root")))[0]
    except ConfigError:
        return set()
    return {p for p, root in parts.items() if p in datasets and is_synthetic({"dataset": p, "root": str(root)}, run)}


def _agreement(dataset: str) -> str:
    """The licence agreement a dataset is used under, named as its owner releases it."""
    if dataset in OWN_DATA_TERMS:
        return OWN_DATA_TERMS[dataset]
    if dataset not in DATASET_RELEASES:
        return f"{dataset}: see the release agreement of its owners"
    name, owner, page = DATASET_RELEASES[dataset]
    return f"{name}: see the licence agreement of {owner}" + (f" ({page})" if page else "")


def _licence(per_dataset: dict, synthetic: bool = False, composite: bool = False) -> str:
    """The licence note; a composite with a synthetic part may hold licence-gated parts too."""
    if synthetic and not composite:
        return ("Trained on mmnet's synthetic faces (`mmnet synth` / `mmnet demo`), not on a dataset: no dataset "
                "licence applies, and the model's predictions mean nothing on real faces.")
    agreements = "; ".join(_agreement(ds) for ds in per_dataset)
    own = "mmnet's own licence (MIT) covers the code, not the data or this model."
    if synthetic:
        return ("Trained partly on mmnet's synthetic faces (`mmnet synth` / `mmnet demo`): the model's predictions "
                f"mean nothing on real faces. Its other parts are licence-gated data, each used under its owner's "
                f"agreement: {agreements}. Read each before sharing these weights. {own}")
    if per_dataset and set(per_dataset) <= set(OWN_DATA_TERMS):
        return f"Trained on {agreements}. {own}"
    return (f"Trained on licence-gated data: each dataset is released by its owner for non-commercial research "
            f"under a licence agreement its users sign, and these weights derive from that data: "
            f"{agreements}. Whether these weights may be shared or used commercially is for those agreements to "
            f"say: read each before doing either. {own}")


def _architecture(done: dict, meta: dict) -> dict:
    """The card's architecture: the network the final fit trained (done.json; the checkpoint's record; MMNet for an
    mmnet that recorded neither), its parameter count, and model.factory when one built it."""
    name = done.get("network") or meta.get("network") or MMNET_CLASS
    factory = (meta.get("model") or {}).get("factory") or ""
    variant = variant_name(meta.get("model") or {})  # an ablation is named where the architecture is
    paper = "Li et al., IJCAI 2022"
    architecture = f"MMNet ({paper})" if variant == "MMNet" else f"{variant} (a variant of MMNet, {paper})"
    out = {"architecture": architecture if name == MMNET_CLASS else f"{name} (not MMNet)",
           "class": name, "parameters": done.get("parameters")}
    if name == MMNET_CLASS:
        out["variant"] = variant
    return {**out, "factory": factory} if factory else out
