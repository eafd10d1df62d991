"""Running some folds of a run alone (``mmnet train --folds``): one direction of a leave-one-dataset-out run
(fold ``samm``: train on the other datasets, test on SAMM), or some subjects of a LOSO run.

The choice is not part of the experiment: the folds left out are simply not trained yet, so the report is
PARTIAL and says which ones; the same command without ``--folds`` later trains the rest into the same folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..data.subject_ids import names_subject
from ..errors import ConfigError, did_you_mean
from ..typed_separators import split_typed

__all__ = ["choose_folds"]


def choose_folds(folds: Sequence[tuple[str, list[int], list[int]]], asked: Iterable[str],
                 protocol: str = "loso") -> tuple[str, ...]:
    """The names of the run's folds that ``asked`` names, in the run's order.

    A name matches a fold's name in any case (LODO: the test dataset, ``samm``; LOSO: ``casme2/01``) or, under
    LOSO, its subject alone (``01``) when one dataset's only, the subject also as its folder is named (CASME II's
    ``sub01``) and with its number padded or not (``casme2/sub1``, SAMM's ``6`` for ``006``, SMIC's ``s01`` for a
    folder ``s1``). A name that matches no fold, or several, is a ConfigError listing the run's folds: a mistyped
    fold must not leave the user with a run of nothing."""
    names = [name for name, _, _ in folds]
    chosen: set[str] = set()
    for word in (w for a in asked for w in split_typed(str(a))):  # '，' separates as ',' (typed_separators)
        hits = [n for n in names if n.casefold() == word.casefold()]
        if not hits and protocol == "loso":
            hits = [n for n in names if _same_subject(n, word)]
            of_dataset = [n for n in names if n.rpartition("/")[0].casefold() == word.casefold()]
            if not hits and of_dataset:  # a dataset's name: its subjects' folds, or a LODO run, are meant
                raise ConfigError(f"--folds {word!r} is a dataset: under LOSO its folds are its subjects: "
                                  f"{', '.join(of_dataset)} (give them, comma-separated), or train with "
                                  "--protocol lodo to hold the whole dataset out.")
        if len(hits) != 1:
            what = ("its folds are named after the dataset each one tests (train on the others)" if protocol == "lodo"
                    else "its folds are named dataset/subject")
            why = f"names {len(hits)} folds ({', '.join(hits)}): give dataset/subject" if hits else "names no fold"
            shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
            raise ConfigError(f"--folds {word!r} {why} of this {protocol.upper()} run; {what}: {shown}."
                              + (did_you_mean(word, names) if not hits else ""))
        chosen.add(hits[0])
    if not chosen:
        raise ConfigError("--folds names no fold: give one or more fold names (e.g. --folds samm), or leave it out "
                          "to train every fold")
    return tuple(n for n in names if n in chosen)


def _same_subject(fold: str, word: str) -> bool:
    """Whether ``word`` (a subject, or dataset/subject) names the LOSO fold ``fold`` (dataset/subject)."""
    dataset, _, subject = fold.rpartition("/")
    return names_subject(dataset, subject, word)
