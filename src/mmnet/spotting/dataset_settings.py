"""What spotting keeps per long-video dataset beside its loader, looked up with one clear error.

A long-video dataset is registered in ``mmnet.data.LONG_VIDEO_DATASETS`` (its loader) and
``mmnet.choices.LONG_VIDEO_DATASETS`` (its name), and spotting needs two more entries:
``DATASET_PRESETS`` in ``spotting/config.py`` (the spotter's parameters) and ``DATASET_NUMBERS`` in
``spotting/megc_files.py`` (the MEGC2020 log's dataset number). ``check_long_video_dataset`` is
called before any work starts (train-spotter, a spot-then-recognise run), so a dataset missing
from either dict is refused at once, not after a LOSO has run for hours.
"""

from __future__ import annotations

from ..errors import ConfigError

__all__ = ["dataset_preset", "dataset_number", "check_long_video_dataset"]


def _missing(dataset: str, table: str, module: str, what: str) -> ConfigError:
    return ConfigError(f"long-video dataset {dataset!r} has no {what}: add it to {table} in src/mmnet/{module} "
                       "(docs/contributing.md, registering a long-video dataset).")


def dataset_preset(dataset: str) -> str:
    """The spotter preset of ``dataset`` (``DATASET_PRESETS``)."""
    from .config import DATASET_PRESETS

    if dataset not in DATASET_PRESETS:
        raise _missing(dataset, "DATASET_PRESETS", "spotting/config.py", "spotter preset")
    return DATASET_PRESETS[dataset]


def dataset_number(dataset: str) -> int:
    """The MEGC2020 log's dataset number of ``dataset`` (``DATASET_NUMBERS``)."""
    from .megc_files import DATASET_NUMBERS

    if dataset not in DATASET_NUMBERS:
        raise _missing(dataset, "DATASET_NUMBERS", "spotting/megc_files.py", "MEGC dataset number")
    return DATASET_NUMBERS[dataset]


def check_long_video_dataset(dataset: str) -> None:
    """Raise a ConfigError when ``dataset`` lacks any of spotting's per-dataset entries."""
    dataset_preset(dataset)
    dataset_number(dataset)
