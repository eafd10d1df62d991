"""What a Grad-CAM map of MMNet is made of, and whether it points where the motion that drove the decision is.

**Shares.** The classifier reads the sum of two (1, 512, S/16, S/16) maps: the motion branch's stage-4 features and
the position-calibration (PC) tokens of the onset face. Before its ReLU, Grad-CAM is linear in the features
(:func:`mmnet.infer.gradcam.channel_sum`), so the map splits exactly into the motion branch's map and the PC
branch's map (:func:`split_grad_cam`). Summed over the cells the map shows (those above zero), and divided by the
map's total there, they are the two branches' shares of its positive attribution: they add up to 1. A share can
fall below 0 (or the other rise above 1) where the two branches push a cell opposite ways.

**Deletion check.** :func:`deletion_check` removes the motion (the apex set to the onset, so that the network sees
no motion there) in the input pixels of the map's top k cells, of k random cells and of its k lowest cells, and
measures how much the target class's score (its softmax output) drops each time. A map that points where the
decisive motion is costs the class more when its top cells are deleted than random cells do; a map that points
elsewhere (flipped, random) does not. It tests the motion branch's part only: deleting motion leaves the onset face,
which the PC branch reads, untouched.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .gradcam import NO_PC, cam_weights, channel_sum, main_cell_centres

__all__ = ["DELETION_FRACTION", "DELETION_DRAWS", "FAITHFUL_RATIO", "FAITHFUL_FLOOR", "split_grad_cam",
           "deletion_check", "cell_mask", "gradcam_heading", "faithful", "deletion_verdict"]

DELETION_FRACTION = 0.1  # k: a tenth of the map's cells (20 of 14 x 14, 2 of 4 x 4), at least one
DELETION_DRAWS = 4  # random k-cell sets averaged: with the top, lowest and motion-part sets, one batch of 7
# docs/inference.md's rule: the top cells' drop more than FAITHFUL_RATIO times the random and the lowest cells' drops,
# and more than FAITHFUL_FLOOR (a smaller drop is noise, not a point made)
FAITHFUL_RATIO = 3
FAITHFUL_FLOOR = 0.006


def split_grad_cam(model, features: torch.Tensor, onset: torch.Tensor, target: int) -> dict:
    """Grad-CAM of class ``target`` for (1, 512, S/16, S/16) fused ``features`` of the (1, 3, S, S) ``onset``, split
    into the two branches' parts.

    Returns a dict: ``cam``, the (S/16, S/16) Grad-CAM map (ReLU of the weighted channel sum); ``signed``, the map
    before its ReLU; ``parts``, the signed
    maps before the ReLU of the motion branch (``motion``) and of the PC branch (``pc``, zero without PC), which add
    up to the map before its ReLU; ``shares``, ``{"motion": m, "pc": p}``, each part's sum over the cells where the
    map is above zero divided by the map's sum there (m + p = 1), or None where the map is zero everywhere.
    """
    weights = cam_weights(model, features, target)
    total = channel_sum(weights, features)
    if model.pc_module is None:
        pc = torch.zeros_like(total)
    else:
        with torch.inference_mode():  # the PC tokens alone: forward_features adds them to the motion branch's map
            pc = channel_sum(weights, model.pc_module(onset))
    motion = total - pc  # the motion branch's map: the weighted sum is linear in the features
    shown = total > 0
    denominator = float(total[shown].sum())
    shares = None
    if denominator > 0:
        shares = {"motion": float(motion[shown].sum()) / denominator, "pc": float(pc[shown].sum()) / denominator}
    return {"cam": torch.relu(total).cpu().numpy(), "signed": total.cpu().numpy(),
            "parts": {"motion": motion.cpu().numpy(), "pc": pc.cpu().numpy()}, "shares": shares}


def cell_mask(model, cells, grid: tuple[int, int], size: int, device=None) -> torch.Tensor:
    """(S, S) bool: the input pixels of Grad-CAM cells ``cells`` (flat indices into the ``grid``), each the
    stride x stride square centred where the figure draws the cell (:func:`mmnet.infer.gradcam.main_cell_centres`:
    the motion branch's stage-4 cell), shifted inside the image where it would cross an edge: every cell deletes
    the same area (clipped, an edge cell would delete less, and random cells, often at an edge, less than top ones)."""
    stride, first = main_cell_centres(model)
    mask = torch.zeros(size, size, dtype=torch.bool, device=device)
    step = min(int(round(stride)), size)
    for index in np.asarray(cells).ravel():
        i, j = divmod(int(index), grid[1])
        top, left = (min(max(math.floor(first + stride * c - stride / 2 + 0.5), 0), size - step) for c in (i, j))
        mask[top:top + step, left:left + step] = True
    return mask


def deletion_check(model, onset: torch.Tensor, apex: torch.Tensor, cam: np.ndarray, target: int, probability: float,
                   *, motion: np.ndarray | None = None, fraction: float = DELETION_FRACTION,
                   draws: int = DELETION_DRAWS, seed: int = 0) -> dict:
    """How much class ``target``'s score (its softmax output: ``probability`` for the pair as it is) drops when the
    motion is removed (apex := onset) in the (1, 3, S, S) input pixels of ``cam``'s top k cells, of k random cells
    (the mean of ``draws`` sets, drawn with ``seed``: the same figure gives the same numbers), of its k lowest cells
    and, given ``motion`` (the motion branch's part of the map), of that part's top k cells; k is ``fraction`` of the
    cells (at least 1). Pass the map before its ReLU: where fewer than k cells are above zero, it still ranks the
    others."""
    flat = np.asarray(cam, np.float64).ravel()
    n = flat.size
    k = max(1, round(fraction * n))
    rng = np.random.default_rng(seed)
    sets = [np.argsort(-flat, kind="stable")[:k], np.argsort(flat, kind="stable")[:k]]
    sets += [rng.choice(n, size=k, replace=False) for _ in range(draws)]
    if motion is not None:  # the motion branch's part ranked alone: what deleting motion can test
        sets.append(np.argsort(-np.asarray(motion, np.float64).ravel(), kind="stable")[:k])
    size = onset.shape[-1]
    masks = torch.stack([cell_mask(model, s, cam.shape, size, onset.device) for s in sets])[:, None]  # (m, 1, S, S)
    with torch.inference_mode():
        deleted = torch.where(masks, onset, apex)  # (m, 3, S, S): no motion in the chosen cells
        logits = model(onset.expand_as(deleted), deleted)
        p = torch.softmax(logits.float(), dim=1)[:, target].cpu().numpy()
    drops = probability - p
    return {"cells": k, "of": n, "probability": probability, "drop_top": float(drops[0]),
            "drop_random": float(drops[2:2 + draws].mean()) if draws else None, "drop_lowest": float(drops[1]),
            "drop_top_motion_part": float(drops[-1]) if motion is not None else None,
            "random_draws": draws, "seed": seed,
            "how": "apex set to onset (no motion) in each cell's stride x stride input pixels, centred where the "
                   "figure draws the cell, shifted inside the image at its edges (every cell the same area); "
                   "drop = score of the target class before minus after"}


def gradcam_heading(e) -> str:
    """The heading of the figure's top row: the Grad-CAM map's class, the two branches' shares of it and the deletion
    check (or that its faithfulness is not tested); ``e`` is an :class:`mmnet.infer.explain.Explanation`."""
    which = "the predicted class" if e.target_class == e.label else "chosen"
    text = f"inputs, and class-specific Grad-CAM of {e.target_class} ({which})"
    if e.gradcam_shares is not None:  # an apex-only model's main branch reads no motion: named for what it reads
        main = "main branch (apex frame)" if e.main_input == "apex" else "motion branch"
        if e.pc_offset is None:  # no PC branch (Explanation.pc_offset): not "PC branch 0 %" of a part that is not there
            text += f": all of its positive attribution in the {main}, as {NO_PC}"
        else:
            text += (f": {main} {_percent(e.gradcam_shares['motion'])} %, PC branch "
                     f"{_percent(e.gradcam_shares['pc'])} % of its positive attribution")
    d = e.deletion
    if d is None:
        return text + "; not tested for faithfulness"
    k = d["cells"]
    top = _change(d["drop_top"])
    clauses = [f"removing the motion in its top {k} of {d['of']} cells {top[0]} the score of {e.target_class} by "
               f"{top[1]}"]
    said = top[0]
    for where, drop in ((f"in {k} random cells", d["drop_random"]), (f"in its {k} lowest", d["drop_lowest"])):
        if drop is not None:  # the verb said again only where it changes from the clause before: "lowers ..., in k
            verb, size = _change(drop)  # random cells by ..."
            clauses.append(f"{where} {'' if verb == said else verb + ' it '}by {size}")
            said = verb
    return f"{text}; deletion check: {', '.join(clauses)}: {deletion_verdict(d)}"


def faithful(d: dict) -> bool:
    """Whether a :func:`deletion_check` says the map points at the motion that drove the prediction: deleting the
    motion in its top cells lowers the score more than ``FAITHFUL_RATIO`` times as much as in random cells and in its
    lowest cells, and by more than ``FAITHFUL_FLOOR`` (docs/inference.md, Is the Grad-CAM map faithful?)."""
    others = [v for v in (d["drop_random"], d["drop_lowest"]) if v is not None]
    return d["drop_top"] > max(FAITHFUL_RATIO * max(others, default=0.0), FAITHFUL_FLOOR)


def deletion_verdict(d: dict) -> str:
    """The plain reading of a :func:`deletion_check` (:func:`faithful`), as the figure's heading, ``mmnet explain``
    and the server's results give it."""
    if faithful(d):
        return "the map points at the motion behind this prediction"
    if _change(d["drop_top"])[0] == "raises":  # "lowers the score by no more than ..." would be true, but misleads
        why = "removing the motion in its top cells raises the score instead of lowering it"
    elif d["drop_top"] <= FAITHFUL_FLOOR:
        why = f"removing the motion in its top cells lowers the score by no more than {FAITHFUL_FLOOR:g}"
    else:
        why = (f"removing the motion in its top cells lowers the score no more than {FAITHFUL_RATIO} times what "
               "removing it in random cells or in its lowest cells does")
    return f"the map does not clearly point at the motion behind this prediction ({why})"


def _change(value: float) -> tuple[str, str]:
    """A score drop as a verb and a size to 2 decimals: ("raises", "0.01") for a drop of -0.01, ("lowers", "0.00")
    for a rounding-level rise (never "lowers ... by -0.01")."""
    size = _drop(abs(value))
    return ("raises" if value < 0 and size != "0.00" else "lowers"), size


def _drop(value: float) -> str:
    """A score drop to 2 decimals, without the "-0.00" of a rounding-level rise."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _percent(share: float) -> str:
    """A share in whole percent, without the "-0" of a share just below zero."""
    text = f"{100 * share:.0f}"
    return "0" if text == "-0" else text
