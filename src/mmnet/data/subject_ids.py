"""How a user may write a subject: as the sample ids write it (CASME II's ``01``), as its folder is named
(``sub01``), with its number padded or not (SAMM's ``6`` for ``006``, SMIC's ``s01`` for ``s1``), in any case, and
optionally as ``<dataset>/<subject>``. Shared by ``mmnet train --folds`` and ``mmnet cache prune --subject``, so that
a subject one of them accepts the other finds too.
"""

from __future__ import annotations

import re

__all__ = ["names_subject"]

# a subject's folder where its name differs from the subject's id: CASME II's sub01/ holds subject '01'
# (data/casme2.py); SMIC's, SAMM's and CASME^3's folders are named as their subjects
_SUBJECT_FOLDER_PREFIX = {"casme2": "sub"}


def _subject_key(dataset: str, subject: str) -> tuple[str, int]:
    """A subject as its letters and number: 'sub01' of CASME II and '1' are ('', 1); SMIC's 's01' and 's1' are
    ('s', 1); a subject without a number is itself."""
    text = subject.strip().casefold()
    prefix = _SUBJECT_FOLDER_PREFIX.get(dataset.casefold(), "")
    if prefix and text.startswith(prefix) and text[len(prefix):].isdecimal():
        text = text[len(prefix):]
    match = re.fullmatch(r"(\D*?)(\d+)", text)
    return (match[1], int(match[2])) if match else (text, -1)


def names_subject(dataset: str, subject: str, word: str) -> bool:
    """Whether ``word`` (a subject, or dataset/subject) names subject ``subject`` of ``dataset``."""
    asked_dataset, _, asked = word.strip().rpartition("/")
    if asked_dataset and asked_dataset.casefold() != dataset.casefold():
        return False
    return _subject_key(dataset, subject) == _subject_key(dataset, asked)
