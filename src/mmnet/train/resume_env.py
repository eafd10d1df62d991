"""The numerics a fold trains with beyond its config (``run_folder.FOLD_NUMERICS``: where "auto" resolved, and the
torch thread count), recorded in its done.json; and the warning when a resume trains under other values than the
run recorded (another machine, another OMP_NUM_THREADS): its new folds will not be bit-identical to an
uninterrupted run's. Resuming is not refused: a user may mean to finish a run on another machine. Likewise the
mmnet version, git revision and code digest that trained each fold (``run_folder.FOLD_SOFTWARE``): a resume after
an upgrade, of a checkout or of an installed mmnet."""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path

import torch

from .. import run_folder as rf
from ..config import ExecutorConfig, ExperimentConfig
from ..runtime import ComputePlan
from .calibrate import plan_training

__all__ = ["trained_numerics", "trained_software", "warn_changed_numerics", "numerics_changes", "software_changes"]

log = logging.getLogger("mmnet.train")

#: How a resume trains with a recorded value (``%s``). A resume keeps config.yaml, so where it says "auto" for a
#: setting, the machine decides it; set explicitly only in a new run.
_HOW_TO_MATCH = {
    "device": {"cpu": "resume with CUDA_VISIBLE_DEVICES= (no GPU visible: train.device=auto picks the CPU)",
               "cuda": "resume on a machine with a GPU"},
    "precision": "resume on a machine where train.precision=auto resolves to %s, or train every fold again with "
                 "--set train.precision=%s and another --out",
    "memory_format": "resume on a machine where train.memory_format=auto resolves to %s, or train every fold again "
                     "with --set train.memory_format=%s and another --out",
    "torch_threads": "resume with OMP_NUM_THREADS=%s (a local run; --cpus-per-fold %s under Ray or SLURM)",
}


def trained_numerics(plan: ComputePlan) -> dict:
    """The FOLD_NUMERICS a fold trains with in this process under ``plan``, as its done.json records them."""
    return {"device": str(plan.device), "precision": plan.precision,
            "memory_format": "channels_last" if plan.memory_format == torch.channels_last else "contiguous",
            "torch_threads": torch.get_num_threads()}


@functools.cache
def trained_software() -> dict:
    """The FOLD_SOFTWARE of this process (git asked and the code digested once), as done.json records them."""
    from ..version import __version__, code_digest, git_revision

    return {"mmnet_version": __version__, "git_revision": git_revision(), "code_digest": code_digest()}


def warn_changed_numerics(out_dir: str | Path, cfg: ExperimentConfig, executor: ExecutorConfig | None) -> None:
    """Before a resume trains its folds: one warning per value that differs from what the run recorded."""
    out = Path(out_dir)
    if not rf.trained_folds(out):  # a fresh run: env.json was just written from this machine
        return
    if executor is None or executor.executor == "local":
        current = trained_numerics(plan_training(cfg.train, cfg.data.image_size))
    else:  # Ray workers and SLURM jobs resolve their own device; their thread count is the CPUs each fold has
        current = {"torch_threads": max(1, math.floor(executor.cpus_per_fold or 1))}
    for line in numerics_changes(out, current) + software_changes(out, trained_software()):
        log.warning("%s", line)


def numerics_changes(out: Path, current: dict) -> list[str]:
    """What differs between the ``current`` FOLD_NUMERICS and those the run in ``out`` trained with: its finished
    folds' (missing in an older done.json: env.json's), or before any fold finished, env.json's. A run with no
    trained epoch has nothing to differ from."""
    folds = rf.fold_folders(out)
    if not rf.trained_folds(out):
        return []
    env = _read_env(out)
    finished = [done for fold in folds if (done := rf.finished_result(fold)) is not None]
    recorded = [rf.fold_numerics(done, env) for done in finished] or [rf.fold_numerics({}, env)]
    where = "the run's finished folds" if finished else "the run's start (env.json)"
    lines = []
    for key, now in current.items():
        if key == "torch_threads" and _device_type(current.get("device", "cpu")) != "cpu":
            continue  # a GPU fold's numbers do not depend on the CPU's thread count
        before = sorted({_compared(key, values[key]) for values in recorded if values[key] is not None
                         and (key != "torch_threads" or _device_type(values["device"] or "cpu") == "cpu")}
                        - {_compared(key, now)})
        if not before:
            continue
        lines.append(f"resuming with {key.replace('_', ' ')} {_compared(key, now)}, but {where} trained with "
                     f"{' and '.join(before)}: the folds trained now will not be bit-identical to an uninterrupted "
                     f"run's. To match, stop and {' or '.join(_how_to_match(key, v) for v in before)}.")
    return lines


def software_changes(out: Path, current: dict) -> list[str]:
    """A line when the run's finished folds (before any finished, its start) were trained by another mmnet than
    ``current`` (FOLD_SOFTWARE): the resume goes on, the report and the model card name which trained what."""
    if not rf.trained_folds(out):
        return []
    env = _read_env(out)
    finished = [done for fold in rf.fold_folders(out) if (done := rf.finished_result(fold)) is not None]
    recorded = [rf.fold_software(done, env) for done in finished] or [rf.fold_software({}, env)]
    before = sorted({rf.software_name(r) for r in recorded if r["mmnet_version"]} - {rf.software_name(current)})
    if not before:
        return []
    where = "the run's finished folds were trained" if finished else "the run was started"
    return [f"resuming with {rf.software_name(current)}, but {where} by {' and '.join(before)}: the folds "
            "trained now may differ from what the earlier one would train (the report's Reproduce line names the mmnet "
            "of each fold). "
            "To keep one mmnet for the whole run, resume with that one, or train every fold again with --restart."]


def _read_env(out: Path) -> dict:
    try:
        env = json.loads((out / rf.ENV).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        env = {}
    return env if isinstance(env, dict) else {}


def _device_type(device: str) -> str:
    return str(device).split(":")[0]


def _compared(key: str, value) -> str:
    """A recorded value as compared: a device by its type (another index of the same kind trains alike)."""
    return _device_type(value) if key == "device" else str(value)


def _how_to_match(key: str, value: str) -> str:
    how = _HOW_TO_MATCH[key]
    if isinstance(how, dict):
        return how.get(value, f"resume on a machine with device {value}")
    return how.replace("%s", value)
