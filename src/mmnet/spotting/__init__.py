"""Spotting: finding where facial motion happens in time.

    apex.py          the apex of a clip: the frame of largest motion relative to the onset (used by the
                     SMIC loader, which has no annotated apex, and by predict)
    config.py        the long-video spotter's parameters (published per-dataset presets, overrides)
    regions.py       facial regions on the spotter's crop (brows, mouth; nose reference; eye masks)
    flow_spotter.py  a long recording -> per-frame optical-flow motion curves, streaming
    peaks.py         motion curves -> micro- and macro-expression intervals
    spotter.py       spot_recording: one recording end to end (SpotResult, JSON, CSV)
    timeline.py      the timeline figure of a spotted recording
    learned.py       FlowSpotter / LearnedSpotter (one interface: fit, spot, save, load), make_spotter
    learned_net.py   the learned spotter's features, pseudo-labels and SoftNet-like network
    loso.py          loso_spotting: leave-one-subject-out evaluation of a spotter, MEGC-scored
"""

from .apex import frame_cells, motion_curve, spot_apex

__all__ = ["spot_apex", "motion_curve", "frame_cells"]
