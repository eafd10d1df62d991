"""`mmnet explain` says on the figure what the model was trained on: synthetic faces only, or not recorded."""

import shutil

from matplotlib.figure import Figure

from mmnet.cli import main
from mmnet.infer import Predictor, explain_clip, load_clip
from mmnet.infer.explain import draw_explanation
from mmnet.infer.provenance import training_caption

from .test_inference import make_checkpoint, synthetic_clip, write_frames

# the untrained model conftest's checkpoint fixture makes in this module, outside any run folder
MAKE_CHECKPOINT = make_checkpoint


def _in_run_folder(checkpoint, tmp_path, synthetic: bool, epochs: int = 3, *, dataset: str = "casme2", root: str = ""):
    data = tmp_path / "data"
    data.mkdir(parents=True)
    if synthetic:
        (data / "synth.json").write_text("{}")
    run = tmp_path / "run"
    model = run / "seed-0" / "fold-sub01" / "model"
    shutil.copytree(checkpoint, model)
    (run / "config.yaml").write_text(f"data:\n  dataset: {dataset}\n  root: {root or data}\n"
                                     f"train:\n  epochs: {epochs}\n")
    (run / "env.json").write_text("{}")
    return model


def test_caption_says_what_the_model_was_trained_on(checkpoint, tmp_path):
    assert "not recorded" in training_caption(checkpoint) and "may be untrained" in training_caption(checkpoint)
    synth = training_caption(_in_run_folder(checkpoint, tmp_path / "s", synthetic=True))
    assert "synthetic faces only" in synth and "mean nothing on real faces" in synth
    real = training_caption(_in_run_folder(checkpoint, tmp_path / "r", synthetic=False))
    assert real.startswith("Model trained on casme2 (run folder 'run', data.dataset=casme2") and "synthetic" not in real


def test_caption_of_a_composite_model_looks_at_its_part_folders_not_its_annotation_file(checkpoint, tmp_path):
    # the composite's annotation=FILE was taken for a data folder: "real or synthetic is unknown"
    parts = [tmp_path / part for part in ("casme2", "samm", "smic")]
    for folder in parts:
        folder.mkdir()
    (tmp_path / "gt.csv").write_text("casme2,sub01,EP02_01f,0\n")
    root = ",".join([f"{p.name}={p}" for p in parts] + [f"annotation={tmp_path / 'gt.csv'}"])
    caption = training_caption(_in_run_folder(checkpoint, tmp_path / "c", synthetic=False, dataset="composite",
                                              root=root))
    assert caption.startswith("Model trained on composite (run folder 'run'") and "unknown" not in caption


def test_caption_counts_epochs_in_the_singular_for_one(checkpoint, tmp_path):
    one = training_caption(_in_run_folder(checkpoint, tmp_path / "one", synthetic=False, epochs=1))
    assert "data.dataset=casme2, 1 epoch)" in one and "1 epochs" not in one
    assert "data.dataset=casme2, 3 epochs)" in training_caption(_in_run_folder(checkpoint, tmp_path / "three", False))


def test_caption_is_drawn_on_the_figure_and_printed(checkpoint, tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    e = explain_clip(Predictor.from_checkpoint(checkpoint), load_clip(clip))
    fig = Figure()
    draw_explanation(fig, e)
    assert fig.get_supxlabel() == ""  # the library draws a caption only when given one
    e.caption = training_caption(checkpoint)
    fig = Figure()
    draw_explanation(fig, e)
    assert "may be untrained" in fig.get_supxlabel().replace("\n", " ")
    model = _in_run_folder(checkpoint, tmp_path / "s", synthetic=True)
    out = tmp_path / "f.png"
    assert main(["explain", "--checkpoint", str(model), str(clip), "--out", str(out), "--dpi", "40"]) == 0
    printed = capsys.readouterr()
    assert out.is_file() and "synthetic faces only" in printed.out
    assert "not checked for a face" in printed.err and "use --align" in printed.err  # as mmnet predict says


def test_caption_finds_the_run_folder_of_a_relative_or_symlinked_checkpoint(checkpoint, tmp_path, monkeypatch):
    model = _in_run_folder(checkpoint, tmp_path / "s", synthetic=True)
    monkeypatch.chdir(model.parent)
    assert "synthetic faces only" in training_caption("model")  # `mmnet info model` inside the fold folder
    monkeypatch.chdir(model.parents[2])
    assert "run folder 'run'" in training_caption("seed-0/fold-sub01/model")  # was run folder ''
    link = tmp_path / "ckpt"
    link.symlink_to(model, target_is_directory=True)
    assert "synthetic faces only" in training_caption(link)
    assert "check its origin before relying on its output" in training_caption(checkpoint)  # also said by mmnet info


def test_panels_mark_a_spotted_apex_and_name_the_images_of_a_pair(checkpoint, tmp_path):
    # the apex panel said "apex (frame 5)" where predict marks 5*; an image pair's panels said "frame 0"/"frame 1"
    from PIL import Image

    predictor = Predictor.from_checkpoint(checkpoint)
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    titles = {}
    for name, explanation in (("spotted", explain_clip(predictor, load_clip(clip))),
                              ("given", explain_clip(predictor, load_clip(clip), onset=1, apex=5))):
        axes = draw_explanation(Figure(), explanation)
        titles[name] = (axes[0].get_title(), axes[1].get_title())
    assert titles["spotted"][1].endswith(", spotted)") and titles["spotted"][0] == "onset (frame 1)"
    assert titles["given"] == ("onset (frame 1)", "apex (frame 5)")
    frames = sorted(clip.iterdir())
    onset, apex = tmp_path / "neutral.png", tmp_path / "peak.png"
    Image.open(frames[0]).save(onset)
    Image.open(frames[5]).save(apex)
    axes = draw_explanation(Figure(), explain_clip(predictor, load_clip(onset, apex)))
    assert (axes[0].get_title(), axes[1].get_title()) == ("onset: neutral.png", "apex: peak.png")


def test_zero_motion_is_warned_on_the_figure(checkpoint, tmp_path):
    # the same image twice was flagged on stderr only: the figure, shared without the console, looked like any other
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    image = sorted(clip.iterdir())[0]
    e = explain_clip(Predictor.from_checkpoint(checkpoint), load_clip(image, image))
    e.caption = training_caption(checkpoint)
    fig = Figure()
    draw_explanation(fig, e)
    caption = fig.get_supxlabel().replace("\n", " ")
    assert caption.startswith("Warning: the onset and apex frames are identical") and "may be untrained" in caption


def test_colour_bars_of_narrow_maps_have_distinct_labels(checkpoint, tmp_path):
    # a stage-4 map spanning 0.0619-0.0623 printed its tick labels into one another ("0.061950.06200...")
    import dataclasses

    import numpy as np

    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    e = explain_clip(Predictor.from_checkpoint(checkpoint), load_clip(clip))
    narrow = [np.linspace(0.06195, 0.0623, a.size).reshape(a.shape) for a in e.attention]
    fig = Figure()
    draw_explanation(fig, dataclasses.replace(e, attention=narrow))
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == len(narrow) + 1  # and the Grad-CAM panel's
    for bar in bars:
        labels = [t.get_text() for t in bar.get_xticklabels()]
        assert len(labels) == 3 and len(set(labels)) == 3, labels


def test_the_command_prints_the_grad_cam_shares_and_its_deletion_check_or_skips_it(checkpoint, tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    out = tmp_path / "f.png"
    assert main(["explain", "--checkpoint", str(checkpoint), str(clip), "--out", str(out), "--dpi", "40"]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.startswith("Grad-CAM: "))
    assert "motion branch" in line and "PC branch" in line and "deletion check: removing the motion" in line
    # and what the numbers mean: the line gave them without saying whether the map can be trusted
    assert line.endswith(("): the map points at the motion behind this prediction",
                          ": the map does not clearly point at the motion behind this prediction")) or (
        ": the map does not clearly point at the motion behind this prediction (removing" in line), line
    assert main(["explain", "--checkpoint", str(checkpoint), str(clip), "--out", str(out), "--dpi", "40",
                 "--no-deletion-check"]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.startswith("Grad-CAM: "))
    assert "not tested for faithfulness" in line and "deletion check" not in line
