"""Options shared by several commands: the dataset root, the executor (local, Ray or SLURM), --device, --set."""

from __future__ import annotations

import argparse

from ..choices import EXECUTORS, TRANSPORTS

__all__ = ["add_root_argument", "add_device_argument", "check_device_argument", "add_executor_arguments",
           "executor_config", "root_override", "check_path_encoding", "add_out_alias", "resolve_out_alias",
           "refuse_flag_clashes", "clashing_setting", "setting_value", "add_landmarks_argument",
           "align_landmarks", "footage_aligner"]

ROOT_HELP = ("dataset folder; for the composite: PART=DIR per part (casme2=DIR, samm=DIR, smic=DIR), repeated or "
             "comma-separated, or one folder holding casme2/ samm/ smic/")


def add_root_argument(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--root", type=str, action="append", default=None, required=required, metavar="DIR",
                   help=ROOT_HELP)


def add_device_argument(p: argparse.ArgumentParser, *, default: str | None, note: str = "") -> None:
    """--device as every command that runs a model takes it (None: the config's, auto); ``note`` follows the
    default in the help. Its run calls :func:`check_device_argument` first."""
    p.add_argument("--device", type=str, default=default, metavar="DEVICE",
                   help="torch device: auto (a CUDA GPU when there is one, else cpu), cpu, cuda or cuda:N "
                        f"(default {default or 'auto'}{note})")


def _landmarks(text: str) -> int:
    from ..preprocess.landmarks import landmark_count

    try:
        return landmark_count(text)
    except ValueError as exc:  # argparse shows an ArgumentTypeError's own words
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_landmarks_argument(p: argparse.ArgumentParser, what: str = "align the faces", *,
                           default: int | None = 68) -> None:
    """``--landmarks 68|5``: the landmark model used to ``what``. ``default=None`` where a command aligns footage for
    a checkpoint (:func:`align_landmarks`, :func:`footage_aligner`): not given, the checkpoint's recorded model is
    used, else 68."""
    # default None: the model the checkpoint records its training clips were aligned with (infer.alignment)
    chosen = "default" if default is not None else "the default where the checkpoint records none"
    recorded = "" if default is not None else "; default: the model the checkpoint's training clips were aligned with"
    p.add_argument("--landmarks", type=_landmarks, default=default, metavar="{68,5}",
                   help=f"landmark model used to {what}: 68 ({chosen}; dlib's iBUG 300-W model, whose terms exclude "
                        "commercial use) or 5 (dlib's 5-point model, without that restriction; eye centres within "
                        f"a few pixels of the 68-point ones, docs/preprocessing.md; THIRD-PARTY-NOTICES.md){recorded}")


def align_landmarks(args: argparse.Namespace) -> int | None:
    """The landmark model ``--landmarks`` chose for ``--align``, or None when not given (the checkpoint's recorded
    one is used then: :func:`footage_aligner`). ``--landmarks`` without ``--align`` is a ConfigError: no landmark
    model runs then, and the clips would be classified uncropped although the command line asked for a face model
    (refused rather than warned: a warning scrolls by, the result looks right)."""
    from ..errors import ConfigError

    if args.landmarks is not None and not args.align:
        raise ConfigError(f"--landmarks {args.landmarks} chooses the landmark model of --align, which was not "
                          "given: without it no face is detected or aligned, and the frames are classified as they "
                          f"are. Add --align to crop and align the faces with the {args.landmarks}-point model, or "
                          "leave --landmarks out.")
    return args.landmarks


def say_step(line: str, *, progress: bool = True) -> None:
    """One line on stderr before a step that takes seconds, for a person waiting at a terminal; as the progress bars,
    not on a log file or a pipe (they get the results alone), and not with --no-progress."""
    import sys

    from ..progress import bars_wanted

    if bars_wanted(progress):
        print(line, file=sys.stderr, flush=True)


LANDMARK_MB = {68: 100, 5: 9}  # dlib's landmark models: loaded in seconds (the 68-point one, ~10 s on a busy CPU)


def say_landmarks(points: int, *, progress: bool = True) -> None:
    say_step(f"loading the {points}-point landmark model (about {LANDMARK_MB.get(points, 100)} MB) ...",
             progress=progress)


def footage_aligner(predictor, landmarks: int | None, option: str = "--landmarks", *, progress: bool = True):
    """The FaceAligner that crops raw footage for ``predictor``: with the landmark model and crop its checkpoint
    records (``infer.alignment``), or ``landmarks`` when given (``option``), with a warning on stderr naming both
    when they differ (``progress``: False, as --no-progress, says nothing of loading the model)."""
    import sys

    from ..infer.alignment import alignment_of, choose_alignment, face_aligner

    alignment, warning = choose_alignment(alignment_of(predictor), landmarks, option)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    say_landmarks(alignment.landmarks, progress=progress)
    return face_aligner(alignment)


def check_device_argument(args: argparse.Namespace, *, here: bool = True) -> None:
    """--device checked before any work, as one line: a name that is no device, or (``here``: the device is this
    machine's, not a Ray worker's or SLURM job's) a GPU that this machine lacks."""
    if args.device is not None:
        from ..runtime import check_device

        check_device(args.device, where="--device", here=here)


# Commands that apply a trained model default to cpu: a clip or recording at a time is quick on a CPU (on its
# measured kernel routes), and a shared machine's GPU is not taken unless asked for.
INFERENCE_DEVICE = ": a GPU only when asked for"


def root_override(dataset: str | None, roots: list[str] | None) -> list[tuple[str, str]]:
    """``--root`` values as the ``("data.root", text)`` override: the folder exactly as given, never read as
    YAML (``#`` or ``: `` in a name, a name of digits); parsed here so that errors come early."""
    if not roots:
        return []
    from ..config import format_root, parse_root

    name = dataset or ("composite" if any("=" in r for r in roots) else "")
    return [("data.root", format_root(parse_root(name, roots)))]


# Where `--out` is another name of a command's output argument, the value it was given.
_OUT_ALIAS = "out_alias_value"


def add_out_alias(p: argparse.ArgumentParser, target: str, shown: str) -> None:
    """``--out``, as most commands name their output, for a command whose output argument is ``target`` (a
    positional argument or another option, ``shown`` so in messages); either is taken, never both
    (:func:`resolve_out_alias`). ``target`` must default to None and not be required."""
    from pathlib import Path

    p.add_argument("--out", dest=_OUT_ALIAS, type=Path, default=None, metavar="OUT", help=f"the same as {shown}")
    p.set_defaults(_out_alias=(target, shown))


def resolve_out_alias(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Put ``--out`` into the output argument it names (:func:`add_out_alias`); a usage error (exit code 2)
    when both or neither are given."""
    if getattr(args, "_out_alias", None) is None:
        return
    target, shown = args._out_alias
    alias, given = getattr(args, _OUT_ALIAS), getattr(args, target)
    if alias is not None and given is not None:
        parser.error(f"give {shown} or --out, not both (they name the same output)")
    if alias is None and given is None:
        parser.error(f"the following arguments are required: {shown} (or --out)")
    setattr(args, target, given if alias is None else alias)


def refuse_flag_clashes(flags: list[tuple[str, tuple[str, object] | str]], overrides: list[str]) -> None:
    """Refuse a ``--set`` of a key that a plain flag gives another value (``--device cpu --set train.device=cuda:0``):
    neither may win without a word; the same value twice is fine. ``flags``: (the flag as typed, the override it
    makes); each value is compared as the config reads it (``--seeds 2`` and ``--set seeds=2`` agree)."""
    from ..config import override_key
    from ..errors import ConfigError

    for flag, item in flags:
        setting = clashing_setting(item, overrides)
        if setting is not None:
            raise ConfigError(f"{flag} and --set {setting} give {override_key(item)} different values; give it once "
                              "(the flag or --set).")


def clashing_setting(item: tuple[str, object] | str, overrides: list[str]) -> str | None:
    """The first of ``overrides`` that gives the key of ``item`` another value, as the config reads it (a folder
    compared as the folder it names: ``data`` and ``./data`` agree), or None."""
    from ..config import override_key

    key = override_key(item)
    for setting in overrides:
        if override_key(setting) == key and setting_value(item, key) != setting_value(setting, key):
            return setting
    return None


# Keys that name a file or folder: two spellings of one place are one value.
_PATH_KEYS = ("data.root", "data.annotation", "data.cache_dir")


def setting_value(item: tuple[str, object] | str, key: str) -> object:
    """The value of ``key`` in the defaults with one override applied (a path key's as the place it names)."""
    from ..config import apply_overrides, config_from_dict, config_to_dict, flatten_config

    value = flatten_config(config_to_dict(config_from_dict(apply_overrides({}, [item])))).get(key)
    return _place(value, key) if key in _PATH_KEYS and isinstance(value, str) and value else value


def _place(value: str, key: str) -> object:
    """The absolute, resolved path that a path key's ``value`` names; for a root of the composite's PART=DIR
    items, each part's; a text that does not parse stays as it is (its own error comes later)."""
    from pathlib import Path

    from ..config import parse_root
    from ..errors import ConfigError

    if key != "data.root":
        return Path(value).expanduser().resolve()
    try:
        root = parse_root("composite" if "=" in value else "", value)
    except ConfigError:
        return value
    return {part: p.resolve() for part, p in root.items()} if isinstance(root, dict) else root.resolve()


# Options whose paths mmnet writes into its text files (config.yaml, report.md, JSON): these must be UTF-8.
_WRITTEN_PATH_OPTIONS = ("out", "root", "annotation", "config")


def check_path_encoding(args: argparse.Namespace) -> None:
    """Refuse, before any work, a path option whose name is not valid UTF-8 (Python holds the odd bytes as
    surrogates): training would finish every fold and then fail to write the report that names it."""
    import os

    from ..errors import ConfigError

    for option in _WRITTEN_PATH_OPTIONS:
        values = getattr(args, option, None)
        for value in values if isinstance(values, list) else [values]:
            if value is None:
                continue
            try:
                str(value).encode("utf-8")
            except UnicodeEncodeError:
                raw = os.fsencode(str(value))
                raise ConfigError(f"--{option} '{raw.decode('utf-8', 'replace')}' ({raw!r}): this name is not valid "
                                  "UTF-8, and mmnet writes the paths it uses into its reports as UTF-8 text; "
                                  "rename it (or choose another)") from None


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="run folds in this process (default), as Ray tasks (extra ray: pip install 'ray[default]', or "
                        "pip install -e '.[ray]' in a source checkout) or as SLURM jobs (extra slurm; docs/cluster.md)")
    p.add_argument("--address", type=str, default=None,
                   help="Ray cluster address, e.g. auto or HEAD:6379 (default: a private local Ray)")
    p.add_argument("--gpus-per-fold", type=float, default=None,
                   help="Ray: GPU share per fold, e.g. 0.25 (default: 1 if the cluster has GPUs, else 0); "
                        "SLURM: 0 or 1 GPU per fold job (default: 1 with train.device=cuda, else 0)")
    p.add_argument("--cpus-per-fold", type=float, default=None,
                   help="Ray or SLURM: CPUs per fold, also its torch thread count (default 1)")
    p.add_argument("--transport", choices=TRANSPORTS, default=None,
                   help="Ray: ship the frame cache through the object store (default) or read it from shared storage")
    p.add_argument("--max-retries", type=int, default=None,
                   help="Ray or SLURM: reruns of a fold whose worker, node or job died (default 3)")
    g = p.add_argument_group("SLURM (--executor slurm; docs/cluster.md)")
    g.add_argument("--slurm-partition", type=str, default=None, help="partition (default: the cluster's)")
    g.add_argument("--slurm-time", type=str, default=None,
                   help="time limit per fold job: minutes or [D-]H:MM:SS (default 4:00:00; a fold that needs "
                        "longer is requeued and continues)")
    g.add_argument("--slurm-mem", type=str, default=None,
                   help="memory per fold job, e.g. 16G (default: the partition's)")
    g.add_argument("--slurm-param", dest="slurm_params", action="append", default=None, metavar="KEY=VALUE",
                   help="another sbatch option, e.g. account=proj or qos=normal (repeatable)")
    g.add_argument("--slurm-log-dir", type=str, default=None,
                   help="job files and logs (default: RUN/slurm-logs, for a sweep OUT/slurm-logs)")
    g.add_argument("--slurm-array-parallelism", type=int, default=None,
                   help="at most this many fold jobs of each array run at once (default: all of them; the cluster's "
                        "limits apply)")
    g.add_argument("--slurm-gpu-type", type=str, default=None, metavar="TYPE",
                   help="GPU model of each fold's GPU, e.g. a100: asks for --gres=gpu:TYPE:1 (default: any GPU)")
    g.add_argument("--slurm-setup", dest="slurm_setup", action="append", default=None, metavar="LINE",
                   help="a shell line each fold job runs before mmnet, e.g. 'module load cuda/12.1' (repeatable)")
    g.add_argument("--no-wait", action="store_true",
                   help="submit the jobs and exit; rerun the same command (or mmnet report RUN) later")


def executor_config(args: argparse.Namespace):
    from ..executor_config import ExecutorConfig  # not ..config's: that one loads torch (seconds)

    if args.slurm_params:
        from ..train.slurm_executor import slurm_parameters

        slurm_parameters(args.slurm_params)  # checked before any work
    return ExecutorConfig(executor=args.executor, address=args.address, cpus_per_fold=args.cpus_per_fold,
                          gpus_per_fold=args.gpus_per_fold, max_retries=args.max_retries, transport=args.transport,
                          slurm_partition=args.slurm_partition, slurm_time=args.slurm_time, slurm_mem=args.slurm_mem,
                          slurm_params=tuple(args.slurm_params) if args.slurm_params else None,
                          slurm_log_dir=args.slurm_log_dir, slurm_array_parallelism=args.slurm_array_parallelism,
                          slurm_gpu_type=args.slurm_gpu_type,
                          slurm_setup=tuple(args.slurm_setup) if args.slurm_setup else None, no_wait=args.no_wait)


def load_predictor(checkpoint, *, device: str, progress: bool = True, **kwargs):
    """A command's Predictor for ``checkpoint``, on the fp32 kernel routes this CPU's cached calibration
    measured faster (``mmnet info`` lists them; none without one)."""
    say_step(f"loading the model {checkpoint} ...", progress=progress)  # torch and the weights: seconds
    from ..calibration_cache import inference_routes
    from ..infer import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device=device, **kwargs)
    predictor.use_cpu_routes(inference_routes(predictor.preprocessing.image_size))
    return predictor
