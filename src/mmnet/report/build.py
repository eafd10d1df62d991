"""Score a run folder and write an auditable report beside it.

:func:`build_report` writes into the run folder:

- ``report.json``: every number, machine-readable (no timestamps: a rebuild is byte-identical);
- ``report.md``: the same for people, with the protocol, status, config and environment;
- figures in each requested format (PNG, PDF, SVG; default PNG + PDF): ``confusion_matrix``,
  ``per_subject``, ``learning_curves`` and, with paper selection, ``confusion_matrix_paper_optimistic``;
- ``megc_log.txt``: per fold, subject, sample, true and predicted label (MEGC layout), and
  ``pooled_predictions.csv``: the scored predictions in one table, to recompute every number;
- for a long-video dataset (spot then recognise, ``str_report``): the spotting and STR tables in
  report.md/json, ``timelines/<video>.png`` and ``megc/seed-<S>/`` (MEGC log, spotting and STR CSVs).
"""

from __future__ import annotations

import errno
import json
import shutil
import signal
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, MMNetError
from ..utils import OPEN_ELSEWHERE, replace_files_together
from .bootstrap import RESAMPLES
from .cite import fold_versions, run_citations
from .cuda_terms import fold_cuda
from .env_text import wall_time
from .figure_fonts import figure_fonts, figure_texts, missing_glyphs_note
from .figures import render_figures
from .protocol_text import datasets_tested
from .render import megc_log, render_markdown
from .run_reader import load_run
from .scores import (
    ALL_REPORT_FILES,
    DEFAULT_FIGURE_FORMATS,
    FIGURE_FORMATS,
    REPORT_FILES,
    compute_report,
    report_files,
    score_run,
)
from .selection import PAPER_KEY, optimistic_label
from .str_report import str_section
from .verdict import VERDICT_MIN_SUBJECTS, chance_standing, chance_verdict

__all__ = ["build_report", "summarize_run", "REPORT_FILES", "ReportNotWritten"]

# A run folder the user may read but not write: a teaching assistant scoring students' runs, a read-only mount
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


class ReportNotWritten(MMNetError):
    """The report was computed, but the run folder cannot be written: ``report`` holds it, ``reason`` says why."""

    def __init__(self, run_dir: Path, reason: str, report: dict, file: str | None = None):
        where = f"'{file}': {reason}" if OPEN_ELSEWHERE in reason else f"'{run_dir}' cannot be written ({reason})"
        super().__init__(f"the report files were not written: {where}")
        self.run_dir, self.reason, self.report = run_dir, reason, report
        # a file held open by another program (Windows) is closed, not a folder copied
        self.remedy = "" if OPEN_ELSEWHERE in reason else (
            " To keep its files, copy the run folder to one of yours and run `mmnet report` on the copy.")


def build_report(run_dir: str | Path, selection: str | None = None,
                 figure_formats: Sequence[str] | str = DEFAULT_FIGURE_FORMATS, resamples: int = RESAMPLES) -> dict:
    """Score a run folder and write the report files into it.

    Args:
        run_dir: the run folder written by ``mmnet train``.
        selection: ``"last"`` or ``"paper"``; None takes ``eval.selection`` from config.yaml
            (default ``"last"``). ``"paper"`` adds the optimistic numbers beside the honest ones.
        figure_formats: any of ``"png"``, ``"pdf"``, ``"svg"`` (a list, or one alone); figures of other formats
            left by an earlier build are removed, so that none describes an older state of the folder.
        resamples: bootstrap resamples of the confidence intervals.

    Returns:
        The report dict, as written to ``report.json``.

    Raises:
        ReportNotWritten: the run folder cannot be written (permissions, a read-only disk); the report it holds
            is complete, and the folder as it was.
    """
    run_dir = Path(run_dir)
    if isinstance(figure_formats, str):  # one format, not one per letter
        figure_formats = [figure_formats]
    bad = [f for f in figure_formats if f not in FIGURE_FORMATS]
    if bad or not figure_formats:
        raise ConfigError(f"figure format(s) {bad or '(none)'} are not supported; choose from "
                          f"{', '.join(FIGURE_FORMATS)}, e.g. figure_formats=['png', 'pdf'] / "
                          "--figures-format png,pdf,svg")
    if resamples < 100:
        raise ConfigError(f"--resamples {resamples}: a 95 % bootstrap interval needs at least 100 resamples "
                          f"(default {RESAMPLES})")
    # Everything is computed before anything is written. When that fails, the report files of an earlier
    # build are removed, so that no report.md describes a run folder that has changed since; not when it was
    # interrupted (Ctrl-C): the earlier report then stays as it was, and the next build replaces it.
    with _noticing_interrupts() as interrupts:
        try:
            report, texts, images = _compute(run_dir, selection, figure_formats, resamples)
        except BaseException as exc:
            if not (interrupts or _caused_by_interrupt(exc)):
                _remove_report(run_dir)
            raise
    files = {name: text.encode("utf-8") for name, text in texts.items()} | images
    try:
        replace_files_together(run_dir, files, remove=set(ALL_REPORT_FILES) - set(report["files"]))
    except OSError as exc:
        if exc.errno not in _NOT_WRITABLE:
            raise
        report.update(files=[], written=False)  # as printed: it must not list files that are not there
        if "spot_then_recognise" in report:
            report["spot_then_recognise"]["files"] = []
        raise ReportNotWritten(run_dir, exc.strerror or str(exc), report, exc.filename) from exc
    return report


def _compute(run_dir: Path, selection: str | None, figure_formats: Sequence[str],
             resamples: int) -> tuple[dict, dict[str, str], dict[str, bytes]]:
    """The report dict, and every report file's contents by name (texts, images); writes nothing."""
    run = load_run(run_dir)
    report, pooled = score_run(run, selection, resamples)
    report["files"] = list(report_files(figure_formats, paper=PAPER_KEY in report))
    report["written"] = True  # false in the report printed when the run folder cannot be written
    report["wall_time"] = wall_time(run)  # start to last fold's end (None: not recorded)
    # the CUDA each machine the folds trained on had (done.json): env.json's is the one that started the run
    report["fold_cuda"] = fold_cuda([f.done for folds in run.folds.values() for f in folds if f.done])
    report["cite"] = run_citations(report, fold_versions(run))  # report.md's "How to cite"
    images = render_figures(report, figure_formats)
    # names no installed font can draw are boxes in the figures: the report says so and how to fix it
    if note := missing_glyphs_note(figure_fonts(figure_texts(report))[1]):
        report["figure_notes"] = [note]
    log, pooled_csv = megc_log(report, pooled, run)
    spotting = str_section(run_dir, report)  # long-video datasets: spot then recognise
    if spotting is not None:
        report["spot_then_recognise"] = spotting.summary
    # default=str: YAML may hold dates; allow_nan=False: a NaN here is a bug, not a number.
    texts = {"report.json": json.dumps(report, indent=2, allow_nan=False, default=str) + "\n",
             "report.md": render_markdown(report), "megc_log.txt": log, "pooled_predictions.csv": pooled_csv}
    if spotting is not None:
        texts["report.md"] += spotting.markdown
        texts.update(spotting.texts)
        images.update(spotting.images)
    return report, texts, images


def _remove_report(run_dir: Path) -> None:
    if run_dir.is_dir():
        for name in ALL_REPORT_FILES:
            try:
                (run_dir / name).unlink(missing_ok=True)
            except OSError:  # a folder the user cannot write: the error that stopped the report is the news
                break
        if (run_dir / "truth.csv").is_file():  # spot then recognise: its figures and MEGC files too
            for folder in ("timelines", "megc"):
                shutil.rmtree(run_dir / folder, ignore_errors=True)


def _caused_by_interrupt(exc: BaseException | None) -> bool:
    """A KeyboardInterrupt, or an error raised while handling one (a library may turn it into another)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def _noticing_interrupts():
    """Yields a list that gets an entry when SIGINT arrives in the block (the handler in place still runs):
    C code (matplotlib's) may swallow the KeyboardInterrupt and fail with another error, unchained."""
    seen: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    if previous is None or threading.current_thread() is not threading.main_thread():
        yield seen  # a handler not set from Python, or not the main thread: the exception chain must tell
        return

    def note(signum, frame):
        seen.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def summarize_run(run_dir: str | Path, selection: str | None = None) -> dict:
    """Headline numbers of a run, for a sweep table: per seed, mean and std (ddof=1) over seeds.

    Writes nothing. Paper-selection numbers, when selected, sit under ``paper_selection_optimistic``.
    ``ci``: the bootstrap 95 % intervals over subjects of the seed mean (of the one seed with one), with what
    describes them: ``n_subjects``, ``ci_rough`` (fewer than VERDICT_MIN_SUBJECTS subjects), ``ci_method``; and
    ``chance``, 1 / number of classes; ``verdict``, report.md's verdict line, and ``vs_chance``, its standing in a
    few words (verdict.chance_standing). ``protocol`` (``loso``, ``lodo``), ``tested_on`` (the datasets whose
    samples were scored, in MEGC2019's order: a LODO run of some folds tests those folds' datasets only) and, for a
    run of several datasets, ``per_dataset``: per tested dataset its ``n_seeds``, ``n`` (the first seed's samples),
    ``mean`` and ``std`` over seeds and ``trained_on`` (LODO: the other datasets; None under LOSO, whose folds train
    on every dataset's other subjects).
    """
    r = compute_report(run_dir, selection)
    out = {"run": r["run"], "path": str(run_dir), "complete": r["complete"], "selection": r["selection"],
           "dataset": r["config_summary"].get("data.dataset"), "scheme": r["config_summary"].get("data.scheme"),
           "n_samples": r["n_samples"], "n_folds": r["n_folds"],
           **{k: r["headline"][k] for k in ("per_seed", "mean", "std", "std_ddof", "n_seeds")}}
    ci = r["headline"]["ci"]
    subj = ci["subjects"]
    out["ci"] = subj["mean"] or (next(iter(subj["per_seed"].values())) if len(subj["per_seed"]) == 1 else None)
    units = list(subj["n_units"].values())
    n_subjects = min(units) if units else None  # the seeds test the same subjects but for a partial run's
    out.update(n_subjects=n_subjects, ci_rough=None if n_subjects is None else n_subjects < VERDICT_MIN_SUBJECTS,
               ci_method=f"{ci['method']} over subjects"
               + (" (stratified by dataset)" if subj.get("stratified_by") else "")
               + f", {ci['resamples']:,} resamples, random seed {ci['seed']}",
               chance=1 / len(r["classes"]), vs_chance=chance_standing(r), verdict=chance_verdict(r))
    out.update(datasets_tested(r))
    if PAPER_KEY in r:
        out[PAPER_KEY] = {"label": optimistic_label(r), **{k: r[PAPER_KEY][k] for k in ("per_seed", "mean", "std")}}
    return out

