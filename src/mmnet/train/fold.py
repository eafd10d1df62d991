"""The recipe of one fold: the model, the optimiser and schedule, the epochs, the resume state, resume, and
the fold's files.

Each fold writes an atomic resume state after an epoch (at most every train.state_every_s), so killing the
process at any moment (SIGKILL included) and rerunning the same command continues from it, and on CPU gives
the same numbers and files as an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import run_folder as rf
from .. import run_log
from ..data.batches import DeviceFrames
from ..data.cache import CachedFrames
from ..data.cache_folder import load_entry
from ..errors import TrainingError
from ..model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, MMNet
from ..model.cpu_kernels import set_cpu_routes
from ..model.factory import build_network, network_name, parameter_count
from ..model.mmnet import WEIGHTS_NAME, save_network
from ..process_state import restored_process_state
from ..progress import EpochProgress, write_line
from ..runtime import configure_cpu_numerics
from ..tf32 import tf32_record
from ..utils import (
    CorruptFile,
    atomic_torch_save,
    atomic_write_text,
    checked_torch_load,
    local_timestamp,
    move_aside,
    remove_stale_temporaries,
)
from .calibrate import plan_training
from .checkpoint_record import training_header
from .env_record import cuda_record
from .loop import adamw, evaluate, train_one_epoch
from .resume_env import trained_numerics, trained_software
from .tasks import FoldTask, fold_seed
from .tb_log import FoldLog

__all__ = ["run_fold"]

log = logging.getLogger("mmnet.train")


@dataclass
class _Progress:
    """What a fold has done so far; all of it is in the resume state."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    predictions: list[list] = field(default_factory=list)


def run_fold(task: FoldTask, *, progress: bool = True, device: str | None = None,
             frames: np.ndarray | None = None, record_extra: dict | None = None,
             keep_process_settings: bool = False) -> dict:
    """Train one fold (resuming from its checkpoint if present); write its files; return done.json.

    Training sets what holds for the whole process: denormal floats flushed to zero and freed memory kept
    (on the CPU), cuDNN's autotuning (on CUDA), torch's global random state (seeded per fold). A call from
    Python gets them back as they were when it returns or raises (``mmnet.process_state``).

    Args:
        task: the (seed, fold) to run.
        progress: a progress bar over epochs (plain lines, at most one a minute, without a terminal).
        device: overrides ``train.device`` (the Ray executor passes the device it reserved).
        frames: the frame cache array, when the caller has it mapped already.
        record_extra: more fields for done.json (a SLURM job records its host and job id).
        keep_process_settings: leave those settings in place, for the next fold (the executors: the process
            is the run's, or the run sets them back once at its end).
    """
    if keep_process_settings:
        return _train_fold(task, progress=progress, device=device, frames=frames, record_extra=record_extra)
    with restored_process_state():
        return _train_fold(task, progress=progress, device=device, frames=frames, record_extra=record_extra)


def _train_fold(task: FoldTask, *, progress: bool, device: str | None, frames: np.ndarray | None,
                record_extra: dict | None) -> dict:
    cfg = task.config
    tc = cfg.train
    fold_dir = task.fold_dir
    # finished already (a job submitted twice, a retry after the fold's end): never retrained
    if (recorded := rf.finished_result(fold_dir)) is not None:
        rf.remove_finished_leftovers(fold_dir)
        return recorded
    fold_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(fold_dir, time.time())  # half-written files of an earlier, killed attempt
    plan = plan_training(tc, cfg.data.image_size, device)
    if plan.device.type == "cpu":
        configure_cpu_numerics()
    data, train_idx, test_idx = _fold_data(task, plan.device, frames)

    seed = fold_seed(task.seed, task.fold)
    torch.manual_seed(seed)
    # model.factory's network, else MMNet: looked up here at each call (a replaced fold.MMNet is what trains, and
    # what the run records below)
    model = build_network(cfg.model, default=MMNet).to(plan.device).to(memory_format=plan.memory_format)
    set_cpu_routes(model, **plan.cpu_routes)  # fp32 kernel routes the calibration measured faster (or none)
    optimizer = adamw(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=tc.lr_gamma)
    generator = torch.Generator(device=plan.device).manual_seed(seed + 1)
    state_path = fold_dir / rf.STATE
    done = _Progress()
    if state_path.exists():  # resume: everything needed to continue bit-for-bit
        try:
            state = checked_torch_load(state_path, map_location=plan.device)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            generator.set_state(state["generator"].cpu())
            _set_global_rng(state, plan.device)
            done = _Progress(int(state["epoch"]), list(state["history"]), list(state["predictions"]))
        except (CorruptFile, KeyError, TypeError, ValueError, RuntimeError) as exc:
            # a damaged resume state: moved aside (kept for inspection until the fold is done), the fold starts again
            aside = move_aside(state_path)
            log.warning("seed %s fold %s: resume state '%s' is damaged (%s); moved to '%s', the fold starts again "
                        "from epoch 1", task.seed, task.fold, state_path, exc, aside.name)
            return _train_fold(task, progress=progress, device=device, frames=frames, record_extra=record_extra)

    # train.compile: the compiled module shares the model's parameters; the model itself is what is
    # saved (its state_dict keys stay MMNet's)
    net = torch.compile(model) if tc.compile else model
    # train.tensorboard: the epochs recorded so far are (re)written, then each new one
    tb = FoldLog(task.out_dir, fold_dir, cfg.model.num_classes, done.history, done.predictions) if tc.tensorboard \
        else None
    label = f"seed {task.seed} fold {task.fold}"
    _say_resume(label, fold_dir, done.epoch, tc.epochs)
    bar = EpochProgress(label, tc.epochs, done.epoch, progress=progress)
    predictions = _PredictionsFile(fold_dir / rf.PREDICTIONS, rf.prediction_columns(cfg.model.num_classes),
                                   done.predictions)
    # The resume state (~110 MB: the model and AdamW's two moments) is written at most every
    # train.state_every_s: after every epoch it cost more than the epochs of a small model or a GPU.
    saved_epoch, saved_at = done.epoch, time.monotonic()
    for epoch in range(done.epoch + 1, tc.epochs + 1):
        t0 = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        stats = train_one_epoch(net, data, train_idx, optimizer, batch_size=tc.batch_size, augment=cfg.augment,
                                generator=generator, precision=plan.precision, memory_format=plan.memory_format)
        _check_finite(task, epoch, stats.first_bad_step, stats.loss, "training loss", saved_epoch)
        if epoch <= tc.lr_decay_epochs:  # the authors step the schedule after epochs 1..50, then hold
            scheduler.step()
        test_loss = test_acc = None  # the final fit has no test subject: nothing is measured
        recorded = len(done.predictions)
        if task.test_idx:
            probs, test_loss = evaluate(net, data, test_idx, precision=plan.precision,
                                        memory_format=plan.memory_format)
            _check_finite(task, epoch, None, test_loss, "test loss", saved_epoch)
            test_acc = _record_epoch(task, done, epoch, probs)
        done.history.append({"epoch": epoch, "train_loss": round(stats.loss, 6),
                             "train_acc": round(stats.accuracy, 6), "lr": lr, "test_loss": _round(test_loss),
                             "test_acc": _round(test_acc), "seconds": round(time.perf_counter() - t0, 3)})
        done.epoch = epoch
        # the last epoch is recorded by done.json instead
        if epoch < tc.epochs and time.monotonic() - saved_at >= tc.state_every_s:
            atomic_torch_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                **_global_rng(plan.device), "history": done.history, "predictions": done.predictions,
                "epoch": epoch,
            }, state_path)
            saved_epoch, saved_at = epoch, time.monotonic()
            run_log.saved(epoch)
        _write_history(fold_dir, done)
        predictions.append(done.predictions[recorded:], done.predictions)
        if tb is not None:
            tb.epoch(done.history[-1], done.predictions)
        bar.update(epoch, stats.loss, stats.accuracy, test_acc)
    bar.close()
    if tb is not None:
        tb.close()
    predictions.sync()  # on disk before done.json says the fold finished
    if tc.save_models or task.final:
        save_network(model.to(memory_format=torch.contiguous_format), cfg.model, fold_dir / rf.MODEL,
                     _checkpoint_info(task))
    record = {"fold": task.fold, "test_subjects": sorted({task.subjects[i] for i in task.test_idx}),
              "test_datasets": sorted({task.datasets[i] for i in task.test_idx}), "epochs": tc.epochs,
              "seed": task.seed, "fold_seed": seed,
              # the network that trained, as it ran (model.factory's, a subclass): the report and card name it
              "network": network_name(model), "parameters": parameter_count(model),
              "seconds": round(sum(h["seconds"] for h in done.history), 3),
              "finished_at": local_timestamp(),  # with env.json's started_at: the run's wall time (the report's)
              **trained_numerics(plan),  # where "auto" resolved and the thread count: a resume may differ
              **trained_software(),  # the mmnet that trained it: a resume after an upgrade differs
              **tf32_record(plan.device.type),  # fp32 on a GPU: TF32 or not
              **cuda_record(plan.device.type),  # this machine's CUDA, cuDNN and driver (Ray, SLURM: not env.json's)
              "test_acc": done.history[-1]["test_acc"] if done.history else None}
    if tc.save_models or task.final:  # checked where the model is loaded (a flipped bit loads without an error)
        record["model_sha256"] = rf.file_sha256(fold_dir / rf.MODEL / WEIGHTS_NAME)
    record.update(record_extra or {})
    if task.final:
        record["train_samples"] = len(task.train_idx)
        record["train_subjects"] = sorted({task.subjects[i] for i in task.train_idx})
    atomic_write_text(fold_dir / rf.DONE, json.dumps(record, indent=2) + "\n")
    rf.remove_resume_state(fold_dir)
    return record


def _say_resume(label: str, fold_dir: Path, epoch: int, epochs: int) -> None:
    """The line of a fold that resumes from its state (written after ``epoch``): where it goes on, and the epochs the
    stopped start trained after that state (its history.csv, written every epoch, still lists them), trained
    again now. Also its start, for status.json."""
    state = fold_dir / rf.STATE
    mtime = state.stat().st_mtime if epoch and state.is_file() else None
    run_log.fold_clock(label, epochs, epoch, mtime)
    if not epoch:
        return
    try:
        listed = len((fold_dir / rf.HISTORY).read_text(encoding="utf-8").splitlines()) - 1
    except OSError:
        listed = epoch
    lost = f"epoch {listed}" if listed == epoch + 1 else f"epochs {epoch + 1}-{listed}"
    again = f"; {lost} of the stopped start {'is' if listed == epoch + 1 else 'are'} trained again" \
        if listed > epoch else ""
    write_line(run_log.resumes_from(label, epoch, epochs, mtime) + again)


def _global_rng(device: torch.device) -> dict:
    """torch's global random states for the resume state: the CPU's, and on CUDA the device's (the
    authors' 3-class variant's stochastic depth draws its masks there, with torch's default generator)."""
    state = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def _set_global_rng(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch_rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in state:  # a state written on the CPU has none
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _check_finite(task: FoldTask, epoch: int, step: int | None, value: float, what: str, saved_epoch: int) -> None:
    """Stop the fold when a loss became NaN/inf; the last resume state written (after ``saved_epoch``) is kept."""
    if step is None and math.isfinite(value):
        return
    at = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
    kept = (f"this fold continues from its state after epoch {saved_epoch}" if saved_epoch > 0
            else "this fold restarts from epoch 1")
    raise TrainingError(
        f"seed {task.seed} fold {task.fold}: the {what} became {value if not math.isfinite(value) else 'NaN/inf'} "
        f"at {at}. Training stopped; finished folds are kept and {kept} when the same command is rerun. "
        "Try a lower train.lr, train.precision=fp32, or check the data (`mmnet check-data`); a changed setting "
        "needs --restart (moves this run aside and trains every fold again) or a new --out."
    )


def _fold_data(task: FoldTask, device: torch.device, frames) -> tuple[DeviceFrames, torch.Tensor, torch.Tensor]:
    """This fold's samples on the device, and its train/test indices into them."""
    if frames is None:
        frames = load_entry(task.frames_path)
    cache = CachedFrames(frames, task.onset_rows, task.apex_rows, task.onset_exact, task.apex_exact,
                         Path(task.frames_path))
    used = sorted(set(task.train_idx) | set(task.test_idx))  # only this fold's samples go to the device
    flows = load_entry(task.flows_path) if task.flows_path else None
    data = DeviceFrames(cache, task.labels, device, subset=used, flows=flows)
    local = {g: i for i, g in enumerate(used)}
    train_idx = torch.tensor([local[i] for i in task.train_idx], device=device)
    test_idx = torch.tensor([local[i] for i in task.test_idx], device=device)
    return data, train_idx, test_idx


def _record_epoch(task: FoldTask, done: _Progress, epoch: int, probs: torch.Tensor) -> float:
    """Append the epoch's test predictions (predictions.csv rows); return the test accuracy."""
    preds = probs.argmax(1).tolist()
    truth = [task.labels[i] for i in task.test_idx]
    for row, (gi, p) in enumerate(zip(task.test_idx, preds)):
        done.predictions.append([epoch, task.sample_ids[gi], task.subjects[gi], task.datasets[gi], truth[row], p]
                                + [round(float(x), 6) for x in probs[row]])
    return sum(int(p == t) for p, t in zip(preds, truth)) / max(len(truth), 1)


#: history.csv's decimals per column (the values are rounded so when recorded); lr is written in full
_HISTORY_DECIMALS = {"train_loss": 6, "train_acc": 6, "test_loss": 6, "test_acc": 6, "seconds": 3}
_PROB_COLUMN = len(rf.PREDICTION_ID_COLUMNS)  # predictions.csv: the probabilities follow the id columns


def _fixed(value, decimals: int = 6):
    """A float as fixed decimals ("0.000002", never str()'s "2e-06", which some readers take for text); the
    value read back is the recorded one. None stays None (an empty cell), other values as they are."""
    return f"{value:.{decimals}f}" if isinstance(value, float) else value


def _history_cells(row: dict) -> list:
    cells = {k: _fixed(row[k], _HISTORY_DECIMALS[k]) for k in _HISTORY_DECIMALS}
    # the learning rate in full and without an exponent: it may be smaller than 6 decimals show
    cells["lr"] = np.format_float_positional(row["lr"], trim="-") if isinstance(row["lr"], float) else row["lr"]
    return [cells.get(k, row[k]) for k in rf.HISTORY_COLUMNS]


def _prediction_cells(row: list) -> list:
    return row[:_PROB_COLUMN] + [_fixed(x) for x in row[_PROB_COLUMN:]]


def _write_history(fold_dir: Path, done: _Progress) -> None:
    rf.write_csv(fold_dir / rf.HISTORY, rf.HISTORY_COLUMNS, [_history_cells(h) for h in done.history])


class _PredictionsFile:
    """A training fold's predictions.csv: each epoch's rows appended. Rewritten whole, the rows of every epoch so
    far cost the square of the epochs (74 epochs of a 164-sample fold: 2,775 x 164 rows and a ~1 MB fsync an epoch).

    Written whole, atomically, as the fold starts (the resume state's rows, none on a first start): what a stopped
    start appended after its last resume state (a line a kill cut short too) is gone, trained again. Appends are
    flushed, not fsynced (a resume writes the file anew); ``sync`` once, before done.json. A file that is not as
    this fold left it (removed, saved by another program) is written whole again."""

    def __init__(self, path: Path, columns: tuple[str, ...], rows: list[list]):
        self.path, self.columns = path, columns
        self._rewrite(rows)

    def _rewrite(self, rows: list[list]) -> None:
        rf.write_csv(self.path, self.columns, [_prediction_cells(row) for row in rows])
        self.size = self.path.stat().st_size

    def append(self, new: list[list], every_row: list[list]) -> None:
        """``new``: the epoch's rows; ``every_row``: all rows so far, ``new`` last."""
        try:
            intact = self.path.stat().st_size == self.size
        except FileNotFoundError:
            intact = False
        if not intact:
            return self._rewrite(every_row)
        if not new:  # the final fit tests nothing
            return
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(_prediction_cells(row) for row in new)
        data = buf.getvalue().encode("utf-8")  # as rf.write_csv writes them: utf-8, "\n"
        with open(self.path, "ab") as f:
            f.write(data)
        self.size += len(data)

    def sync(self) -> None:
        with open(self.path, "rb+") as f:
            os.fsync(f.fileno())


def _checkpoint_info(task: FoldTask) -> CheckpointInfo:
    """What a saved model carries: the class names and the preprocessing it was trained with, and what it was
    trained on (with the licence note), so that a copy of its folder keeps them."""
    cfg = task.config
    prep = {"image_size": cfg.data.image_size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    if cfg.model.main_input == "flow":  # how its flow input is made, for a copy away from its run's config
        prep["flow_method"] = cfg.data.flow_method
    return CheckpointInfo(class_names=list(cfg.data.classes or []), preprocessing=prep, training=training_header(task))
