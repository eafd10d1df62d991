"""Train MMNet with leave-one-subject-out (or leave-one-dataset-out) and write an auditable run folder.

Defaults are the authors' 5-class CASME II recipe (the recipe casme2_5class). --config takes a
shipped recipe by name (--list-recipes lists them) or a YAML file. Rerunning the same
command into the same --out continues an interrupted run: finished folds are kept, an unfinished
fold resumes from its last finished epoch. Another configuration into the same --out is refused
(naming the keys that differ) once an epoch has finished; --restart moves that run aside first.
A sample that cannot be used as annotated stops training (every real CASME II copy has one: sub04/EP12_01f
without apex); `mmnet check-data` lists them, --set data.on_bad_sample=skip leaves them out.

Examples:
  mmnet train --dataset casme2 --root /data/CASME2 --out runs/casme2-5 --set data.on_bad_sample=skip
  mmnet train --config casme2_3class --root /data/CASME2 --out runs/c3 --seeds 5 --set data.on_bad_sample=skip
  mmnet train --config casme2_5class --root /data/CASME2 --out runs/c5 --final-fit \\
      --set data.on_bad_sample=skip                                     # + a model to keep
  mmnet train --dataset composite --root casme2=/d/CASME2 --root samm=/d/SAMM --root smic=/d/SMIC \\
      --annotation /d/combined_3class_gt.csv --out runs/cde
  mmnet train --config megc2019_lodo --root casme2=/d/CASME2 --root samm=/d/SAMM --annotation cs.csv \\
      --out runs/cs --folds samm                      # one direction alone: train on CASME II, test on SAMM
  mmnet train --dataset casme2 --root DIR --out RUN --selection paper   # adds the optimistic paper scoring
  mmnet train --dataset casme2 --root /shared/CASME2 --out /shared/runs/c5 --set data.on_bad_sample=skip \\
      --executor slurm --slurm-partition gpu --gpus-per-fold 1 --slurm-time 1:00:00   # docs/cluster.md
  mmnet train --dataset casme-sq --root /d/CASME_sq --out runs/str   # long videos: spot then recognise
  mmnet train --dataset table-long --root /d/lab --fps 30 --out runs/lab   # your own (emotion column)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import DATASETS, LONG_VIDEO_DATASETS, PRECISIONS, PROTOCOLS, SELECTIONS
from ..shell_words import shell_quote

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import add_device_argument, add_executor_arguments, add_root_argument

    p.add_argument("--config", type=str, default=None,
                   help="a shipped recipe's name (--list-recipes) or an experiment YAML file; default: the paper's "
                        "recipe (casme2_5class)")
    p.add_argument("--list-recipes", action="store_true", help="list the shipped recipes and exit")
    final = p.add_mutually_exclusive_group()
    final.add_argument("--final-fit", action="store_true",
                       help="after the folds, train one model on every subject for train.epochs and save it with "
                            "a model card in OUT/final/ (train.final_fit=true)")
    final.add_argument("--final-fit-only", action="store_true",
                       help="only that final model, no cross-validation (train.final_fit=only)")
    p.add_argument("--dataset", type=str, default=None,
                   help=f"dataset name ({', '.join(DATASETS)}; long videos: {', '.join(LONG_VIDEO_DATASETS)} = "
                        "spot then recognise); table, table-long: your own clips, recordings")
    add_root_argument(p)
    p.add_argument("--annotation", type=str, default=None, help="annotation file if not the default name")
    p.add_argument("--fps", type=float, default=None,
                   help="table-long: the frame rate of the recordings whose rows give none (data.fps)")
    p.add_argument("--scheme", type=str, default=None,
                   help="label scheme (default: the dataset's), or a label map 'label=class, label=class, label=-'")
    p.add_argument("--protocol", choices=PROTOCOLS, default=None,
                   help="leave one subject out (default) or leave one dataset out")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=10 (repeatable)")
    p.add_argument("--out", type=Path, default=None, help="run folder (created; reused to resume); required")
    p.add_argument("--folds", nargs="+", default=None, metavar="FOLD",
                   help="train these folds only, e.g. --folds samm: under --protocol lodo the fold that tests on SAMM "
                        "(trained on the other datasets); under LOSO dataset/subject as the report names the fold, or "
                        "the subject alone (casme2/01 or 01 for CASME II's sub01; samm/006). The report is "
                        "PARTIAL and names the folds not run; the command without --folds trains them later")
    p.add_argument("--selection", choices=SELECTIONS, default=None,
                   help="'last' (honest, default) or 'paper': also the authors' optimistic per-fold best epoch")
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="N",
                   help="one value is a count: --seeds 3 runs seeds 0, 1, 2 (+ train.seed); two or more are the seeds "
                        "themselves: --seeds 0 4 7 (--set 'seeds=[3]' for seed 3 alone; `mmnet demo --seeds 3` runs "
                        "seed 3). The report gives mean and std over the seeds")
    add_device_argument(p, default=None, note=", or the config's train.device")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="auto: on CPU the faster of fp32/bf16 in a short cached measurement (`mmnet info`; "
                        "MMNET_CALIBRATE=0 skips it), on GPUs bf16 where supported")
    add_executor_arguments(p)
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration (every key, defaults included; docs/configuration.md) "
                        "as YAML and exit without training")
    p.add_argument("--tensorboard", action="store_true",
                   help="TensorBoard event files in OUT/tensorboard (train.tensorboard=true; extra tensorboard)")
    p.add_argument("--restart", action="store_true",
                   help="start over in --out: an earlier run there is moved aside to OUT.old-<time> (not deleted)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print report.json instead of the results table")


def experiment_config(args: argparse.Namespace):
    """The ExperimentConfig that the options describe (config file, then flags, then --set)."""
    from ..config import SpottingConfig, load_config
    from ..data import LONG_VIDEO_DATASETS
    from .common import refuse_flag_clashes, root_override

    flags = []  # (the flag as typed, its override)
    for name, key in (("dataset", "data.dataset"), ("annotation", "data.annotation"), ("scheme", "data.scheme"),
                      ("fps", "data.fps"), ("protocol", "data.protocol"), ("selection", "eval.selection"),
                      ("device", "train.device"), ("precision", "train.precision")):
        value = getattr(args, name, None)
        if value is not None:
            flags.append((f"--{name} {value}", (key, value)))  # as given: a plain flag's value is not read as YAML
    flags += [(" ".join(f"--root {r}" for r in args.root), item) for item in root_override(args.dataset, args.root)]
    if args.seeds is not None:
        flags.append((f"--seeds {' '.join(map(str, args.seeds))}", _seeds_override(args.seeds)))
    if getattr(args, "final_fit", False) or getattr(args, "final_fit_only", False):
        flags.append(("--final-fit" if args.final_fit else "--final-fit-only",
                      ("train.final_fit", True if args.final_fit else "only")))
    if getattr(args, "tensorboard", False):
        flags.append(("--tensorboard", ("train.tensorboard", True)))
    cfg = load_config(args.config, [item for _, item in flags] + list(args.overrides))
    refuse_flag_clashes(flags, list(args.overrides))  # a flag and --set disagreeing: neither wins silently
    if cfg.data.dataset in LONG_VIDEO_DATASETS or cfg.spotting != SpottingConfig():
        from ..train.spot_recognise import spot_settings  # the train package loads torch: only when needed

        spot_settings(cfg)  # the spotting section's preset and overrides, before any data is read
    return cfg


def _asked_folds_done(report: dict) -> bool:
    """Whether a --folds run's report lacks only folds never started (no damaged or unfinished fold, no seed
    missing): then what was asked finished."""
    status = report["status"]
    return not (status["unfinished_folds"] or status["missing_seeds"] or status.get("damaged_folds"))


def _seeds_override(seeds: list[int]) -> str:
    """--seeds N is a count (train.seed + 0..N-1, as documented since the start); --seeds A B ... lists the seeds."""
    return f"seeds={seeds[0]}" if len(seeds) == 1 else f"seeds=[{', '.join(map(str, seeds))}]"


def resolved_yaml(cfg) -> str:
    """The configuration as the run will use it and write to its config.yaml: every key, the label scheme's
    classes filled in (one rule: prepare.resolve_config)."""
    import yaml

    from ..config import config_to_dict
    from ..train.prepare import resolve_config

    # a Chinese or Japanese path or label as written (config.yaml is UTF-8), not as \u escapes
    return yaml.safe_dump(config_to_dict(resolve_config(cfg)), sort_keys=False, allow_unicode=True)


def other_data_note(config: str | None, out: Path) -> str:
    """A note where ``--config`` is a run folder's config.yaml (beside its env.json) and the run trained in ``out``
    read other data than that run (its frames digest or labels digest differs): the numbers cannot be that run's
    again. "" otherwise (a recipe, a YAML file of no run, the same folder, a digest either run did not record)."""
    import contextlib
    import json

    from ..run_folder import ENV

    if not config or not Path(config).is_file() or not (Path(config).parent / ENV).is_file():
        return ""
    before_dir = Path(config).parent
    with contextlib.suppress(OSError):
        if before_dir.resolve() == Path(out).resolve():
            return ""
    envs = []
    for folder in (before_dir, Path(out)):
        try:
            env = json.loads((folder / ENV).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        envs.append(env if isinstance(env, dict) else {})
    before, now = envs
    differ = [f"{name} {now[key]} (that run's: {before[key]})" for key, name in
              (("frames_digest", "frames digest"), ("labels_digest", "labels digest"))
              if before.get(key) and now.get(key) and before[key] != now[key]]
    if not differ:
        return ""
    what = {"frames digest": "frames or sample windows", "labels digest": "labels"}
    kinds = " and ".join(what[d.split(" ", 2)[0] + " digest"] for d in differ)
    return (f"note: this run read other data than the run whose config it used ({before_dir}): its "
            f"{' and '.join(differ)}; other {kinds}, so its numbers are not that run's again (docs/reports.md, "
            "Reproduce)")


def run(args: argparse.Namespace) -> int:
    from .common import check_device_argument, executor_config, say_step

    if args.list_recipes:
        from ..recipes import list_recipes

        recipes = list_recipes()
        width = max(map(len, recipes))
        for name, description in recipes.items():
            print(f"{name:<{width}}  {description}")
        return 0
    # a GPU missing here matters only for a run in this process, not for --print-config or Ray/SLURM workers
    check_device_argument(args, here=args.executor == "local" and not args.print_config)
    if not args.print_config:  # a missing --out or a mistyped executor option: said before the config loads torch
        if args.out is None:
            print("mmnet train: error: the following arguments are required: --out", file=sys.stderr)
            return 2  # a usage error, as argparse reports it
        executor = executor_config(args)
        say_step("loading PyTorch and the configuration ...", progress=not args.no_progress)  # seconds, unsaid
    cfg = experiment_config(args)
    if args.print_config:
        print(resolved_yaml(cfg), end="")
        return 0
    # torch and pandas (seconds) only for a run: the listing and the checks above answer without them
    from ..model.mmnet import WEIGHTS_NAME
    from ..recipes import describe
    from ..report import format_results_table
    from ..report.verdict import chance_lines
    from ..run_folder import saved_models
    from ..train import train_experiment

    report = train_experiment(cfg, args.out, executor=executor, progress=not args.no_progress,
                              source=describe(args.config), restart=args.restart, folds=args.folds)
    if report is None:
        return 0  # --no-wait: the folds were submitted (the executor said where and what next)
    # 1: a partial report (docs/cli.md); with --final-fit-only the job is the final model alone; with --folds,
    # the folds asked for (the others were not asked: the report says PARTIAL and names them)
    done = "final_model" in report if cfg.train.final_fit == "only" else report["complete"]
    if args.folds is not None and not done:
        done = _asked_folds_done(report)
    if note := other_data_note(args.config, args.out):
        print(note, file=sys.stderr)
    if args.folds is not None and not report["complete"]:
        print(f"note: --folds {' '.join(args.folds)}: the other folds are not trained, so the report is PARTIAL "
              f"(report.md names them); the same command without --folds trains them into {args.out}", file=sys.stderr)
    if args.json:
        import json

        print(json.dumps(report, indent=2, default=str))
        return 0 if done else 1
    if "headline" in report:
        print(format_results_table(report))
        if lines := chance_lines(report):  # whether the scores beat chance, as report.md says
            print("\n".join(lines))
        print(f"report: {args.out / 'report.md'}")
        models = saved_models(args.out, WEIGHTS_NAME)
        if models:  # train.save_models=true: say where they are and how to use one
            print(f"models: {args.out}/seed-*/fold-*/model (one per fold, each trained without its test subject); "
                  f"e.g. mmnet predict --checkpoint {shell_quote(models[0].parent)} CLIP")
    if "final_model" in report:
        print(f"final model: {report['final_model']['path']} (card: {report['final_model']['card']})")
    return 0 if done else 1
