"""Spotting: finding where facial motion happens in time.

    apex.py    the apex of a clip: the frame of largest motion relative to the onset (used by the
               SMIC loader, which has no annotated apex, and by predict)
"""

from .apex import frame_cells, motion_curve, spot_apex

__all__ = ["spot_apex", "motion_curve", "frame_cells"]
