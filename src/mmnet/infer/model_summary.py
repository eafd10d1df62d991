"""The model in the few words every output carries, for the people who read a prediction and those who keep it:
its title (what it was trained on and its classes: never a real dataset's name when real or synthetic is unknown),
whether it learnt synthetic faces or permuted labels, the note that says what that means, and how well it did on
people it had not seen (``performance``: the model card's cross-validation beside the weights, else the run's
report.json). ``mmnet predict --json``, ``spot.json``, ``mmnet serve``'s /api/model and its CSVs share them.

The class scores are softmax outputs, not calibrated probabilities: a score of 0.99 from a model at chance level
means nothing, so the performance line says both.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..utils import json_object_or_none
from .provenance import UNKNOWN_PROVENANCE, dataset_name, model_card_beside, record_warning, run_folder, training_record

__all__ = ["model_title", "performance", "model_summary", "note_sentence", "with_note_column", "SCORES_NOTE",
           "NOTE_COLUMN"]

#: What the class scores are, after every performance line.
SCORES_NOTE = "Scores are softmax outputs, not calibrated probabilities."
#: The CSV column of the model's note (``with_note_column``).
NOTE_COLUMN = "model_note"


def model_title(classes: list[str], training: dict | None = None) -> str:
    """The model in a line for people: what it was trained on (``provenance.training_record``) and its classes.
    A model whose data may have been synthetic (unknown) is not named after its configured dataset."""
    training = training or {}
    if training.get("synthetic"):
        what = "Demo model (synthetic faces)"
    elif training.get("permuted_labels"):
        what = "Permuted-label control model"
    elif named := known_dataset(training):
        what = f"{named} model"
    elif training:
        what = UNKNOWN_PROVENANCE
    else:
        what = "Model"
    return f"{what}, {len(classes)} classes: {', '.join(classes)}"


def known_dataset(training: dict) -> str | None:
    """The dataset's name when a training record says its data was real (or the weights were converted from a
    named source); None where the data may have been mmnet's synthetic faces: such a model is never named after the
    dataset whose layout they copied."""
    if isinstance(training.get("dataset"), str) and (training.get("synthetic") is False or training.get("source")):
        return dataset_name(training["dataset"])
    return None


def _from_report(report: dict) -> dict | None:
    """UAR, UF1, chance, subjects and the chance verdict of a run's report.json (its headline)."""
    h, classes = report.get("headline") or {}, report.get("classes") or []
    several = (h.get("n_seeds") or 1) > 1
    value = h.get("mean") if several else next(iter((h.get("per_seed") or {}).values()), None)
    if not classes or not isinstance(value, dict) or not isinstance(value.get("uar"), (int, float)):
        return None
    from ..report.verdict import chance_verdict

    verdict = chance_verdict(report)
    subjects = ((h.get("ci") or {}).get("subjects") or {}).get("n_units") or {}
    n_subjects = min(subjects.values(), default=None) or (h.get("chance_test") or {}).get("n_subjects")
    protocol = (report.get("protocol") or {}).get("protocol", "loso")
    return {"uar": value["uar"], "uf1": value.get("uf1"), "chance": 1 / len(classes), "subjects": n_subjects,
            "verdict": verdict.split(":")[0] if verdict else "not tested against chance",
            "protocol": protocol, "complete": report.get("complete", True) is not False, "source": "report.json"}


def _from_card(card: dict) -> dict | None:
    """The same from a model card's ``loso`` (the recipe's cross-validation, written beside the final model)."""
    loso, names = card.get("loso") or {}, (card.get("classes") or {}).get("names") or []
    mean = loso.get("mean") if isinstance(loso, dict) and loso.get("available") else None
    if not names or not isinstance(mean, dict) or not isinstance(mean.get("uar"), (int, float)):
        return None
    chance = 1 / len(names)
    verdict = loso.get("verdict") if isinstance(loso.get("verdict"), str) else (
        "not above chance" if mean["uar"] <= chance + 1e-12 else "not tested against chance in the model card")
    subjects = (card.get("training") or {}).get("subjects")
    return {"uar": mean["uar"], "uf1": mean.get("uf1"), "chance": chance,
            "subjects": subjects if isinstance(subjects, int) else None, "verdict": verdict,
            "protocol": loso.get("protocol", "loso"), "complete": loso.get("complete", True) is not False,
            "source": "model card"}


def performance(checkpoint: str | Path) -> dict:
    """How the model's recipe did on people it had not seen: ``uar``, ``uf1``, ``chance`` (1 / classes),
    ``subjects``, ``verdict`` (against chance), ``source`` ("model card" beside the weights, else "report.json" of
    its run folder; None when neither is found) and ``line``, a sentence for people that ends with
    :data:`SCORES_NOTE`."""
    run = run_folder(Path(checkpoint))
    report = json_object_or_none(run / "report.json") if run is not None else None
    card = model_card_beside(checkpoint)
    found = None
    for read, record in ((_from_report, report), (_from_card, card)):
        try:
            found = found or (read(record) if record else None)
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError):
            pass  # a damaged or foreign record: the other one, else "not recorded" (predictions go on)
    if found is None and isinstance(card, dict) and (card.get("loso") or {}).get("available") is False:
        # the card is there: it says no fold was run (train.final_fit: only), not that it is missing
        return {"source": "model card", "line": "Performance not measured: the model card records no "
                "cross-validation scores (trained with --final-fit-only, so no subject was held out). " + SCORES_NOTE}
    if found is None:
        return {"source": None, "line": f"Performance not recorded (no model card beside the weights and no "
                                        f"report.json in a run folder around them). {SCORES_NOTE}"}
    where = ("Cross-validated on unseen people" if found["protocol"] in ("loso", None)
             else f"Tested on held-out clips ({found['protocol']} protocol)")
    uf1 = "n/a" if found["uf1"] is None else f"{found['uf1']:.2f}"
    subjects = f"; {found['subjects']} subjects" if found["subjects"] else ""
    unfinished = "; the run is incomplete" if not found["complete"] else ""
    found["line"] = (f"{where}: UAR {found['uar']:.2f}, UF1 {uf1} (chance {found['chance']:.2f}; {found['verdict']}"
                     f"{subjects}{unfinished}). {SCORES_NOTE}")
    return found


def model_summary(checkpoint: str | Path, class_names: list[str] | None = None,
                  training: dict | None = None) -> dict:
    """What every kept output says of its model: ``title``, ``synthetic`` (None: unknown), ``permuted_labels``,
    ``note`` (``provenance.record_warning``: what the classes are worth, or None) and ``performance`` (its line).
    ``class_names`` default to the checkpoint's; ``training`` to its ``training_record``."""
    if class_names is None:
        from ..model.mmnet import read_checkpoint

        class_names = list(read_checkpoint(checkpoint)[1].get("class_names") or [])
    rec = training_record(checkpoint) if training is None else training
    synthetic = rec.get("synthetic")
    return {"title": model_title(list(class_names), rec), "synthetic": synthetic if isinstance(synthetic, bool)
            else None, "permuted_labels": bool(rec.get("permuted_labels")), "note": note_sentence(record_warning(rec)),
            "performance": performance(checkpoint)["line"]}


def note_sentence(note: str | None) -> str | None:
    """``provenance.record_warning``'s line (worded to follow "note: ") as a sentence of its own."""
    return None if not note else f"{note[0].upper()}{note[1:]}."


def with_note_column(text: str, note: str | None) -> str:
    """A CSV with a last column :data:`NOTE_COLUMN` holding ``note`` on every row (empty when None): the model's
    note travels with the rows people keep. Added last so that readers of the earlier columns are unchanged."""
    from ..spotting.intervals import spreadsheet_safe

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    cell = spreadsheet_safe(note or "")
    writer.writerows([[*rows[0], NOTE_COLUMN], *([*row, cell] for row in rows[1:])])
    return buf.getvalue()
