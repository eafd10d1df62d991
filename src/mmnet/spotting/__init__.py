"""Spotting: finding where facial motion happens in time.

What each module holds: docs/architecture.md, "Package map"."""

from .apex import frame_cells, motion_curve, spot_apex

__all__ = ["spot_apex", "motion_curve", "frame_cells"]
