"""Run the whole pipeline on built-in synthetic data: generate a small set, LOSO-train MMNet, report.

Needs no dataset and no GPU. Prints the results table and where the report is. With
--permute-labels it runs the control experiment: the same run with labels shuffled across
samples, which must score near chance (1/num_classes UAR) if the pipeline is honest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")

# The demo's training settings: a shipped recipe (`mmnet train --config synth_demo` trains the same run), whose
# comments say why each differs from the paper's; the data size is synth.DEMO_PRESET (5 subjects x 20 clips).
DEMO_RECIPE = "synth_demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("demo-run"),
                   help="folder for the data and the run (default: demo-run): OUT/data and OUT/run for seed 0, "
                        "OUT/seed-N/data and OUT/seed-N/run for --seed N")
    p.add_argument("--permute-labels", action="store_true", help="control: shuffle labels (expect chance level)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the data and of training (default 0); each seed has its own folders (see --out)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="N",
                   help="run these seeds one after another and write OUT/summary.md and OUT/summary.csv "
                        "(columns seed, uf1, uar, acc as fractions, seconds, machine; control_uf1 and control_seconds "
                        "with --with-control), e.g. --seeds 0 1 2; always a list: --seeds 3 is "
                        "seed 3 alone (in `mmnet train` one value is a count: --seeds 3 = seeds 0, 1, 2)")
    p.add_argument("--with-control", action="store_true",
                   help="also run each seed's permuted-label control and add its UF1 to the summary")
    p.add_argument("--subjects", type=int, default=None,
                   help="subjects of the synthetic set (default: the demo preset)")
    p.add_argument("--clips-per-subject", type=int, default=None, help="clips per subject (default: the demo preset)")
    p.add_argument("--amplitude", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                   help="range of the synthetic clips' peak motion in pixels at 280x340, as mmnet synth --amplitude "
                        "(default: the demo's 8 12; real micro-expressions: 0.5 3)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training setting, e.g. --set train.epochs=4 (not those the options above "
                        "decide: seeds and train.seed, data.root, data.permute_labels)")
    p.add_argument("--restart", action="store_true",
                   help="start over: an earlier run in OUT (another configuration, e.g. without "
                        "train.save_models=true) is moved aside to OUT/run.old-<time> (not deleted); the data is kept")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--tensorboard", action="store_true",
                   help="TensorBoard event files in each run folder's tensorboard/ (train.tensorboard=true)")
    p.add_argument("--spotting", action="store_true",
                   help="the spotting demo instead: the optical-flow spotter on synthetic long recordings beside "
                        "an evenly-spaced baseline, MEGC-scored (OUT/spotting; takes --seed and --subjects)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError

    typed_seed = args.seed is not None or args.seeds is not None
    if args.seed is None:
        args.seed = 0
    if min(args.seeds or [args.seed]) < 0:
        raise ConfigError(f"seeds must be >= 0, got {args.seeds or [args.seed]}")
    if not args.spotting:  # (--spotting refuses --amplitude itself)
        from .synth import check_amplitude

        check_amplitude(args.amplitude)
    if args.spotting:
        from .demo_spotting import run_spotting

        return run_spotting(args)
    one_run = args.seeds is None and not args.with_control
    if args.permute_labels and not one_run:
        raise ConfigError("--permute-labels runs one control; with --seeds/--with-control use --with-control, "
                          "which runs each seed's control beside it")
    seeds = list(dict.fromkeys(args.seeds if args.seeds is not None else [args.seed]))
    _refuse_settings_the_demo_decides(args, seeds, typed_seed)  # every run's, before any data is drawn
    if one_run:
        report, _, run_dir, _ = _run_seed(args, args.seed, permute=args.permute_labels)
        from .demo_next import next_steps

        print(next_steps(report, run_dir))
        return 0
    from ..report.render import chance_verdict

    rows = []
    for seed in seeds:
        report, seconds, run_dir, reused = _run_seed(args, seed, permute=False)
        row = {"seed": seed, **_headline(report, seed), "seconds": round(seconds), "seconds_note": reused,
               "machine": _machine(run_dir), "verdict": chance_verdict(report)}
        if args.with_control:
            control, control_seconds, _, control_reused = _run_seed(args, seed, permute=True)
            row["control_uf1"] = _headline(control, seed)["uf1"]
            row["control_seconds"] = round(control_seconds)
            row["control_seconds_note"] = control_reused
        rows.append(row)
    from .demo_summary import write_summary

    print(write_summary(rows, args.out, with_control=args.with_control))
    return 0


def _seed_folder(out: Path, seed: int) -> Path:
    """Each seed has its own data and runs: OUT/data, OUT/run for seed 0, OUT/seed-N/... for the others."""
    return out if seed == 0 else out / f"seed-{seed}"


def _refuse_settings_the_demo_decides(args: argparse.Namespace, seeds: list[int], typed_seed: bool) -> None:
    """Refuse a ``--set`` of a key that the demo sets from its own options, for every seed's run and control
    before any of them starts (a refusal after seed 0 trained would waste its run); the same value is fine."""
    from ..config import override_key
    from ..errors import ConfigError
    from .common import clashing_setting, refuse_flag_clashes, setting_value

    overrides = list(args.overrides)
    for setting in overrides:
        if override_key(setting) == "data.permute_labels":  # the control beside an honest run is the point
            raise ConfigError(f"the demo sets data.permute_labels itself: use --permute-labels (one control run) or "
                              f"--with-control (each seed's control beside it) instead of --set {setting}")
    for seed in seeds:
        seed_items = [f"train.seed={seed}", f"seeds=[{seed}]"]
        if typed_seed:
            seed_flag = f"--seeds {' '.join(map(str, args.seeds))}" if args.seeds else f"--seed {seed}"
            refuse_flag_clashes([(seed_flag, item) for item in seed_items], overrides)
        elif (setting := next(filter(None, (clashing_setting(item, overrides) for item in seed_items)), None)):
            key = override_key(setting)  # the default seed 0, which the user did not type: name the option to use
            wanted = setting_value(setting, key)
            use = f"--seeds {' '.join(map(str, wanted))}" if key == "seeds" else f"--seed {wanted}"
            raise ConfigError(f"the demo sets {key} from --seed/--seeds: use {use} instead of --set {setting}")
        data_root = _seed_folder(args.out, seed) / "data"
        if (setting := clashing_setting(("data.root", str(data_root)), overrides)) is not None:
            raise ConfigError(f"the demo's data folder is {data_root} (from --out {args.out}), where it draws its "
                              f"synthetic set: choose it with --out instead of --set {setting}")
    refuse_flag_clashes([("--tensorboard", "train.tensorboard=true")] if args.tensorboard else [], overrides)


def _run_seed(args: argparse.Namespace, seed: int, *, permute: bool) -> tuple[dict, float, Path, str]:
    """Generate (or reuse) one seed's data, run its LOSO, print the table; the report, the seconds the run took,
    its folder, and a note when its folds were trained by an earlier command (see :func:`_run_seconds`)."""
    import dataclasses
    import json
    import time
    from contextlib import ExitStack

    from .. import synth
    from ..config import load_config
    from ..data.common import SYNTH_MARKER
    from ..recipes import describe
    from ..report import format_results_table
    from ..synth.output_folder import data_lock
    from ..train import train_experiment
    from .demo_summary import arithmetic

    t0 = time.perf_counter()
    base = _seed_folder(args.out, seed)
    data_root = base / "data"
    preset = {**synth.DEMO_PRESET, "seed": seed}
    if args.subjects is not None:
        preset["subjects"] = args.subjects
    if args.clips_per_subject is not None:
        preset["clips_per_subject"] = args.clips_per_subject
    config = synth.DEMO_CONFIG
    if args.amplitude is not None:
        config = dataclasses.replace(config, amplitude_px=tuple(args.amplitude))
    marker = data_root / SYNTH_MARKER
    with data_lock(data_root):  # a demo started meanwhile on this --out waits, then uses the set this one writes
        # the demo's own folder: a set drawn by another generator is drawn again, not reused as if it were this one's
        older = synth.older_generator(json.loads(marker.read_text(encoding="utf-8"))) if marker.exists() else None
        if marker.exists() and older is None:
            _check_existing_data(data_root, preset, config)
        else:
            if older:
                _refuse_runs_on_older_data(base, data_root, older, restart=args.restart)
                print(f"synthetic data: {data_root} was {older}; drawing it again")
            synth.write_dataset(data_root, **preset, config=config, overwrite=older is not None)
            print(f"synthetic data: {data_root} ({preset['subjects']} subjects x {preset['clips_per_subject']} "
                  f"clips, seed {seed})")
    run_name = "run-permuted-labels" if permute else "run"
    # the folders as given (a pair, not "key=value": an --out of "runs/x # 2" is not read as YAML)
    overrides = [("data.root", str(data_root)), ("data.cache_dir", str(args.out / "cache")), f"train.seed={seed}",
                 f"seeds=[{seed}]"]
    if permute:
        overrides.append("data.permute_labels=true")
    if args.tensorboard:
        overrides.append("train.tensorboard=true")
    cfg = load_config(DEMO_RECIPE, overrides + list(args.overrides))
    with ExitStack() as lock:
        if args.restart:  # held until the new run ends: no other command takes the folder after the move
            from ..train.run_lock import restart_lock

            if (moved := lock.enter_context(restart_lock(base / run_name))) is not None:
                print(f"restart: the earlier run in {base / run_name} was moved to {moved}")
        finished_before = _finished_folds(base / run_name)
        # the card's Configuration line: the demo's recipe, as `mmnet train` names its --config
        typed = "".join(f" --set {s}" for s in args.overrides)
        source = f"{describe(DEMO_RECIPE)}, through mmnet demo{' with' + typed if typed else ''}"
        report = train_experiment(cfg, base / run_name, progress=not args.no_progress, source=source)
    print(format_results_table(report))
    seconds = time.perf_counter() - t0
    print(f"report: {base / run_name / 'report.md'}  ({seconds:.0f} s)")
    print(arithmetic(json.loads((base / run_name / "env.json").read_text(encoding="utf-8"))))
    seconds, note = _run_seconds(seconds, finished_before, _finished_folds(base / run_name))
    return report, seconds, base / run_name, note


def _refuse_runs_on_older_data(base: Path, data_root: Path, older: str, *, restart: bool) -> None:
    """A demo run trained on a set another generator drew cannot go on once it is drawn again: said before it is
    (without --restart), with the one remedy that works (the old set is not this mmnet's to draw back)."""
    from .. import run_folder as rf
    from ..errors import ConfigError

    trained = [run for run in ("run", "run-permuted-labels") if rf.trained_folds(base / run)]
    if trained and not restart:
        raise ConfigError(f"'{base / trained[0]}' holds a run trained on {data_root}, which was {older}: this mmnet "
                          "cannot resume it. Run the demo again with --restart (moves the run aside and draws the "
                          "data again).")


def _finished_folds(run_dir: Path) -> dict[Path, tuple[int, float]]:
    """Each finished fold (and final fit) of a run: its done.json's modification time and the seconds it trained."""
    from .. import run_folder as rf

    folds = {}
    for done in [fold / rf.DONE for fold in rf.fold_folders(run_dir)]:
        if (record := rf.finished_result(done.parent)) is not None:
            folds[done] = (done.stat().st_mtime_ns, float(record.get("seconds") or 0))
    return folds


def _run_seconds(seconds: float, before: dict, after: dict) -> tuple[float, str]:
    """A run's seconds for the summary, and a note when folds of it were trained by an earlier command. A run
    reused whole took ``seconds`` to rebuild its report, not to train: its folds' recorded training time instead;
    a resumed one adds its earlier folds' to this command's."""
    earlier = [trained for done, (mtime, trained) in after.items() if before.get(done) == (mtime, trained)]
    if after and len(earlier) == len(after):
        return sum(earlier), "earlier run, reused"
    if earlier:
        return seconds + sum(earlier), f"{sum(earlier):.0f} s of it by an earlier run"
    return seconds, ""


def _headline(report: dict, seed: int) -> dict:
    r = report["headline"]["per_seed"][str(seed)]
    return {"uf1": r["uf1"], "uar": r["uar"], "acc": r["acc"]}


def _machine(run_dir: Path) -> str:
    """The CPU kind and arithmetic a run used, from its env.json (the machine is probed only by mmnet.runtime)."""
    import json

    env = json.loads((run_dir / "env.json").read_text(encoding="utf-8"))
    where = env.get("cpu_model") or env.get("processor", "")
    if not str(env.get("device", "cpu")).startswith("cpu"):
        where = env["device"]
    kind = (f"{env.get('cpu_capability', '?')}, {env.get('precision', '?')}, {env.get('memory_format', '?')}, "
            f"{env.get('torch_threads')} threads")
    return f"{where} ({kind})"


def _check_existing_data(data_root: Path, preset: dict, config) -> None:
    """Reuse the synthetic set only if it is the one asked for (same seed, size and pixel settings)."""
    import dataclasses
    import json

    from ..data.common import SYNTH_MARKER
    from ..errors import ConfigError

    meta = json.loads((data_root / SYNTH_MARKER).read_text(encoding="utf-8"))
    wanted = {**preset, "config": json.loads(json.dumps(dataclasses.asdict(config)))}
    differ = [f"{k} {meta.get(k)!r} (asked: {v!r})" for k, v in wanted.items() if k != "config" and meta.get(k) != v]
    held = meta.get("config") or {}  # named key by key: --amplitude 2 4 on the demo's 8 12 set says amplitude_px
    pixels = [f"{k} {held.get(k)!r} (asked: {v!r})" for k, v in wanted["config"].items() if held.get(k) != v]
    if held != wanted["config"]:
        differ += pixels or ["other pixel settings (mmnet synth, not the demo's)"]
    if differ:
        raise ConfigError(f"'{data_root}' holds another synthetic set: {', '.join(differ)}. "
                          "Give another --out, or delete that folder to regenerate it.")
