"""The note on an attention figure's faces: the figure shows the input's onset and apex frames, whose publication
is for the agreement covering those recordings to allow (``mmnet explain``'s output and PNG, the server's result).
The licence line of the model (``provenance.licence_note``) is about its training data, not these faces."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FACES_NOTE", "faces_note"]

#: The note for any input (an upload, a clip outside every known dataset layout).
FACES_NOTE = ("the figure shows the input's face frames: publish it only as the agreement covering those recordings "
              "allows (datasets' release agreements usually restrict which participants' faces may appear in papers)")


def faces_note(source: str | Path | None) -> str:
    """:data:`FACES_NOTE`, naming the dataset and its owner when ``source`` lies in a known dataset layout
    (:func:`mmnet.data.dataset_of_path.dataset_of`)."""
    if not source:
        return FACES_NOTE
    from ..data.dataset_of_path import dataset_of
    from ..data.releases import RELEASES

    dataset = dataset_of(source)
    if dataset is None:
        return FACES_NOTE
    release = RELEASES[dataset]
    where = f", request page {release.page}" if release.page else ""
    return (f"the figure shows the input's face frames, of {release.name} (its folder layout; released by "
            f"{release.owner}{where}): publish it only as the agreement covering those recordings allows "
            "(datasets' release agreements usually restrict which participants' faces may appear in papers)")
