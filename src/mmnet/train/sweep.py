"""Sweeps: several settings of one experiment, each over the same seeds, run as one job and compared.

A sweep file is YAML::

    base: casme2_5class                  # a shipped recipe, or a file relative to this one (optional)
    config: {train: {epochs: 74}}        # inline config merged over base (optional)
    set: [data.root=/data/CASME2]        # --set style overrides common to every setting (optional)
    seeds: 5                             # N (train.seed + 0..N-1) or an explicit list
    settings:                            # name -> overrides, dotted or nested keys
      paper: {}
      no_ca: {model.use_ca: false}
      apex_only: {model: {main_input: apex}}

Each setting becomes a run folder ``OUT/<name>/`` identical to what ``mmnet train`` writes; the
comparison goes to ``OUT/summary.md`` and ``OUT/summary.csv``. With the Ray or SLURM executor the folds of
all settings are submitted together, so the cluster stays busy until the last fold. Rerunning the
same sweep into the same folder continues it (each run resumes as ``mmnet train`` does).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import run_log
from ..config import (
    ExecutorConfig,
    ExperimentConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    expand_seeds,
    override_key,
    override_list,
    set_value,
    without_derived,
)
from ..config_effect import as_written, effective_config, inert_in_both
from ..config_history import rename_earlier_keys, renamed_key
from ..dataset_root import absolute_override
from ..errors import ConfigError, MMNetError
from ..progress import write_line
from ..recipes import locate, locate_sweep, read_yaml
from ..runtime import check_device
from ..shell_words import shell_quote
from ..utils import atomic_write_text
from .executors import check_engine
from .experiment import finish_run, run_prepared
from .faults import add_to_message
from .network_check import check_network
from .prepare import check_out_apart, prepare_run
from .process_state import called_from_python
from .resume_rules import config_changes, experiment_values
from .run_lock import driver_lock, restart_lock
from .sweep_summary import format_summary_table, summarize_sweep

__all__ = ["SweepSetting", "Sweep", "load_sweep", "run_sweep", "summarize_sweep", "format_summary_table"]

_KEYS = ("base", "config", "set", "seeds", "settings")
# Written into OUT/sweep.yaml beside those, read back as a record only: where the sweep came from, and with what
_RECORD_KEYS = ("source", "mmnet_version", "command_line")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RESERVED = ("summary.md", "summary.csv", "summary_per_dataset.csv", "sweep.yaml")  # files of the sweep folder


@dataclass
class SweepSetting:
    """One column of the comparison: a name, its overrides, and the resolved experiment config."""

    name: str
    overrides: dict  # dotted key -> value, as written in the sweep file
    config: ExperimentConfig


@dataclass
class Sweep:
    """A parsed sweep file: the settings (in file order) that share seeds and common overrides."""

    source: str
    seeds: list[int]
    settings: list[SweepSetting] = field(default_factory=list)  # the ones to run (``only``)
    every: dict[str, dict] = field(default_factory=dict)  # every setting of the file: name -> its overrides
    # what resolved the settings: base (a recipe name or an absolute path), config, set, the command line's overrides
    inputs: dict = field(default_factory=dict)

    @property
    def overrides(self) -> dict[str, dict]:
        """Every setting's overrides, in file order (the run ones when ``every`` was not filled in)."""
        return self.every or {s.name: s.overrides for s in self.settings}

    def to_dict(self) -> dict:
        """A record of the whole sweep, also when only some settings run (OUT/sweep.yaml): a sweep file itself,
        which ``mmnet sweep OUT/sweep.yaml`` resolves to the same settings. The command line's overrides come
        after the file's ``set`` (as they were applied) and are listed again under ``command_line``."""
        from .. import __version__

        given = self.inputs
        return {"source": given.get("source", self.source), "mmnet_version": __version__, "base": given.get("base"),
                "config": given.get("config") or {}, "set": [*given.get("set", []), *given.get("command_line", [])],
                "command_line": list(given.get("command_line", [])), "seeds": self.seeds,
                "settings": {k: dict(v) for k, v in self.overrides.items()}}

    def as_yaml(self) -> str:
        """OUT/sweep.yaml's text: ``to_dict`` with CJK as written. A record an earlier mmnet wrote with \\u escapes
        reads back the same (YAML's escapes are the same text); a resume matches settings by their names (ASCII)
        and their run folders' config.yaml, never by this text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def _as_text(item: str | tuple[str, object]) -> str:
    """An override as ``--set`` takes it: a plain flag's ``(key, value)`` with its value quoted as YAML, so that it
    reads back as given (``--root "/data/x # copy"`` stays that folder)."""
    if isinstance(item, str):
        return item
    key, value = item
    return f"{key}={as_written(value)}"  # CJK as written, as config.yaml writes it (not \u escapes)


def _base_ref(path: Path) -> str:
    """A located base as the record names it: a shipped recipe by its name, a file by its absolute path."""
    from ..recipes import RECIPE_DIR

    return path.stem if path.parent.resolve() == Path(RECIPE_DIR).resolve() else str(path.resolve())


def _flatten(values: dict, prefix: str = "") -> dict:
    """``{model: {use_ca: false}}`` and ``{model.use_ca: false}`` both become ``{"model.use_ca": False}``."""
    out = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted.count(".") == 0 and dotted != "seeds":
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def load_sweep(
    path: str | Path,
    overrides: list[str | tuple[str, object]] | None = None,
    *,
    seeds: int | None = None,
    only: list[str] | None = None,
) -> Sweep:
    """Read a sweep file and resolve every setting's experiment config.

    Args:
        path: the sweep YAML.
        overrides: ``section.key=value`` strings (or plain flags' ``(key, value)`` pairs) applied to every
            setting after the file's ``set`` (a setting's own value for the same key is an error: it would
            silently lose).
        seeds: run this many seeds instead of the file's ``seeds``.
        only: run just these settings (names from the file), in the file's order.
    """
    p = locate_sweep(path)
    doc = read_yaml(p, "Sweep file")
    if not isinstance(doc, dict):
        raise ConfigError(f"Sweep file '{p}' must be a mapping with keys {', '.join(_KEYS)}")
    unknown = sorted(set(doc) - set(_KEYS) - set(_RECORD_KEYS))
    if unknown:
        raise ConfigError(f"Sweep file '{p}': unknown key(s) {unknown}. Valid keys: {', '.join(_KEYS)}")

    values: dict = {}
    # a record read back (OUT/sweep.yaml) keeps naming the file the sweep first came from
    inputs: dict = {"source": str(doc.get("source") or p), "base": None, "config": doc.get("config") or {},
                    "set": list(doc.get("set") or [])}
    if doc.get("base") is not None:
        try:  # a file (a relative one is relative to the sweep file) or a shipped recipe's name
            base = locate(str(doc["base"]), base_dir=p.parent, option="base:")
        except ConfigError as exc:
            raise ConfigError(f"Sweep file '{p}': base experiment '{doc['base']}' (a relative base is relative to "
                              f"the sweep file): {exc}") from None
        values = read_yaml(base) or {}
        inputs["base"] = _base_ref(base)
        if isinstance(values, dict):  # a --print-config output as base: its filled-in keys follow their sources
            rename_earlier_keys(values, note=True)  # an earlier mmnet's names, as --config reads them
            values = without_derived(values)
    for dotted, value in _flatten(doc.get("config") or {}).items():
        set_value(values, dotted, value, f"{p}: config")
    common = doc.get("set") or []
    if not isinstance(common, list) or not all(isinstance(x, str) for x in common):
        raise ConfigError(f"Sweep file '{p}': set must be a list of 'section.key=value' strings, got {common!r}")
    overrides = override_list(overrides)  # one string or a {key: value} dict, as load_config takes them
    values = apply_overrides(values, list(common) + overrides)
    cli_keys = {override_key(item) for item in overrides}
    dataset = str(values.get("data", {}).get("dataset", ""))
    inputs["set"] = [_as_text(absolute_override(item, dataset)) for item in common]
    inputs["command_line"] = [_as_text(absolute_override(item, dataset)) for item in overrides]
    inputs["config"] = apply_overrides(inputs["config"], [  # nested, as the file wrote it
        absolute_override((k, v), dataset) for k, v in _flatten(inputs["config"]).items() if k.startswith("data.")])

    settings = doc.get("settings")
    if not isinstance(settings, dict) or not settings:
        raise ConfigError(f"Sweep file '{p}': settings must map at least one name to its overrides "
                          "(e.g. settings: {paper: {}, no_ca: {model.use_ca: false}})")
    # One folder per setting: names that differ only in case share a folder on macOS and Windows file systems,
    # where the second setting's folds would resume the first's
    by_case: dict[str, list[str]] = {}
    for name in map(str, settings):
        by_case.setdefault(name.casefold(), []).append(name)
    same = [names for names in by_case.values() if len(names) > 1]
    if same:
        raise ConfigError(f"Sweep file '{p}': setting names {' and '.join(map(repr, same[0]))} differ only in case; "
                          "they would share one folder on case-insensitive file systems (macOS, Windows): rename one.")
    if only:
        missing = sorted(set(only) - set(settings))
        if missing:
            raise ConfigError(f"Unknown setting(s) {missing} in --only. Settings of '{p}': {', '.join(settings)}")

    base_seed = config_from_dict(values).train.seed
    if seeds is not None:  # an error names where the seeds came from
        seed_list = expand_seeds(seeds, base_seed, "--seeds")
    elif "seeds" in cli_keys:
        seed_list = expand_seeds(values["seeds"], base_seed, "--set seeds")
    else:
        seed_list = expand_seeds(doc.get("seeds", 1), base_seed, str(p))
    sweep = Sweep(source=str(p), seeds=seed_list, inputs=inputs)
    for name, body in settings.items():
        name = str(name)
        if not _NAME.match(name) or name.casefold() in _RESERVED:
            raise ConfigError(f"Sweep file '{p}': setting name {name!r} must be a folder name "
                              "(letters, digits, '.', '_', '-'; not starting with a symbol) other than "
                              f"{', '.join(_RESERVED)}")
        if body is not None and not isinstance(body, dict):
            raise ConfigError(f"Sweep file '{p}': setting {name!r} must be a mapping of overrides, got {body!r}")
        flat = _flatten(body or {})
        sweep.every[name] = dict(absolute_override(item, dataset) for item in flat.items())
        if only and name not in only:
            continue
        today = {renamed_key(k, None, note=False)[0]: k for k in cli_keys}  # an old key name clashes too
        clash = sorted(today[new] for k in flat if (new := renamed_key(k, None, note=False)[0]) in today)
        if clash:
            raise ConfigError(f"--set {', '.join(clash)} would overwrite what setting {name!r} varies; "
                              "drop it from --set or use --only to run other settings.")
        if seed_key := next((k for k in ("seeds", "train.seed") if k in flat), None):
            raise ConfigError(f"Sweep file '{p}': setting {name!r} sets {seed_key}; seeds are common to all "
                              "settings (`seeds:` at the top of the file).")
        resolved = copy.deepcopy(values)
        for dotted, value in flat.items():
            set_value(resolved, dotted, value, f"{p}: setting {name!r}")
        resolved["seeds"] = seed_list
        try:
            cfg = config_from_dict(resolved)
        except ConfigError as exc:
            raise ConfigError(f"Sweep file '{p}', setting {name!r}: {exc}") from None
        if cfg.train.final_fit:
            raise ConfigError(f"Sweep file '{p}', setting {name!r}: train.final_fit is for one chosen setting; "
                              "train it with `mmnet train ... --final-fit` once the sweep has compared them.")
        sweep.settings.append(SweepSetting(name=name, overrides=flat, config=cfg))
    _refuse_same_experiment(p, sweep.settings)
    return sweep


def _refuse_same_experiment(path: Path, settings: list[SweepSetting]) -> None:
    """Two settings that train the same experiment (``{model: {use_ca: false}}`` and ``{model.use_ca: false}``, or
    ones that differ only in what a resume may change) would train it twice and compare it with itself. Their data
    may differ: a resume takes moved data when its samples are the same, but two settings' roots or annotation
    files are two data sets."""
    seen: dict[str, SweepSetting] = {}
    for setting in settings:
        values = config_to_dict(setting.config)
        data = [values["data"]["root"], values["data"]["annotation"]]
        key = yaml.safe_dump([experiment_values(effective_config(values)), data], sort_keys=True)
        if (first := seen.setdefault(key, setting)) is setting:
            continue
        inert = inert_in_both(config_to_dict(first.config), values)
        changes = [c.split(":")[0] for c in config_changes(config_to_dict(first.config), values)]
        unused = "; ".join(f"{k} has no effect: {inert[k]}" for k in changes if k in inert)
        why = (f"differ only in {', '.join(changes)}, which do not change what is trained"
               + (f" ({unused})" if unused else "") if changes else "give the same configuration")
        hint = ("; to score one run both ways: `mmnet report RUN --selection paper`" if "eval.selection" in changes
                else "")
        raise ConfigError(f"Sweep file '{path}': settings {first.name!r} and {setting.name!r} {why}: they would "
                          f"train the same folds twice. Keep one{hint}.")


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    executor: ExecutorConfig | None = None,
    progress: bool = True,
    restart: bool = False,
) -> list[dict] | None:
    """Run every setting's folds (all together on Ray or SLURM), report each run, write the comparison.

    Returns the summary rows (see :func:`summarize_sweep`), or None when the folds were only
    submitted (SLURM with ``no_wait``). As :func:`~mmnet.train.run_experiment`: ``progress=False`` writes
    nothing on stderr, and the process settings training makes are set back when it returns or raises.
    ``restart=True`` (``--restart``) first moves each setting's earlier run aside, as ``mmnet train --restart``.
    """
    with called_from_python(progress):
        return train_sweep(sweep, out_dir, executor=executor, progress=progress, restart=restart)


def train_sweep(sweep: Sweep, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                progress: bool = True, restart: bool = False) -> list[dict] | None:
    """:func:`run_sweep` as ``mmnet sweep`` runs it: the process settings stay (the process ends after it)."""
    check_engine(executor, "run_sweep")  # a missing extra is said before any run folder is written
    out = Path(out_dir)
    if executor is None or executor.executor == "local":  # Ray workers and SLURM jobs decide their own device
        for setting in sweep.settings:
            check_device(setting.config.train.device)
    _check_settings(sweep, out)  # nothing is written (OUT itself included) before every setting's data is found
    # as run_experiment: a wrong model.factory or a replaced MMNet, before any setting trains (each network once)
    for model in {repr(s.config.model): s.config.model for s in sweep.settings}.values():
        check_network(model, executor)
    with ExitStack() as locks:  # each setting's run folder, as `mmnet train` takes it
        run_log.open_run_log(out, sweep=True)  # OUT/mmnet.log and OUT/status.json: every setting's lines and folds
        return _run(sweep, out, executor, progress, locks, restart)


def _run(sweep: Sweep, out: Path, executor: ExecutorConfig | None, progress: bool, locks: ExitStack,
         restart: bool) -> list[dict] | None:
    runs = []
    for setting in sweep.settings:
        folder = out / setting.name
        moved = locks.enter_context(restart_lock(folder) if restart else driver_lock(folder))  # as train --restart
        # each setting's folder also gets its own mmnet.log (the lines said about it) and status.json (its folds)
        run_log.open_run_log(folder, setting=True)
        with run_log.about(folder=folder), _about(sweep, setting):
            if restart and moved is not None:
                write_line(f"restart: the earlier run in {folder} was moved to {moved}")
            # Settings that read the same frames share one cache file (keyed by its content).
            runs.append(prepare_run(setting.config, folder, progress=progress,
                                    measure=executor is None or executor.executor == "local", setting=setting.name))
    # After every setting passed prepare_run's same-config check (a rerun must be the same sweep).
    atomic_write_text(out / "sweep.yaml", sweep.as_yaml())  # every setting
    # a failure of folds is raised after the reports of what finished and the summary
    submitted, failure = run_prepared(runs, executor, progress=progress, rebuilt="reports")
    if submitted:
        return None
    reported = [setting.name for setting, run in zip(sweep.settings, runs) if finish_run(run, failure) is not None]
    rows = summarize_sweep(out, list(sweep.overrides), overrides=sweep.overrides)  # with --only: the others too
    if failure is not None:
        raise add_to_message(failure, f"Reports of the finished folds (PARTIAL where folds failed) were written for: "
                                      f"{', '.join(reported) or 'no setting'} "
                                      f"(`mmnet report {shell_quote(out)}/SETTING` rebuilds one); "
                                      f"the comparison so far: {out / 'summary.md'}.")
    return rows


def _check_settings(sweep: Sweep, out: Path) -> None:
    """Each setting's dataset, label scheme, dataset folders and annotation files, and its run folder apart from
    them, else the error that prepare_run would raise (naming the setting): a later setting's mistake must not stop
    the sweep after the earlier settings were prepared (nor a lock file land among the data)."""
    from ..config import parse_root
    from ..data import dataset_paths, load_dataset
    from .resolve import resolve_config

    seen = set()
    for setting in sweep.settings:
        with _about(sweep, setting):
            setting.config = resolve_config(setting.config)  # as run_experiment: as its config.yaml records it
            d = setting.config.data
            roots = parse_root(d.dataset, d.root)
            folders, files = dataset_paths(roots, d.annotation)
            key = (d.dataset, str(roots), d.annotation)
            found = all(f.is_dir() for f in folders.values()) and all(f.is_file() for f in files)
            if key not in seen and not found:
                load_dataset(d.dataset, roots, annotation=d.annotation)  # DatasetNotFoundError naming the part
            seen.add(key)
            check_out_apart(out / setting.name, setting.config)


@contextmanager
def _about(sweep: Sweep, setting: SweepSetting) -> Iterator[None]:
    """An error about one setting's run names the setting, as the sweep file's own errors do; so does a warning of
    mmnet's made meanwhile (on stderr and in the sweep's log, where the settings' warnings come one after another)."""
    prefix, make = f"setting {setting.name!r}: ", logging.getLogRecordFactory()

    def named(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.name.split(".")[0] == "mmnet" and record.levelno >= logging.WARNING:
            try:
                text = record.getMessage()
            except (TypeError, ValueError):  # a message and arguments that do not fit: logging says so itself
                return record
            if not text.startswith(prefix):
                record.msg, record.args = prefix + text, None
        return record

    logging.setLogRecordFactory(named)
    try:
        yield
    except MMNetError as exc:
        exc.args = (f"Sweep file '{sweep.source}', setting {setting.name!r}: {exc}",)
        raise
    finally:
        logging.setLogRecordFactory(make)
