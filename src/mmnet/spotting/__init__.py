"""Spotting: finding where facial motion happens in time.

What each module holds: docs/architecture.md, "Package map". A spotter of one's own: ``Spotter`` (``base.py``) and
``spot_scores`` (``scores.py``), docs/spotting.md, "A spotter of your own"."""

from .apex import frame_cells, motion_curve, spot_apex
from .base import Spotter, load_spotter
from .scores import spot_scores

__all__ = ["spot_apex", "motion_curve", "frame_cells", "Spotter", "load_spotter", "spot_scores"]
