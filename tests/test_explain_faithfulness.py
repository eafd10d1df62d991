"""Grad-CAM points where the motion that drove the decision is (deletion check), and splits exactly into the motion
branch's and the PC branch's parts.

The faithfulness model: MMNet at 64 px with trained-like BatchNorm (test_inference.perturb_bn) and a linear head
trained (ridge regression, in closed form: no optimiser loop) on synthetic pairs of one face (mmnet.synth) in which
"surprise" raises the brows (AU 1+2) and "happiness" the cheeks and lip corners (AU 6+12). One face, so the PC
branch, which reads the onset's appearance, cannot tell the classes apart: the decision rests on where the motion is.
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from mmnet import MMNet, synth
from mmnet.infer import Predictor, explain_pair, render_explanation
from mmnet.infer.attribution import cell_mask, deletion_check, deletion_verdict, faithful, gradcam_heading
from mmnet.infer.explain_record import figure_record, save_maps
from mmnet.infer.gradcam import cam_weights, channel_sum
from mmnet.model import CheckpointInfo
from mmnet.synth.motion import Nuisance, displacement_field, parse_aus, render_clip

from .test_inference import make_checkpoint, perturb_bn, synthetic_clip

MAKE_CHECKPOINT = make_checkpoint  # the conftest's checkpoint fixture: 64 px, 3 classes, untrained head
CLASSES = {"surprise": "1+2", "happiness": "6+12"}


def _pairs(per_class: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(onset, apex, class) of one synthetic 64-px face, each class's action units at 2-4 px."""
    face = synth.subject_face(0, 1, synth.SynthConfig(image_size=(64, 64)))
    out = []
    for c, aus in enumerate(CLASSES.values()):
        for i in range(per_class):
            rng = np.random.default_rng([seed, c, i])
            units = parse_aus(aus)
            frames = render_clip(face, displacement_field(face, units, [rng.uniform(2, 4)] * len(units)), 2, 1, rng,
                                 Nuisance())
            out.append((frames[0], frames[1], c))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A Predictor whose head is trained on synthetic motion, and held-out pairs of the same face."""
    torch.manual_seed(0)
    model = MMNet(num_classes=2, image_size=64)
    perturb_bn(model)
    path = tmp_path_factory.mktemp("faithful") / "model"
    model.save_pretrained(path, CheckpointInfo(class_names=list(CLASSES),
                                               preprocessing={"image_size": 64, "mean": [0.5] * 3, "std": [0.25] * 3}))
    predictor = Predictor.from_checkpoint(path)
    train = _pairs(6, seed=0)
    prep, net = predictor.preprocessing, predictor.model
    with torch.inference_mode():
        x = net.forward_features(prep.to_tensor([p[0] for p in train]), prep.to_tensor([p[1] for p in train]))[0]
    x = x.flatten(1).double()
    mean = x.mean(0)
    x = x - mean
    targets = 1.5 * (2 * torch.nn.functional.one_hot(torch.tensor([p[2] for p in train]), 2).double() - 1)
    gram = x @ x.T
    dual = torch.linalg.solve(gram + 0.1 * gram.trace() / len(gram) * torch.eye(len(gram), dtype=gram.dtype), targets)
    weight = (x.T @ dual).T  # ridge regression on the fused features
    with torch.no_grad():
        net.head.weight.copy_(weight.float())
        net.head.bias.copy_((-(weight @ mean)).float())
    return predictor, _pairs(1, seed=1)


def _faithful(drop_top: float, d: dict) -> bool:
    """Deleting the motion in the top cells costs the class 3 times what random or lowest cells do (and > 0.006)."""
    return drop_top > 3 * max(d["drop_random"], d["drop_lowest"], 0.002)


@pytest.mark.slow
def test_deleting_the_motion_in_the_top_grad_cam_cells_costs_the_class_most(trained):
    predictor, pairs = trained
    for onset, apex, c in pairs:
        e = explain_pair(predictor, onset, apex)
        assert e.label == list(CLASSES)[c]  # the model decides by the motion
        d = e.deletion
        assert (d["cells"], d["of"], d["random_draws"]) == (2, 16, 4)
        # The map, and its motion branch's part, point at the decisive motion: deleting it there costs the class
        # several times what deleting as many random or lowest cells does.
        assert _faithful(d["drop_top"], d) and _faithful(d["drop_top_motion_part"], d), d
        # The same check fails for maps that point elsewhere: flipped upside down, or the lowest cells on top.
        x_on, x_ap = (predictor.preprocessing.to_tensor([f]) for f in (onset, apex))
        target, p = list(CLASSES).index(e.target_class), e.probabilities[e.target_class]
        motion = e.gradcam_parts["motion"]
        for wrong in (motion[::-1], -motion):
            bad = deletion_check(predictor.model, x_on, x_ap, wrong, target, p)
            assert not _faithful(bad["drop_top"], bad), (bad, d)


def test_the_deleted_cells_are_where_the_figure_draws_them(predictor):
    model = predictor.model  # 64 px: 4 x 4 cells, cell j centred on input pixel 16 j, shifted inside the image
    mask = cell_mask(model, [0, 5, 15], (4, 4), 64).numpy()
    want = np.zeros((64, 64), bool)
    want[0:16, 0:16] = want[8:24, 8:24] = want[40:56, 40:56] = True
    np.testing.assert_array_equal(mask, want)
    # every cell deletes as many pixels (an edge cell clipped to 8 px would make random cells delete fewer than top
    # ones), at 224 px too (14 x 14 cells)
    for size, side in ((64, 4), (224, 14)):
        areas = {int(cell_mask(model, [c], (side, side), size).sum()) for c in range(side * side)}
        assert areas == {16 * 16}, (size, areas)
    onset, apex = synthetic_clip(10, 6, size=(96, 80), noise=0.0)[1::6]
    x_on, x_ap = (predictor.preprocessing.to_tensor([f]) for f in (onset, apex))
    # no motion anywhere: nothing to delete, every drop is zero
    with torch.inference_mode():
        p = float(torch.softmax(model(x_on, x_on), 1)[0, 0])
    d = deletion_check(model, x_on, x_on, np.arange(16.0).reshape(4, 4), 0, p)
    assert d["drop_top"] == pytest.approx(0, abs=1e-6) and d["drop_random"] == pytest.approx(0, abs=1e-6)


def _scale_pc(model, scale: float) -> None:
    with torch.no_grad():  # the PC tokens come out of its final LayerNorm: scaling its affine terms scales them
        model.pc_module.norm.weight.mul_(scale)
        model.pc_module.norm.bias.mul_(scale)


def test_grad_cam_splits_into_the_motion_and_pc_parts(checkpoint):
    predictor = Predictor.from_checkpoint(checkpoint)
    model, prep = predictor.model, predictor.preprocessing
    onset, apex = synthetic_clip(10, 6, size=(96, 80), noise=0.0)[1::6]
    e = explain_pair(predictor, onset, apex, check_deletion=False)
    assert e.deletion is None
    x_on, x_ap = (prep.to_tensor([f]) for f in (onset, apex))
    target = predictor.class_names.index(e.target_class)
    with torch.inference_mode():  # the two summands, computed here on their own
        features = model.forward_features(x_on, x_ap)[0]
        motion = model.main_branch(model.motion_stem(x_ap - x_on))[0]
        pc = model.pc_module(x_on)
    w = cam_weights(model, features, target)
    np.testing.assert_allclose(e.gradcam_parts["motion"], channel_sum(w, motion).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.gradcam_parts["pc"], channel_sum(w, pc).numpy(), rtol=1e-4, atol=1e-5)
    whole = e.gradcam_parts["motion"] + e.gradcam_parts["pc"]
    np.testing.assert_allclose(np.maximum(whole, 0), e.gradcam_native, rtol=1e-5, atol=1e-6)  # the parts sum to it
    shown = e.gradcam_native > 0
    assert shown.any() and e.gradcam_shares["motion"] + e.gradcam_shares["pc"] == pytest.approx(1.0, abs=1e-6)
    assert e.gradcam_shares["pc"] == pytest.approx(e.gradcam_parts["pc"][shown].sum() / e.gradcam_native.sum())

    _scale_pc(model, 2.0)  # twice the PC tokens: twice its part, the motion branch's part unchanged
    doubled = explain_pair(predictor, onset, apex, target_class=e.target_class, check_deletion=False)
    np.testing.assert_allclose(doubled.gradcam_parts["pc"], 2 * e.gradcam_parts["pc"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(doubled.gradcam_parts["motion"], e.gradcam_parts["motion"], rtol=1e-4, atol=1e-5)
    _scale_pc(model, 0.0)  # no PC contribution: no PC share, the map is all motion
    alone = explain_pair(predictor, onset, apex, target_class=e.target_class, check_deletion=False)
    assert not alone.gradcam_parts["pc"].any() and alone.gradcam_shares == {"motion": 1.0, "pc": 0.0}
    np.testing.assert_allclose(alone.gradcam_parts["motion"], e.gradcam_parts["motion"], rtol=1e-4, atol=1e-5)


def test_the_figure_and_its_record_give_the_shares_and_the_deletion_check(predictor, tmp_path):
    onset, apex = synthetic_clip(10, 6, size=(96, 80), noise=0.0)[1::6]
    e = explain_pair(predictor, onset, apex)
    with Image.open(render_explanation(e, tmp_path / "f.png", dpi=30)) as im:
        record = json.loads(im.text["mmnet.gradcam"])
    assert record["shares"] == e.gradcam_shares and record["deletion_check"] == json.loads(json.dumps(e.deletion))
    assert {"drop_top", "drop_random", "drop_lowest", "drop_top_motion_part"} <= set(record["deletion_check"])
    assert "deletion_check" in record["method"] and "not tested" not in record["method"]
    with np.load(save_maps(e, tmp_path / "maps.npz", figure_record(e, alpha=0.6, cmap="viridis",
                                                                    shared_scale=False))) as saved:
        np.testing.assert_array_equal(saved["gradcam_pc"], e.gradcam_parts["pc"].astype(np.float32))
        assert saved["gradcam_motion"].shape == (4, 4)
    from matplotlib.figure import Figure

    from mmnet.infer.explain import draw_explanation

    fig = Figure()
    draw_explanation(fig, e)
    heading = " ".join(fig.subfigs[0]._suptitle.get_text().split())
    m, p = (f"{100 * e.gradcam_shares[k]:.0f} %" for k in ("motion", "pc"))
    assert f"motion branch {m}, PC branch {p} of its positive attribution" in heading
    assert (f"deletion check: removing the motion in its top 2 of 16 cells lowers the score of {e.target_class} by"
            in heading)
    assert heading.endswith(" ".join(deletion_verdict(e.deletion).split()))
    e.gradcam_shares = {"motion": -0.002, "pc": 1.002}  # a share just below zero is "0 %", never "-0 %"
    assert "motion branch 0 %, PC branch 100 % of its positive attribution" in gradcam_heading(e)
    e.deletion = None  # not measured: the figure says so
    fig = Figure()
    draw_explanation(fig, e)
    assert "not tested for faithfulness" in fig.subfigs[0]._suptitle.get_text().replace("\n", " ")


def _heading(**drops) -> str:
    d = {"cells": 2, "of": 16, "drop_random": 0.03, "drop_lowest": 0.01, **drops}
    e = SimpleNamespace(target_class="others", label="others", gradcam_shares=None, deletion=d, main_input="difference")
    return gradcam_heading(e)


def test_the_heading_says_whether_the_map_points_at_the_motion():
    # the heading gave the deletion check's numbers, "lowers the score of others by -0.01" for a rise, and never
    # whether they mean that the map can be trusted
    raised = _heading(drop_top=-0.012)
    assert ("deletion check: removing the motion in its top 2 of 16 cells raises the score of others by 0.01, in 2 "
            "random cells lowers it by 0.03, in its 2 lowest by 0.01: the map does not clearly point at the "
            "motion behind this prediction (removing the motion in its top cells raises the score instead of lowering "
            "it)") in raised  # it said "lowers the score by no more than 0.006" of a rise
    assert "by -" not in raised
    # the verb left out where it matched the top clause's, not the clause before: the lowest cells "raised" it
    assert _heading(drop_top=0.05, drop_random=-0.02, drop_lowest=0.03).endswith(
        "top 2 of 16 cells lowers the score of others by 0.05, in 2 random cells raises it by 0.02, in its 2 lowest "
        "lowers it by 0.03: the map does not clearly point at the motion behind this prediction (removing the motion "
        "in its top cells lowers the score no more than 3 times what removing it in random cells or in its lowest "
        "cells does)")
    assert _heading(drop_top=0.004, drop_random=0.0, drop_lowest=0.0).endswith(
        "(removing the motion in its top cells lowers the score by no more than 0.006)")
    assert _heading(drop_top=0.34, drop_random=0.05, drop_lowest=0.0).endswith(
        "lowers the score of others by 0.34, in 2 random cells by 0.05, in its 2 lowest by 0.00: the map points at "
        "the motion behind this prediction")
    assert _heading(drop_top=0.09).endswith(  # 3 times the random drop, not more
        "the map does not clearly point at the motion behind this prediction (removing the motion in its top cells "
        "lowers the score no more than 3 times what removing it in random cells or in its lowest cells does)")
    assert "random cells" not in _heading(drop_top=0.2, drop_random=None)  # no random draws: none said


@pytest.mark.parametrize("top", [-0.02, 0.0, 0.006, 0.0061, 0.05, 0.0901, 0.2])
@pytest.mark.parametrize("random, lowest", [(0.0, 0.0), (0.03, 0.0), (0.0, 0.03), (-0.01, 0.002), (None, 0.01)])
def test_the_verdict_follows_the_documented_rule(top, random, lowest):
    d = {"drop_top": top, "drop_random": random, "drop_lowest": lowest}
    rule = top > 3 * max(x for x in (random, lowest, 0.002) if x is not None)  # docs/inference.md, as _faithful
    assert faithful(d) is rule
    assert deletion_verdict(d).startswith("the map points at" if rule else "the map does not clearly point at")
