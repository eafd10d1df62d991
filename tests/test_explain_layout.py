"""The attention figure is two readable rows a page wide, and its Grad-CAM record says where the PC branch's share of
each fused cell lies: measured on the network's own layers, not copied from the code that computes it."""

import io
import json

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from mmnet import MMNet
from mmnet.infer import Predictor, explain_pair
from mmnet.infer.attribution import gradcam_heading
from mmnet.infer.explain import draw_explanation, explanation_png
from mmnet.infer.explain_record import NO_ATTENTION, figure_record, save_maps
from mmnet.infer.gradcam import main_cell_centres, pc_offset
from mmnet.model import CheckpointInfo

from .test_inference import make_checkpoint, perturb_bn, synthetic_clip

MAKE_CHECKPOINT = make_checkpoint  # the model conftest's checkpoint fixture makes in this module


@pytest.fixture(scope="module")
def explanation(checkpoint):
    frames = synthetic_clip(10, 6, size=(96, 80), noise=0.0)
    return explain_pair(Predictor.from_checkpoint(checkpoint), frames[1], frames[7])


def test_figure_is_two_rows_a_page_wide(explanation):
    # one row of eight panels was some 18 inches wide: on a screen or in a paper column each panel was a thumbnail
    e = explanation
    with Image.open(io.BytesIO(explanation_png(e, dpi=100))) as im:
        width, height = im.size
    assert 900 <= width <= 1000 and height > width / 2  # some 9.6 inches at 100 dpi, two rows high
    fig = Figure(figsize=(width / 100, height / 100), layout="constrained")
    FigureCanvasAgg(fig)
    axes = draw_explanation(fig, e)
    fig.canvas.draw()
    boxes = [ax.get_window_extent() for ax in axes]
    assert len(axes) == 8
    top, bottom = boxes[:4], boxes[4:]
    assert min(b.y0 for b in top) > max(b.y1 for b in bottom)  # inputs and Grad-CAM above, the gates below
    for row in (top, bottom):
        assert all(a.x1 <= b.x0 for a, b in zip(row, row[1:]))  # side by side, left to right
        assert all(b.width > 0.2 * width for b in row)  # each panel some quarter of the figure, not an eighth
    titles = [ax.get_title().replace("\n", " ") for ax in axes]
    assert titles[2] == "|apex - onset|, amplified" and titles[3].startswith(f"Grad-CAM, {e.label}")
    assert [t.split(":")[0] for t in titles[4:]] == ["stage 1", "stage 2", "stage 3", "stage 4"]
    gates = " ".join(fig.subfigs[1]._suptitle.get_text().split())
    assert "(internal gates: not an attribution" in gates and "the same" not in titles[3]


def _token_centres(model, size):
    """Input pixel each PC token reads around, measured: an onset whose red channel is each pixel's row and green
    its column goes through the PC module's own resize; a token's value is then where it sampled."""
    seen = []
    hook = model.pc_module.patch_embed.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    ramp = torch.arange(size, dtype=torch.float32)
    onset = torch.stack([ramp[:, None].expand(size, size), ramp[None, :].expand(size, size),
                         torch.zeros(size, size)])[None]
    with torch.no_grad():
        model.pc_module(onset)
    hook.remove()
    rows, cols = seen[0][0, 0], seen[0][0, 1]  # (grid, grid)
    return rows[1:-1, 1].numpy(), cols[1, 1:-1].numpy()  # interior tokens (an antialiased resize clips the edges)


def _cell_centre(model, size, block_at):
    """Stage-4 cell (in cells, fractional) at which the motion branch's features respond to a block of motion
    centred on ``block_at``, measured: with flip-symmetric kernels the response is symmetric about the block."""
    with torch.no_grad():
        for m in model.main_branch.modules():
            if isinstance(m, torch.nn.Conv2d):
                w = m.weight
                w.copy_((w + w.flip(-1) + w.flip(-2) + w.flip(-1, -2)) / 4)
        stem = model.motion_stem.conv.weight
        stem.copy_((stem + stem.flip(-1) + stem.flip(-2) + stem.flip(-1, -2)) / 4)
        motion = torch.zeros(1, 3, size, size)
        y, x = block_at
        motion[..., y - 3:y + 4, x - 3:x + 4] = 1.0
        moved = model.main_branch(model.motion_stem(motion))[0][0]
        still = model.main_branch(model.motion_stem(torch.zeros_like(motion)))[0][0]
    change = (moved - still).abs().sum(0).double()  # (grid, grid)
    ys, xs = np.mgrid[:change.shape[0], :change.shape[1]]
    total = float(change.sum())
    return float((ys * change.numpy()).sum()) / total, float((xs * change.numpy()).sum()) / total, change.shape[0]


@pytest.mark.parametrize("antialias", [False, True])
def test_pc_tokens_lie_off_the_grad_cam_cells_by_what_the_layers_give(antialias):
    size = 128
    torch.manual_seed(0)
    model = MMNet(num_classes=3, image_size=size, pc_antialias=antialias).eval()
    perturb_bn(model)
    rows, cols = _token_centres(model, size)
    step = size / model.pc_module.grid
    pc_first = rows - step * np.arange(1, len(rows) + 1)  # token j's centre less j steps: the same for every j
    assert np.allclose(pc_first, pc_first[0], atol=1e-4) and np.allclose(cols, rows, atol=1e-4)
    block = (48, 64)  # a multiple of the feature grid's spacing apart from the edges, away from them
    cy, cx, grid = _cell_centre(model, size, block)
    stride = size / grid
    main_first = (block[0] - stride * cy, block[1] - stride * cx)  # where cell 0 is centred, measured
    assert main_first[0] == pytest.approx(main_first[1], abs=0.05)
    measured = float(pc_first[0]) - main_first[0]
    assert abs(measured) > 1  # the two branches' cells do not coincide
    assert pc_offset(model) == pytest.approx(measured, abs=0.05)
    assert main_cell_centres(model) == pytest.approx((stride, main_first[0]), abs=0.05)
    # the figure's record says it, and draws Grad-CAM's cells on the motion branch's
    predictor = Predictor(model, CheckpointInfo(class_names=["a", "b", "c"], preprocessing={"image_size": size}))
    frame = np.zeros((size, size, 3), np.uint8)
    e = explain_pair(predictor, frame, frame)
    with Image.open(io.BytesIO(explanation_png(e, dpi=30))) as png:
        record = json.loads(png.text["mmnet.gradcam"])
    assert record["pc_offset_px"] == pytest.approx(measured, abs=0.05)
    assert f"{record['pc_offset_px']:g} px further down and right" in record["placement"]
    # the measured centre may come out a hair below 0 (-0.01 on an AVX2-only CPU): "-0" is not what the record writes
    assert f"input pixel {main_first[0]:.0f} + {stride:g} j".replace("-0 ", "0 ") in record["placement"]


def test_a_model_without_pc_has_no_offset():
    model = MMNet(num_classes=3, image_size=64, use_pc=False).eval()
    assert pc_offset(model) is None
    e = explain_pair(Predictor(model, CheckpointInfo(class_names=["a", "b", "c"], preprocessing={"image_size": 64})),
                     np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8))
    assert e.pc_offset is None and "no PC branch" in e.gradcam_placement
    # the heading gave "motion branch 100 %, PC branch 0 % of its positive attribution" for a branch that is not there
    frames = synthetic_clip(10, 6, size=(96, 80), noise=0.0)
    predictor = Predictor(model, CheckpointInfo(class_names=["a", "b", "c"], preprocessing={"image_size": 64}))
    moved = explain_pair(predictor, frames[1], frames[7], check_deletion=False)
    heading = gradcam_heading(moved)
    assert moved.gradcam_shares == {"motion": 1.0, "pc": 0.0}  # the map's shares, as the PNG records them
    assert "all of its positive attribution in the motion branch, as this model has no PC branch" in heading
    assert "PC branch 0 %" not in heading


def _drawn(tmp_path, name, **config):
    """The figure of a checkpoint built with ``config``: its explanation, axes and the texts of title and rows."""
    torch.manual_seed(0)
    make_checkpoint(tmp_path / name, **config)
    frames = synthetic_clip(10, 6, size=(96, 80), noise=0.0)
    e = explain_pair(Predictor.from_checkpoint(tmp_path / name), frames[1], frames[7])
    fig = Figure(figsize=(9.6, 6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = draw_explanation(fig, e)
    headings = (fig._suptitle, fig.subfigs[0]._suptitle, fig.subfigs[1]._suptitle)
    texts = [" ".join(t.get_text().split()) for t in headings]
    return e, axes, texts


def test_an_apex_only_models_figure_names_it_and_shows_the_apex_as_its_input(tmp_path):
    # the figure showed "|apex - onset|, amplified" and "attention of the motion branch" for a model that never
    # sees motion, and nothing named the variant
    e, axes, (title, inputs, gates) = _drawn(tmp_path, "apex", main_input="apex")
    # the Grad-CAM shares named it the "motion branch" (-100 %, PC 200 %), beside a gates' row that said otherwise
    assert "main branch (apex frame) " in inputs and "motion branch" not in inputs
    assert e.network == "MMNet, main input: apex" and title.endswith("by MMNet, main input: apex")
    assert axes[2].get_title() == "main input: the apex frame (no difference)"
    assert np.array_equal(axes[2].get_images()[0].get_array(), e.apex)  # the frame itself, not the difference
    assert "motion branch" not in gates and "the main branch (it reads the apex frame, not motion)" in gates
    with Image.open(io.BytesIO(explanation_png(e, dpi=40))) as im:
        assert im.text["mmnet.network"] == "MMNet, main input: apex"  # the PNG's record names it too
    _, plain_axes, (plain_title, _, _) = _drawn(tmp_path, "plain")
    assert plain_axes[2].get_title() == "|apex - onset|, amplified" and " by MMNet" not in plain_title


def test_a_model_without_ca_is_drawn_with_its_grad_cam_and_a_note_for_the_gates(tmp_path):
    # explain refused it outright, though Grad-CAM and the deletion check need only forward_features/forward_head
    e, axes, (title, inputs, gates) = _drawn(tmp_path, "noca", use_ca=False)
    assert e.attention == [] and e.gradcam is not None and e.deletion is not None
    assert len(axes) == 4 and axes[3].get_title().startswith(f"Grad-CAM, {e.target_class}")
    assert title.endswith("by MMNet without CA") and inputs.startswith("inputs, and")
    assert "no attention maps: this model (MMNet without CA) has no CA blocks" in gates
    with Image.open(io.BytesIO(explanation_png(e, dpi=50))) as im:
        assert im.width > 1.5 * im.height  # the inputs' row, and a line for the gates' note
        # its record described CA maps of stages 1-4 and their colour scale, and --save-maps gave their strides
        assert im.text["mmnet.method"] == NO_ATTENTION and "mmnet.normalisation" not in im.text
        assert "stages 1-4" not in im.text["Description"] and json.loads(im.text["mmnet.stages"]) == []
    record = figure_record(e, alpha=0.6, cmap="viridis", shared_scale=False)
    with np.load(save_maps(e, tmp_path / "maps.npz", record)) as saved:
        assert "strides" not in saved and "gradcam" in saved and not any(k.startswith("stage") for k in saved)
