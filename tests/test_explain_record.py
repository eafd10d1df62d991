"""The attention figure says what its maps are, records how it was made, draws each map cell where the network
centres it, and does not stretch the padding artefacts of a zero-motion input to full contrast."""

import json

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from mmnet import MMNet
from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.infer import Predictor, explain_pair, render_explanation
from mmnet.infer.explain import draw_explanation, upsample_map
from mmnet.model import CheckpointInfo
from mmnet.run_folder import file_sha256

from .test_inference import make_checkpoint, perturb_bn, synthetic_clip, write_frames

MAKE_CHECKPOINT = make_checkpoint  # the model conftest's checkpoint and predictor fixtures make in this module


@pytest.fixture(scope="module")
def pair():
    frames = synthetic_clip(10, 6, size=(96, 80), noise=0.0)
    return frames[1], frames[7]


def test_maps_are_class_independent_and_the_figure_says_so(checkpoint, pair):
    predictor = Predictor.from_checkpoint(checkpoint)
    e = explain_pair(predictor, *pair)
    with torch.no_grad():  # another classifier: the CA maps, computed before it, do not change
        predictor.model.head.weight.normal_(generator=torch.Generator().manual_seed(1))
    other = explain_pair(predictor, *pair)
    assert all(np.array_equal(a, b) for a, b in zip(e.attention, other.attention))
    fig = Figure()
    draw_explanation(fig, e)
    title = " ".join(fig.subfigs[1]._suptitle.get_text().split())  # the heading of the row of CA maps
    assert "class-independent CA attention of the motion branch" in title
    assert "not an attribution" in title and "(PC) branch is not shown" in title


def test_png_records_how_the_figure_was_made(checkpoint, pair, tmp_path):
    e = explain_pair(Predictor.from_checkpoint(checkpoint), *pair)
    with Image.open(render_explanation(e, tmp_path / "f.png", dpi=30, cmap="magma", alpha=0.5)) as im:
        text = dict(im.text)
    stages = json.loads(text["mmnet.stages"])
    assert [s["native_size"] for s in stages] == [[32, 32], [16, 16], [8, 8], [4, 4]]  # 64-px model
    assert [s["stride"] for s in stages] == [2, 4, 8, 16]
    assert "y / stride" in text["mmnet.interpolation"] and "own [min, max]" in text["mmnet.normalisation"]
    assert (text["mmnet.colour_map"], text["mmnet.alpha"], text["mmnet.image_size"]) == ("magma", "0.5", "64")
    assert "not tested for faithfulness" in text["mmnet.method"] and text["mmnet.version"]
    assert json.loads(text["mmnet.probabilities"]) == pytest.approx(e.probabilities)
    # no caption: the figure and its record say that the training is not recorded
    assert "not recorded" in text["mmnet.training"]


def test_cli_records_the_checkpoint_and_saves_the_native_maps(checkpoint, tmp_path, capsys):
    write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    out, maps = tmp_path / "f.png", tmp_path / "maps.npz"
    args = ["explain", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--apex", "4", "--out", str(out),
            "--dpi", "30", "--save-maps", str(maps)]
    assert main(args) == 0
    assert "maps at native size written to" in capsys.readouterr().out
    with Image.open(out) as im:
        text = dict(im.text)
    assert text["mmnet.checkpoint_sha256"] == file_sha256(checkpoint / "model.safetensors")
    assert (text["mmnet.aligned"], text["mmnet.onset"], text["mmnet.apex"]) == ("false", "1", "4")
    with np.load(maps) as saved:  # no pickle needed
        assert [saved[f"stage{k}"].shape for k in range(1, 5)] == [(32, 32), (16, 16), (8, 8), (4, 4)]
        assert saved["strides"].tolist() == [2, 4, 8, 16] and int(saved["image_size"]) == 64
        assert json.loads(str(saved["metadata"]))["mmnet.checkpoint_sha256"] == text["mmnet.checkpoint_sha256"]
    assert main(args[:-1] + [str(tmp_path / "maps.npy")]) == 3
    assert "must name a .npz file" in capsys.readouterr().err


def test_upsampled_cell_lies_on_the_input_pixel_it_is_centred_on():
    for stride in (2, 4, 8, 16):
        native = np.zeros((64 // stride, 64 // stride), np.float32)
        native[1, 2] = 1.0
        up = upsample_map(native, stride, 64)
        assert np.unravel_index(np.argmax(up), up.shape) == (stride, 2 * stride)
        assert up[stride, 2 * stride] == pytest.approx(1.0)


def test_impulse_of_motion_is_drawn_where_it_is():
    # Flip-symmetric kernels: each stage's response to a block centred on a multiple of 16 is symmetric about
    # that block, so the centroid of the change it makes to a map is the block's centre, unless the map is
    # drawn shifted (bilinear align_corners=False: 0.5, 1.5, 3.5 and 7.5 px down-right at stages 1-4).
    size, centre = 128, (48, 64)
    torch.manual_seed(0)
    model = MMNet(num_classes=3, image_size=size)
    perturb_bn(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                w = m.weight
                w.copy_((w + w.flip(-1) + w.flip(-2) + w.flip(-1, -2)) / 4)
    predictor = Predictor(model, CheckpointInfo(class_names=["a", "b", "c"], preprocessing={"image_size": size}))
    onset = np.zeros((size, size, 3), np.uint8)
    apex = onset.copy()
    apex[centre[0] - 3:centre[0] + 4, centre[1] - 3:centre[1] + 4] = 255
    moved, still = explain_pair(predictor, onset, apex), explain_pair(predictor, onset, onset)
    ys, xs = np.mgrid[:size, :size]
    for k, (a, b) in enumerate(zip(moved.attention, still.attention), start=1):
        change = np.abs(a - b).astype(np.float64)
        assert change.sum() > 0, f"stage {k} does not respond to the motion"
        offset = ((ys * change).sum() / change.sum() - centre[0], (xs * change).sum() / change.sum() - centre[1])
        assert offset == pytest.approx((0.0, 0.0), abs=0.05), f"stage {k} drawn {offset} px off"


def test_zero_motion_maps_are_greyed_on_a_fixed_scale(checkpoint, pair):
    predictor = Predictor.from_checkpoint(checkpoint)
    e = explain_pair(predictor, pair[0], pair[0])
    assert e.still and e.padding_only
    assert any(float(a.max() - a.min()) > 1e-3 for a in e.attention)  # the padding's edge effects are there
    fig = Figure()
    axes = draw_explanation(fig, e)
    for ax in axes[-4:]:  # the CA maps; the Grad-CAM panel reads the onset too
        overlay = ax.get_images()[-1]
        assert overlay.get_clim() == (0.0, 1.0) and overlay.get_cmap().name == "gray"
        assert "no motion" in ax.get_title()
        assert any("padding only" in t.get_text() for t in ax.texts)
    moving = explain_pair(predictor, *pair)
    assert not moving.padding_only
    fig = Figure()
    axes = draw_explanation(fig, moving)
    assert all(ax.get_images()[-1].get_clim() != (0.0, 1.0) for ax in axes[-4:])  # moving maps keep their range


def test_a_flat_map_is_not_stretched(checkpoint, pair):
    e = explain_pair(Predictor.from_checkpoint(checkpoint), *pair)
    e.attention[3] = np.full_like(e.attention[3], 0.5)
    e.attention[3][0, 0] = 0.5 + 1e-6  # a rounding-level bump would fill the whole colour range
    fig = Figure()
    axes = draw_explanation(fig, e)
    assert axes[-1].get_images()[-1].get_clim() == (0.0, 1.0) and "flat" in axes[-1].get_title()  # stage 4


def test_grad_cam_is_class_specific(checkpoint, pair):
    predictor = Predictor.from_checkpoint(checkpoint)
    e = explain_pair(predictor, *pair)
    assert e.target_class == e.label and e.gradcam_native.shape == (4, 4) and e.gradcam.shape == (64, 64)
    others = [explain_pair(predictor, *pair, target_class=c) for c in predictor.class_names if c != e.label]
    assert all(not np.allclose(o.gradcam_native, e.gradcam_native) for o in others)  # another class, another map
    # Grad-CAM by hand: the head is linear, so the gradient of a logit is its row of weights
    with torch.no_grad():
        x_on, x_ap = (predictor.preprocessing.to_tensor([f]) for f in pair)
        features = predictor.model.forward_features(x_on, x_ap)[0][0]  # (512, 4, 4)
        k = predictor.class_names.index(e.label)
        alpha = predictor.model.head.weight[k].view(features.shape).mean(dim=(1, 2))
        want = torch.relu((alpha[:, None, None] * features).sum(0)).numpy()
    np.testing.assert_allclose(e.gradcam_native, want, rtol=1e-4, atol=1e-6)
    with torch.no_grad():  # a re-randomised classifier changes the Grad-CAM map (and not the CA maps)
        predictor.model.head.weight.normal_(generator=torch.Generator().manual_seed(2))
    other = explain_pair(predictor, *pair, target_class=e.label)
    assert not np.allclose(other.gradcam_native, e.gradcam_native)
    fig = Figure()
    axes = draw_explanation(fig, e)
    assert len(axes) == 8 and f"Grad-CAM, {e.label}: only 4x4" in axes[3].get_title().replace("\n", " ")
    assert f"class-specific Grad-CAM of {e.label} (the predicted class)" in fig.subfigs[0]._suptitle.get_text()
    with pytest.raises(ConfigError, match=r"'nope' \(--target-class\) is not one of this checkpoint's classes: neg"):
        explain_pair(predictor, *pair, target_class="nope")


def test_cli_target_class_is_recorded(checkpoint, tmp_path):
    write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    out, maps = tmp_path / "f.png", tmp_path / "maps.npz"
    assert main(["explain", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--out", str(out), "--dpi", "30",
                 "--target-class", "surprise", "--save-maps", str(maps)]) == 0
    with Image.open(out) as im:
        record = json.loads(im.text["mmnet.gradcam"])
    assert record["target_class"] == "surprise" and record["native_size"] == [4, 4]
    assert "only S/16 cells" in record["method"]
    with np.load(maps) as saved:
        assert saved["gradcam"].shape == (4, 4)
