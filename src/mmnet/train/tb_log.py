"""Optional TensorBoard event files of a run (``train.tensorboard``; the optional extra ``tensorboard``).

Layout, beside the run's own files (names from :mod:`mmnet.run_folder`)::

    RUN/tensorboard/seed-<S>/fold-<NAME>/   one fold: a value per epoch (step = epoch)
    RUN/tensorboard/final/                  the final fit (no test subject: training values only)
    RUN/tensorboard/summary/                the run's scores (report.json's headline) and its settings (hparams)

Everything a fold logs is taken from what the fold records anyway (its history.csv rows and
predictions.csv rows), after the epoch: logging touches neither the model nor a random generator, so the
numbers of a run are the same with it on or off. A fold that starts (or resumes) rewrites its event file
from those records, then adds each new epoch, so a resumed fold has exactly one value per epoch wherever it
was stopped. The writer lives in the fold's own process (local, Ray or SLURM), writing into the run folder.
"""

from __future__ import annotations

from pathlib import Path

from .. import run_folder as rf
from ..config import ExperimentConfig, config_to_dict
from ..errors import ConfigError, install_hint
from ..report.metrics import uar, uf1

__all__ = ["require_tensorboard", "FoldLog", "write_summary", "EPOCH_TAGS", "SUMMARY_METRICS"]

# tag -> history.csv column (step = epoch)
EPOCH_TAGS = {"train/loss": "train_loss", "train/acc": "train_acc", "train/lr": "lr",
              "test/loss": "test_loss", "test/acc": "test_acc"}
# test/uf1, test/uar: this fold's held-out subject at each epoch, from predictions.csv
SUMMARY_METRICS = ("acc", "uf1", "uar")
_PATHS = ("data.root", "data.cache_dir", "data.annotation")  # local paths: not settings to compare runs by


def require_tensorboard() -> None:
    """Raise a ConfigError naming the extra when train.tensorboard cannot write (checked before any training)."""
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it; torch does not depend on it)
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise ConfigError("train.tensorboard=true needs the tensorboard package, an optional extra: "
                          f"{install_hint('tensorboard')}; or set train.tensorboard=false") from None


def _writer(folder: Path):
    """A SummaryWriter into ``folder``, whose earlier event files are removed (they are written again)."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    return SummaryWriter(log_dir=str(folder))


class FoldLog:
    """The event file of one fold: the epochs recorded so far at once, then one epoch at a time."""

    def __init__(self, out_dir: str | Path, fold_dir: Path, num_classes: int, history: list[dict],
                 predictions: list[list]):
        self.num_classes = num_classes
        self.writer = _writer(Path(out_dir) / rf.TENSORBOARD / fold_dir.relative_to(out_dir))
        for row in history:
            self._epoch(row, [p for p in predictions if p[0] == row["epoch"]])
        self.writer.flush()

    def epoch(self, row: dict, predictions: list[list]) -> None:
        """Log one finished epoch: its history row and its predictions rows (other epochs' rows are ignored)."""
        self._epoch(row, [p for p in predictions if p[0] == row["epoch"]])
        self.writer.flush()  # on disk before the next epoch: a killed fold loses nothing it recorded

    def _epoch(self, row: dict, predictions: list[list]) -> None:
        step = int(row["epoch"])
        for tag, column in EPOCH_TAGS.items():
            if row.get(column) is not None:
                self.writer.add_scalar(tag, float(row[column]), step)
        if predictions:  # predictions.csv: epoch, sample_id, subject, dataset, true, pred, probabilities
            truth, pred = [int(p[4]) for p in predictions], [int(p[5]) for p in predictions]
            self.writer.add_scalar("test/uf1", uf1(truth, pred, self.num_classes), step)
            self.writer.add_scalar("test/uar", uar(truth, pred, self.num_classes), step)

    def close(self) -> None:
        self.writer.close()


def _hparams(cfg: ExperimentConfig) -> dict:
    """The run's settings as TensorBoard's HParams take them (numbers, booleans, text)."""
    out = {}
    for section, values in config_to_dict(cfg).items():
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            name = f"{section}.{key}" if key else section
            if value is None or name in _PATHS:
                continue
            out[name] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return out


def write_summary(out_dir: str | Path, cfg: ExperimentConfig, report: dict) -> Path | None:
    """The run's scores (report.json's headline: the mean over seeds, and each seed) and its settings as
    HParams, into RUN/tensorboard/summary (rewritten each time the report is built); None without a headline."""
    if "headline" not in report:
        return None
    from torch.utils.tensorboard.summary import hparams

    folder = Path(out_dir) / rf.TENSORBOARD / rf.TENSORBOARD_SUMMARY
    head = report["headline"]
    metrics = {f"summary/{m}": float(head["mean"][m]) for m in SUMMARY_METRICS}
    writer = _writer(folder)
    try:
        step = cfg.train.epochs
        for summary in hparams(_hparams(cfg), metrics):
            writer.file_writer.add_summary(summary, step)
        for tag, value in metrics.items():
            writer.add_scalar(tag, value, step)
        for seed, scores in head["per_seed"].items():
            for m in SUMMARY_METRICS:
                writer.add_scalar(f"summary/{rf.seed_folder(int(seed))}/{m}", float(scores[m]), step)
    finally:
        writer.close()
    return folder
