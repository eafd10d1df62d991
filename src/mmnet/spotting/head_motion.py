"""The head's own motion between two face crops, fitted to the flow of the face's rigid parts and removed.

An aligned crop still moves with the head between two frames of a pair: it shifts (translation), turns in the
picture plane (roll) and grows or shrinks (the head nearer or farther). A translation, the nose ridge's mean flow,
leaves a roll's motion in the flow: it grows with the distance from the nose, so that the brows and the mouth
corners move by up to a pixel a pair when the head rolls by 2 degrees every few seconds, as much as a
micro-expression. So the flow of the rigid parts (``Regions.rigid``: the nose, and the sides of the face at the
eyes' height down to the nose tip, which expressions move little) is fitted with a similarity (translation,
rotation, scale; least squares from the median flow, twice, each on the samples the fit before fitted well, so that
a part an expression does move there is left out), and the motion it predicts at every pixel of the crop is
subtracted. Turning sideways and nodding move the face out of the picture plane: no similarity, only partly removed.
A turn and scale that move the measured regions by less than ``TURN[0]`` px are the fit's own noise (or an
expression the fit could not leave out): then the nose ridge's mean flow alone is removed, as before, so that a face
that does not roll is measured as it was. About 0.2 ms a pair on a 140 x 170 crop, against about 3 ms for its DIS
flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # Regions.head makes one: no import back at run time
    from .regions import Regions

__all__ = ["HeadMotion"]

#: A sample is left out of the next fit when its residual is over this many times the median residual.
TRIM = 2.0
#: ... and never when it is within this many crop pixels (a fit that is already good keeps every sample).
FLOOR = 0.05
#: The fit takes every SPACING-th row and column of the rigid parts.
SPACING = 3
#: Least-squares fits, each on the samples the fit before fitted well.
ROUNDS = 2
#: The fitted turn's and scale's largest motion at a measured region (crop pixels) from which it is removed
#: in part, and in full.
TURN = (0.25, 0.5)


class HeadMotion:
    """The rigid samples' positions of one ``Regions`` and the crop's pixel grid, for ``remove``."""

    def __init__(self, regions: Regions):
        h, w = regions.shape
        rigid = regions.rigid if regions.rigid is not None else regions.reference
        self.regions = regions
        ys, xs = np.divmod(rigid, w)
        # every other row and column: the flow is smooth at that scale, and the fit stays a small part of a pair's cost
        every = (ys % SPACING == 0) & (xs % SPACING == 0)
        if every.sum() >= 8:
            rigid, ys, xs = rigid[every], ys[every], xs[every]
        self.idx = rigid
        # centred on the samples, so that the sums stay small and well conditioned
        self.cx, self.cy = float(xs.mean()), float(ys.mean())
        self.x, self.y = xs - self.cx, ys - self.cy
        # a spread of under a pixel cannot tell a turn from a shift: then only the translation is removed
        self.turns = float((self.x ** 2 + self.y ** 2).mean()) >= 1.0
        ys_m, xs_m = np.divmod(np.concatenate([np.zeros(0, np.int64), *regions.measured.values()]), w)
        # no measured region in the crop (landmarks far off): no reach, so only the translation is removed
        self.reach = float(np.sqrt(((xs_m - self.cx) ** 2 + (ys_m - self.cy) ** 2).max())) if xs_m.size else 0.0
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.gx, self.gy = (gx - self.cx).ravel(), (gy - self.cy).ravel()

    def fit(self, u: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
        """(tx, ty, a, b): the flow at crop pixel (x, y), centred, is (tx + a x - b y, ty + b x + a y)."""
        su, sv, x, y = u[self.idx].astype(np.float64), v[self.idx].astype(np.float64), self.x, self.y
        # from the median flow (a shift that a part moved by an expression does not pull), then least squares on
        # the samples the last fit fitted well: a part an expression moves, or a flow error, is left out
        tx, ty, a, b = float(np.median(su)), float(np.median(sv)), 0.0, 0.0
        for _ in range(ROUNDS):
            res = np.hypot(su - (tx + a * x - b * y), sv - (ty + b * x + a * y))
            keep = res <= max(TRIM * float(np.median(res)), FLOOR)
            if keep.sum() < max(8, su.size // 4):
                break
            tx, ty, a, b = self._solve(su[keep], sv[keep], x[keep], y[keep])
        return tx, ty, a, b

    def _solve(self, su, sv, x, y) -> tuple[float, float, float, float]:
        """The least-squares similarity of the samples: closed form, about their own centre."""
        mx, my, mu, mv = x.mean(), y.mean(), su.mean(), sv.mean()
        a = b = 0.0
        if self.turns:
            xc, yc, uc, vc = x - mx, y - my, su - mu, sv - mv
            den = float(xc @ xc + yc @ yc)
            if den > 0:
                a, b = float(xc @ uc + yc @ vc) / den, float(xc @ vc - yc @ uc) / den
        return float(mu - a * mx + b * my), float(mv - b * mx - a * my), a, b

    def remove(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The flat flow ``u``, ``v`` (crop pixels) less the head's motion fitted to it."""
        ref = self.regions.reference
        tu, tv = float(u[ref].mean()), float(v[ref].mean())
        tx, ty, a, b = self.fit(u, v)
        # the turn and scale the fit found, as the largest motion they give a measured region; under TURN[0] px it
        # is the fit's own noise, and the nose ridge's mean flow is removed alone (a face that does not roll is
        # measured as before); past TURN[1] the fitted motion is removed, and in between a blend of the two
        turn = float(np.hypot(a, b)) * self.reach
        w = min(max((turn - TURN[0]) / (TURN[1] - TURN[0]), 0.0), 1.0)
        if not np.isfinite(w) or w == 0.0:  # a fit made of non-finite flow is no motion to remove
            return u - tu, v - tv
        gx, gy = self.gx, self.gy
        pu, pv = tx + a * gx - b * gy, ty + b * gx + a * gy
        if w < 1.0:
            pu, pv = w * pu + (1 - w) * tu, w * pv + (1 - w) * tv
        return u - pu, v - pv
