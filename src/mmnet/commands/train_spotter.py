"""Train the learned spotter on a long-video dataset (optionally scored leave-one-subject-out first).

The learned spotter (docs/spotting.md) is a SoftNet-like network per expression type on the flow
spotter's optical flow, trained on every annotated video of the dataset, for the types the dataset
annotates (CAS(ME)^3 read from its label file alone: micro-expressions only, and only they are
spotted and scored); `mmnet spot --spotter-model MODEL` then uses it on new recordings. With
--loso it is first evaluated
leave-one-subject-out (fit on the other subjects, spot the held-out one, MEGC metrics pooled),
beside the evenly-spaced baseline (explained under the table); the table is printed and written to MODEL.loso.json
(with its settings: preset, spotter parameters, seed), with the
spotter's MEGC files beside it: MODEL.loso.megc2020_log.txt (the MEGC2020 log) and
MODEL.loso.spotting.csv (vid,onset,offset,type; MEGC2023's layout), of the scored types. MODEL.log keeps the
command's lines, timestamped, and how each start ended. Each
finished fold is kept in the folder MODEL.loso/ (one JSON per held-out subject, with the settings
that produced it): rerunning the same command after an interruption (Ctrl-C, kill, a crash) reuses
them and computes only the rest, with the same table; folds made with other settings or data are
not reused. The saved model records the videos it was trained on: scores on them are in-sample
(`score-spots` warns), and the --loso table is the honest figure.

Examples:
  mmnet train-spotter casme-sq --root /data/CASME_sq --out spotter.pt
  mmnet train-spotter samm-long --root /data/SAMMLV --out samm-spotter.pt --set learned.epochs=20
  mmnet train-spotter casme-sq --root synth-long --out spotter.pt --loso
  mmnet train-spotter casme-sq --root synth-long --out flow.pt --loso --set method=flow  (the flow spotter, scored)
  mmnet train-spotter table-long --root /data/lab --fps 60 --out lab-spotter.pt --loso  (a lab's own recordings)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..choices import LONG_VIDEO_DATASETS

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import add_device_argument
    from .spot import PRESETS

    p.add_argument("dataset", choices=LONG_VIDEO_DATASETS, help="long-video dataset")
    p.add_argument("--root", type=str, action="append", required=True, metavar="DIR",
                   help="the dataset's folder, holding its annotation file and frames (docs/spotting.md, Datasets)")
    p.add_argument("--annotation", type=Path, default=None, metavar="FILE",
                   help="the annotation file, when not under its usual name in --root")
    p.add_argument("--fps", type=float, default=None,
                   help="table-long: the frame rate of the recordings whose rows give none (an fps column)")
    p.add_argument("--out", type=Path, required=True, metavar="MODEL", help="where the trained spotter is written")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="spotter parameters (default: the dataset's: casme2 for casme-sq and casme2-long, "
                        "samm for samm-long, casme3 for casme3-long, casme2 for table-long)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. learned.epochs=20 or macro.k=20 (repeatable)")
    p.add_argument("--no-align", action="store_true", help="frames are face crops already (face.mode=none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network's initialisation and sampling")
    add_device_argument(p, default="cpu", note=", as `mmnet spot`")
    p.add_argument("--loso", action="store_true",
                   help="first score the spotter leave-one-subject-out; each finished fold is kept in MODEL.loso/ "
                        "and a rerun of the same command resumes from them")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")


def format_loso(out: dict) -> str:
    lines = [f"LOSO, {out['method']} spotter: {out['subjects']} subjects, {out['videos']} videos; MEGC rule "
             "(IoU >= 0.5), counts pooled", f"{'type':8} {'method':9} {'TP':>4} {'FP':>4} {'FN':>4} {'P':>6} "
             f"{'R':>6} {'F1':>6}"]
    for type_ in (*out.get("types", ("micro", "macro")), "overall"):
        for name, counts in (("spotter", out["counts"]), ("baseline", out["baseline"])):
            c = counts[type_]
            lines.append(f"{type_:8} {name:9} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} {c['precision']:>6.2f} "
                         f"{c['recall']:>6.2f} {c['f1']:>6.2f}")
    if out.get("baseline_method"):  # what the baseline row is, as the spotting demo says it
        lines.append(f"baseline: {out['baseline_method']}")
    settings = out.get("settings") or {}
    if settings.get("parameters"):
        lines.append(f"parameters: {settings['parameters']}")
    if settings.get("preset_note"):
        lines.append(f"note: {settings['preset_note']}")
    lines.extend(f"note: {video}: {note}" for video, notes in out.get("notes", {}).items() for note in notes)
    return "\n".join(lines)


def _write_megc_files(model: Path, dataset: str, out: dict) -> tuple[Path, Path]:
    """The LOSO's MEGC2020 log and ``vid,onset,offset,type,score`` CSV beside MODEL.loso.json, of the scored types."""
    from ..spotting.dataset_settings import dataset_number
    from ..spotting.megc_files import write_megc2020_log, write_spotting_csv

    types = out.get("types", ("micro", "macro"))
    scored = {v: [i for i in items if i.type in types] for v, items in out["predictions"].items()}
    log = write_megc2020_log(model.with_name(model.name + ".loso.megc2020_log.txt"),
                             [(dataset_number(dataset), out["evaluation"].pairs)])
    # with the scores: the matching takes predictions by descending score, so score-spots gives the printed table
    return log, write_spotting_csv(model.with_name(model.name + ".loso.spotting.csv"), scored, scores=True)


def run(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..data.table_long import fps_option
    from ..errors import ConfigError
    from ..runtime import resolve_device
    from ..spotting.config import spot_config
    from ..spotting.dataset_settings import check_long_video_dataset, dataset_preset
    from ..spotting.spotters import make_spotter
    from ..utils import atomic_write_text
    from .common import check_device_argument

    check_device_argument(args)  # a typo or a missing GPU: one line before any work
    check_long_video_dataset(args.dataset)  # its preset and MEGC number: not found only after the LOSO
    args.device = str(resolve_device(args.device))
    if args.out.is_dir():  # found before training, not when saving after it
        raise ConfigError(f"--out '{args.out}' is a folder; give the file to save the spotter to, "
                          f"e.g. {args.out / 'spotter.pt'}.")
    if len(args.root) != 1:
        raise ConfigError("train-spotter takes one --root (the dataset folder).")
    overrides = ["method=learned", *args.set] + (["face.mode=none"] if args.no_align else [])
    config = spot_config(args.preset or dataset_preset(args.dataset), overrides)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from .. import run_log

    # its lines, timestamped, and how it ended: MODEL.log beside the model (a long fit is often left unwatched), and
    # its state: MODEL.status.json; opened after the checks of the command line, so that a usage error leaves
    # neither (docs/reports.md)
    run_log.open_run_log(args.out.parent, log_name=args.out.name + ".log", status=args.out.name + ".status.json",
                         live=True)
    load = load_dataset(args.dataset, args.root[0], annotation=args.annotation, **fps_option(args.dataset, args.fps))
    load.raise_if_errors()
    progress = not args.no_progress
    if args.loso:
        from ..data.common import SYNTH_MARKER
        from ..progress import write_line
        from ..spotting.demo import BASELINE
        from ..spotting.in_sample import loso_settings_record
        from ..spotting.loso import loso_spotting
        from ..spotting.loso_records import FoldRecords, loso_settings
        from ..spotting.megc_files import check_log_ids

        records = FoldRecords(args.out.with_name(args.out.name + ".loso"),
                              loso_settings(args.dataset, load, config, seed=args.seed, device=args.device))
        subjects = sorted({v.subject for v in load.videos})
        records.check_names(subjects)  # refused before the line that counts the folds (loso_spotting checks too)
        # the LOSO's MEGC2020 log would merge two of them: refused now, not after the folds
        check_log_ids((v.video for v in load.videos), "(their folder or the annotation's id), or train without --loso")
        write_line(records.summary(subjects))  # progress: stdout holds the results
        # status.json's folds: the LOSO's (those recorded by an earlier start finished) and the final fit
        run_log.folds(len(subjects) + 1, sum(s in records.reusable for s in subjects))
        out = loso_spotting(load, config, seed=args.seed, device=args.device, progress=progress, records=records)
        # MODEL.loso.json read alone says what its baseline row is and what the table was made with
        synthetic = (Path(args.root[0]) / SYNTH_MARKER).is_file()  # `mmnet synth`'s: no published statistic is theirs
        out.update(baseline_method=BASELINE, settings=loso_settings_record(args.dataset, config, seed=args.seed,
                                                                           synthetic=synthetic))
        print(format_loso(out))
        keep = {k: v for k, v in out.items() if k not in ("evaluation", "predictions")}
        keep["predictions"] = {v: [i.to_dict() for i in ivs] for v, ivs in out["predictions"].items()}
        path = args.out.with_name(args.out.name + ".loso.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(keep, indent=1) + "\n")
        log, spots = _write_megc_files(args.out, args.dataset, out)
        print(f"wrote {path}, {log.name} and {spots.name} ({out['time_s']['total']:.0f} s)")
    else:
        run_log.folds(1, 0)  # the final fit alone
    run_log.fold_clock("final fit (every video)", None, 0, None)
    spotter = make_spotter(config, seed=args.seed, device=args.device)
    stats = spotter.fit(load.videos, types=load.types, progress=progress)  # the learned spotter: those types alone
    learns = not getattr(spotter, "fold_independent", False)  # the flow spotter learns nothing: never in-sample
    if learns:  # saved with it: `mmnet spot` copies it to spot.json, `score-spots` warns of in-sample scores
        from ..spotting.in_sample import trained_on

        spotter.fitted_on = trained_on(args.dataset, load.videos)
    spotter.save(args.out)
    run_log.fold_ended()
    pairs = ", ".join(f"{s} {stats[s]['pairs']} pairs ({stats[s]['positives']} with an expression)"
                      for s in ("micro", "macro") if isinstance((stats or {}).get(s), dict) and "pairs" in stats[s])
    print(f"wrote {args.out} ({config.method} spotter, {len(load.videos)} videos{'; ' + pairs if pairs else ''})")
    if learns:
        from ..spotting.in_sample import TRAINED_ON_ALL

        print(f"note: {TRAINED_ON_ALL}")
    return 0
