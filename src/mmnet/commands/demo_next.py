"""The closing lines of `mmnet demo`: whether the model learned (against chance), and commands to paste that try
its saved models on the demo's own data: predict and explain a clip, synth a recording, spot and score it."""

from __future__ import annotations

from pathlib import Path

from ..shell_words import shell_quote

__all__ = ["next_steps", "missing_extra"]


def next_steps(report: dict, run_dir: Path) -> str:
    """Whether the model learned (against chance), and what to do next: try the saved models, or how to save them."""
    from ..model.mmnet import WEIGHTS_NAME
    from ..report.verdict import chance_lines
    from ..run_folder import saved_models

    lines = chance_lines(report, "--with-control", synthetic=True)  # as mmnet train and report print them
    models = saved_models(run_dir, WEIGHTS_NAME)
    if not models:
        lines.append("next: to keep the models and try them (mmnet serve, predict, spot), rerun this command "
                     "with --restart --set train.save_models=true")
        return "\n".join(lines)
    from ..infer.provenance import newest_model

    model = newest_model(models)  # the one `mmnet serve` loads: the commands below all use one model
    in_here = Path.cwd() / "demo-run" in [run_dir.resolve(), *run_dir.resolve().parents]
    serve = "mmnet serve" if in_here else f"mmnet serve --checkpoint {shell_quote(model)}"
    lines.append(f"models: {run_dir}/seed-*/fold-*/model (trained on synthetic faces: for trying mmnet only)")
    one_class = _one_class_warning(model, report.get("classes") or [])
    if one_class:
        lines.append(one_class)
    serve_note = "".join(f"; {note}" for note in missing_extra("serve"))
    lines.append(f"next: {serve}  (a web page{serve_note}), or these commands, to copy as they are:")
    lines += _try_commands(model, run_dir, report.get("classes") or [])
    return "\n".join(lines)


def _one_class_warning(model: Path, classes: list[str]) -> str | None:
    """A warning when ``model`` gave one class to every test clip of its fold (its last epoch's predictions):
    whatever it is shown, it will most likely answer that class."""
    import pandas as pd

    from ..report.one_class import class_name, single_predicted_class
    from ..run_folder import PREDICTIONS

    try:
        rows = pd.read_csv(model.parent / PREDICTIONS, usecols=["epoch", "pred"])
    except (OSError, ValueError):
        return None
    last = rows[rows["epoch"] == rows["epoch"].max()]["pred"]
    k = single_predicted_class(last)  # report.md warns of the same folds
    if k is None:
        return None
    name = class_name(k, classes)
    fold = model.parent.name.removeprefix("fold-")
    return (f"warning: the model below (fold {fold}) predicted '{name}' for all {len(last)} test clips of its "
            "fold: it has not learned to tell the classes apart, and will most likely answer that for any input")


def _try_commands(model: Path, run_dir: Path, classes: list[str]) -> list[str]:
    """predict and explain on a clip of the demo's data that ``model`` did not train on (its fold's test subject;
    one the run classified right where there is one), then spot: the one command that writes a synthetic recording,
    spot on the file it writes, and score-spots against the expressions planted in it."""
    import csv
    import json

    from ..data.common import SYNTH_MARKER, SYNTH_TRUTH
    from ..synth.long_writer import SUBJECT_FOLDERS, video_name

    q = shell_quote  # a path with a space still pastes as one argument
    base, lines = run_dir.parent, []
    tested = set(json.loads((model.parent / "done.json").read_text(encoding="utf-8")).get("test_subjects") or [])
    with open(run_dir / "samples.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["subject"] in tested]
    clips = [(r, base / "data" / "Cropped" / f"sub{r['subject']}" / r["clip"]) for r in rows]
    clips = [(r, c) for r, c in clips if c.is_dir()]
    if clips:
        row, clip, wrong = _first_right(clips, model, classes)
        said = (f" (this run classified it wrongly, as {wrong}, and none of subject {row['subject']}'s clips right)"
                if wrong else "")
        lines += [f"  # classify a clip of subject {row['subject']} (annotated: {row['label']}), "
                  f"which this model did not train on{said}",
                  f"  mmnet predict --checkpoint {q(model)} {q(clip)}",
                  "  # where the model looks in that clip (a PNG)",
                  f"  mmnet explain --checkpoint {q(model)} {q(clip)} --out {q(base / 'attention.png')}"]
    long_data = base / "long-data"
    recording = long_data / "rawvideo" / SUBJECT_FOLDERS[0] / f"{video_name(1, 1)}.mp4"
    truth = long_data / SYNTH_TRUTH
    scored = truth.is_file() or not recording.is_file()  # a set of an earlier mmnet has no truth file
    planted = f"the expressions planted in it are listed in {truth if scored else long_data / SYNTH_MARKER}"
    if recording.is_file():
        lines.append(f"  # spot expressions in the synthetic long recording written earlier ({planted})")
    else:
        lines += [f"  # spot expressions in a long recording: a synthetic one first (1 minute; {planted})",
                  *(f"  # {note}" for note in missing_extra("video")),
                  f"  mmnet synth {q(long_data)} --long --minutes 1 --format mp4"]
    lines += [f"  # {note}" for note in missing_extra("face")]
    lines.append(f"  mmnet spot {q(recording)} --checkpoint {q(model)} --out {q(base / 'spots')}")
    if scored:
        lines += ["  # score the spots against the planted expressions (the MEGC rule: IoU >= 0.5)",
                  f"  mmnet score-spots {q(truth)} {q(base / 'spots' / 'spotting.csv')}"]
    return lines


def _first_right(clips: list[tuple[dict, Path]], model: Path, classes: list[str]) -> tuple[dict, Path, str]:
    """The first of ``clips`` that ``model``'s fold classified right at its last epoch (a wrong answer to the first
    suggested command looks like a bug), else the first clip and the class the fold gave it ('' when unknown)."""
    import pandas as pd

    from ..run_folder import PREDICTIONS

    try:
        rows = pd.read_csv(model.parent / PREDICTIONS, usecols=["epoch", "sample_id", "true", "pred"])
    except (OSError, ValueError):
        return (*clips[0], "")
    last = rows[rows["epoch"] == rows["epoch"].max()]
    pred = {str(sid): (int(t), int(k)) for sid, t, k in zip(last["sample_id"], last["true"], last["pred"])}
    right = [(r, c) for r, c in clips if r["sample_id"] in pred and len(set(pred[r["sample_id"]])) == 1]
    if right:
        return (*right[0], "")
    row, clip = clips[0]
    if row["sample_id"] not in pred:
        return row, clip, ""
    k = pred[row["sample_id"]][1]
    return row, clip, classes[k] if 0 <= k < len(classes) else f"class {k}"


def _extra_checks() -> dict:
    """The optional extra a suggested command needs -> the check that command makes (raising MMNetError when
    something of it is missing): mmnet serve; synth --format mp4 (PyAV writes it); spot (OpenCV, dlib and the
    landmark model, which align the faces)."""
    from ..preprocess.face import require_face_extra
    from ..synth.long_writer import require_pyav
    from .serve import require_serve_extra

    return {"serve": require_serve_extra, "video": require_pyav, "face": require_face_extra}


def missing_extra(extra: str) -> list[str]:
    """On an install without all of ``extra`` (a core install has none of them): a note naming the extra and its
    install command; an empty list when the suggested command's own check finds nothing missing."""
    from ..errors import MMNetError, install_hint

    try:
        _extra_checks()[extra]()
    except MMNetError:
        return [f"needs the {extra} extra, not installed: {install_hint(extra)}"]
    return []
