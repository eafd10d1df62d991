"""Inference on new clips: loading, frame order, preprocessing, spotting, batching, bad input."""

import inspect
import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from mmnet import MMNet
from mmnet.cli import main
from mmnet.errors import CheckpointError, DataError
from mmnet.infer import ClipRequest, Predictor, align_clip, load_clip, read_clip_list
from mmnet.media import list_frames
from mmnet.model import CheckpointInfo
from tests.test_spotting import synthetic_clip

CLASSES = ["negative", "positive", "surprise"]
MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]  # not ImageNet's: preprocessing must come from the checkpoint


def perturb_bn(model: MMNet, seed: int = 0) -> None:
    """Trained-like BN statistics and affine terms, so that the motion changes the logits.

    At initialisation the four chained sigmoid maps make the main branch's output ~1e-6 (spec
    section 4); a positive attention-BN bias keeps the maps near 1 as a trained model's peaks are.
    """
    g = torch.Generator().manual_seed(seed)
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                if name.endswith("attn.bn"):  # maps ~0.8-0.95 instead of ~0.05
                    m.weight.fill_(0.2)
                    m.bias.fill_(2.5)


def make_checkpoint(path, **config):
    model = MMNet(num_classes=len(CLASSES), image_size=64, **config)
    perturb_bn(model)
    model.save_pretrained(path, CheckpointInfo(class_names=list(CLASSES),
                                               preprocessing={"image_size": 64, "mean": MEAN, "std": STD}))
    return model.eval()


MAKE_CHECKPOINT = make_checkpoint  # the model conftest's checkpoint and predictor fixtures make in this module


def write_frames(folder, frames, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"img{i + 1}.png" for i in range(len(frames))]
    for name, frame in zip(names, frames):
        Image.fromarray(frame).save(folder / name)
    return folder


def reference_probs(checkpoint, onset, apex):
    """Independent preprocessing: PIL bilinear resize, /255, checkpoint mean/std, softmax."""
    model = MMNet.from_pretrained(checkpoint).eval()

    def prep(a):
        x = np.asarray(Image.fromarray(a).resize((64, 64), Image.BILINEAR), dtype=np.float32) / 255.0
        x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
        return torch.from_numpy(x.transpose(2, 0, 1)[None].copy())

    with torch.no_grad():
        return torch.softmax(model(prep(onset), prep(apex)), 1)[0].numpy()


# -- the happy paths -----------------------------------------------------------------------------
def test_pair_matches_independent_preprocessing(tmp_path, checkpoint, predictor):
    frames = synthetic_clip(8, 5, size=(90, 70))
    write_frames(tmp_path, [frames[0], frames[5]], ["on.png", "ap.png"])
    (pred,) = predictor.predict_clips([ClipRequest(tmp_path / "on.png", tmp_path / "ap.png")])
    expected = reference_probs(checkpoint, frames[0], frames[5])
    got = np.array([pred.probabilities[c] for c in CLASSES])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert pred.label == CLASSES[int(np.argmax(expected))]
    assert (pred.onset, pred.apex, pred.apex_spotted) == (0, 1, False)
    assert abs(sum(pred.probabilities.values()) - 1.0) < 1e-5


def test_the_documented_torch_resize_reproduces_pillows():
    from mmnet.media import resize_rgb

    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for size in (224, 64, 400):  # shrinking (where antialiasing matters) and enlarging
        pillow = resize_rgb(image, size).astype(np.float64)
        tensor = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].double()
        torch_aa = torch.nn.functional.interpolate(tensor, (size, size), mode="bilinear", antialias=True)
        rounded = np.clip(np.round(torch_aa[0].permute(1, 2, 0).numpy()), 0, 255)
        assert np.abs(rounded - pillow).max() <= 1  # docs/inference.md: within one grey level
    plain = torch.nn.functional.interpolate(tensor, (64, 64), mode="bilinear", antialias=False)
    assert np.abs(plain[0].permute(1, 2, 0).numpy() - resize_rgb(image, 64)).max() > 10  # not a substitute


def test_the_unaligned_note_names_the_remedy_of_the_library_too(tmp_path, predictor):
    from mmnet.infer.alignment import face_aligner

    frames = synthetic_clip(8, 5, size=(90, 70))
    write_frames(tmp_path, [frames[0], frames[5]], ["on.png", "ap.png"])
    (pred,) = predictor.predict_clips([ClipRequest(tmp_path / "on.png", tmp_path / "ap.png")])
    # a library user has no --align to pass: the note also names the argument that does it
    # (tests/test_alignment_shown.py runs that call: the aligner follows the checkpoint's alignment record)
    assert "use --align on the command line" in pred.warning
    assert "aligner=face_aligner(predictor.alignment)" in pred.warning
    assert "aligner" in inspect.signature(Predictor.predict_clips).parameters and callable(face_aligner)


def test_one_predictor_shared_by_threads_gives_the_results_of_one(predictor):
    from concurrent.futures import ThreadPoolExecutor

    # docs/inference.md says a loaded Predictor may be shared by threads
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
             for _ in range(8)]
    alone = [predictor.predict_frames([o], [a]) for o, a in pairs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        shared = list(pool.map(lambda pair: predictor.predict_frames([pair[0]], [pair[1]]), pairs * 2))
    for got, expected in zip(shared, alone * 2):
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_folder_frames_sorted_by_number_not_name(tmp_path, checkpoint, predictor):
    frames = synthetic_clip(12, 8)
    names = [f"reg_img{n}.jpg" if n % 2 else f"frame_{n:03d}.png" for n in range(1, 13)]
    write_frames(tmp_path / "clip", frames, names)
    (tmp_path / "clip" / "notes.txt").write_text("not a frame")
    listed, others = list_frames(tmp_path / "clip")
    assert [n for n, _ in listed] == list(range(1, 13)) and others == ("notes.txt",)
    clip = load_clip(tmp_path / "clip")
    assert [clip.name(n) for n in (1, 2, 3)] == ["reg_img1.jpg", "frame_002.png", "reg_img3.jpg"]
    pred = predictor.predict_clip(clip, onset=2, apex=10)
    assert (pred.onset, pred.apex, pred.apex_spotted) == (2, 10, False)
    onset = np.asarray(Image.open(tmp_path / "clip" / "frame_002.png"))
    apex = np.asarray(Image.open(tmp_path / "clip" / "frame_010.png"))
    expected = reference_probs(checkpoint, onset, apex)
    np.testing.assert_allclose([pred.probabilities[c] for c in CLASSES], expected, atol=1e-5)


def test_folder_with_apex_spotted(tmp_path, predictor):
    frames = synthetic_clip(20, 13)
    write_frames(tmp_path / "clip", frames, [f"img{n}.png" for n in range(101, 121)])
    pred = predictor.predict_clip(load_clip(tmp_path / "clip"))
    assert (pred.onset, pred.apex, pred.apex_spotted) == (101, 114, True)


def write_video(path, frames):
    av = pytest.importorskip("av")
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)  # lossless, so the apex stays where it was
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_video_frames_count_from_zero_and_spots_apex(tmp_path, predictor):
    frames = synthetic_clip(16, 9, size=(96, 80), noise=1.0)  # the apex is list position (and frame) 9
    clip = load_clip(write_video(tmp_path / "clip.mkv", frames))
    assert clip.numbers is None and clip.first == 0  # a video's length is known once streamed
    for n in (0, 15):
        assert np.abs(clip.read([n])[n].astype(int) - frames[n]).mean() < 3  # colour conversion only
    pred = predictor.predict_clip(clip)
    assert (pred.onset, pred.apex, pred.apex_spotted) == (0, 9, True)
    pred = predictor.predict_clip(clip, onset=0, apex=15)
    assert (pred.onset, pred.apex, pred.apex_spotted) == (0, 15, False)
    pred = predictor.predict_clip(clip, onset=1, apex=15)
    assert (pred.onset, pred.apex, pred.apex_spotted) == (1, 15, False)
    # frame 16 == the frame count: refused, naming the valid range
    with pytest.raises(DataError, match=r"Apex frame 16 is not in clip .*numbered 0\.\.15, 16 frames\)\. Frame "
                                        "numbers: a video's frames are counted from 0"):
        predictor.predict_clip(clip, apex=16)
    with pytest.raises(DataError, match=r"Onset frame 16 is not in clip .*numbered 0\.\.15, 16 frames"):
        predictor.predict_clip(clip, onset=16)
    with pytest.raises(DataError, match=r"Onset frame 30 is not in clip .*numbered 0\.\.15, 16 frames"):
        predictor.predict_clip(clip, onset=30)
    with pytest.raises(DataError, match="No frame after onset frame 15"):
        predictor.predict_clip(clip, onset=15)
    with pytest.raises(DataError, match="Onset frame -1 .*counted from 0"):
        predictor.predict_clip(clip, onset=-1)


def test_video_prediction_streams(tmp_path, predictor, monkeypatch):
    """Spotting reads the video once and keeps no frame; the second pass stops at the apex."""
    from mmnet import media

    frames = synthetic_clip(16, 9, size=(96, 80), noise=1.0)
    clip = load_clip(write_video(tmp_path / "clip.mkv", frames))
    real, decoded = media.stream_video, []

    class counting:  # stream_video's stream, its notes included, counting the frames decoded
        def __init__(self, path):
            self.stream = real(path)
            self.notes = self.stream.notes

        def __iter__(self):
            return self

        def __next__(self):
            frame = next(self.stream)
            decoded.append(frame.index)
            return frame

        def close(self):
            self.stream.close()

    monkeypatch.setattr("mmnet.infer.clips.stream_video", counting)
    monkeypatch.setattr(media, "stream_video", counting)
    pred = predictor.predict_clip(clip)
    assert pred.apex == 9
    assert decoded == list(range(16)) + list(range(10))  # spotting pass, then up to the apex


def test_many_clips_batched_equal_one_by_one(tmp_path, predictor):
    clips = []
    for k, apex in enumerate((4, 6, 9)):
        write_frames(tmp_path / f"c{k}", synthetic_clip(12, apex, seed=k))
        clips.append(ClipRequest(tmp_path / f"c{k}"))
    batched = predictor.predict_clips(clips, batch_size=2)
    single = [predictor.predict_clips([c], batch_size=1)[0] for c in clips]
    assert [p.apex for p in batched] == [5, 7, 10]
    for a, b in zip(batched, single):
        assert a.source == b.source
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)


def test_clip_list_csv(tmp_path, predictor):
    frames = synthetic_clip(10, 6)
    write_frames(tmp_path / "clips" / "a", frames)
    write_frames(tmp_path / "pair", [frames[0], frames[6]], ["on.png", "ap.png"])
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("source,apex_image,onset,apex\nclips/a,,2,8\npair/on.png,pair/ap.png,,\nclips/a,,,\n")
    requests = read_clip_list(csv_path)
    assert requests[0] == ClipRequest(tmp_path / "clips" / "a", None, 2, 8)
    preds = predictor.predict_clips(requests)
    assert [(p.onset, p.apex, p.apex_spotted) for p in preds] == [(2, 8, False), (0, 1, False), (1, 7, True)]


@pytest.mark.parametrize("sep, bom, eol", [(";", "\ufeff", "\r\n"), ("\t", "", "\n"), (",", "\ufeff", "\r\n")])
def test_a_clip_list_saved_by_a_spreadsheet_is_read(tmp_path, sep, bom, eol):
    # a ';' list (Excel in many locales) was refused as one column named 'source;onset;apex'
    (tmp_path / "my, clip").mkdir()
    (tmp_path / "list.csv").write_text(bom + eol.join([sep.join(["source", "onset", "apex"]),
                                                       sep.join(['"my, clip"', "2", "8"]), ""]), newline="")
    assert read_clip_list(tmp_path / "list.csv") == [ClipRequest(tmp_path / "my, clip", None, 2, 8)]


def test_align_crops_every_frame_with_onset_alignment(tmp_path, checkpoint, predictor):
    frames = synthetic_clip(10, 6, size=(120, 100))
    write_frames(tmp_path / "clip", frames)

    class CentreCrop:  # stands in for mmnet.preprocess's alignment result
        def apply(self, image):
            return image[20:100, 10:90]

    class FakeAligner:
        seen = []

        def estimate(self, image):
            self.seen.append(image)
            return CentreCrop()

    aligner = FakeAligner()
    clip = align_clip(load_clip(tmp_path / "clip"), 3, aligner=aligner)
    assert len(aligner.seen) == 1 and np.array_equal(aligner.seen[0], frames[2])  # onset frame 3
    pred = predictor.predict_clip(clip, onset=3, apex=7)
    expected = reference_probs(checkpoint, frames[2][20:100, 10:90], frames[6][20:100, 10:90])
    np.testing.assert_allclose([pred.probabilities[c] for c in CLASSES], expected, atol=1e-5)


# -- the command line ----------------------------------------------------------------------------
def test_cli_json_and_table(tmp_path, checkpoint, capsys):
    write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    assert main(["predict", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["apex"] == 5 and row["apex_spotted"] is True and set(row["probabilities"]) == set(CLASSES)
    args = ["predict", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--onset", "2", "--apex", "6"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["clip", "onset", "apex", "class", *CLASSES]
    assert out[1].split()[1:3] == ["2", "6"] and out[1].split()[3] in CLASSES


def test_cli_list_json_joins_back_to_the_list_row_by_row(tmp_path, checkpoint, capsys):
    # a list's entries came back with the list's folder prepended to their source, the failed clips moved after
    # every prediction with {source, error} only, and nothing naming the list's row or the model
    import hashlib

    write_frames(tmp_path / "d1" / "a", synthetic_clip(10, 6))
    (tmp_path / "sub").mkdir()
    listing = tmp_path / "sub" / "list.csv"
    listing.write_text("source,onset,apex\n../d1/a,2,8\n../d1/a,999,\n ../d1/a,,\n")
    assert main(["predict", "--checkpoint", str(checkpoint), "--list", str(listing), "--json"]) == 1
    printed = capsys.readouterr()
    entries = json.loads(printed.out)
    assert [(e["row"], e["list_source"]) for e in entries] == [(2, "../d1/a"), (3, "../d1/a"), (4, " ../d1/a")]
    assert [(e["onset"], e["apex"]) for e in entries][:2] == [(2, 8), (999, None)]
    assert "error" in entries[1] and "label" not in entries[1] and "label" in entries[0] and "label" in entries[2]
    weights = checkpoint / "model.safetensors"
    model = {"path": str(checkpoint), "file": weights.name, "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert all({k: e["model"][k] for k in model} == model for e in entries)
    # and what the model is worth travels with every entry (infer.model_summary): the same block on each
    summary = {"title", "synthetic", "permuted_labels", "note", "performance"}
    assert all(set(e["model"]) == set(model) | summary and e["model"] == entries[0]["model"] for e in entries)
    assert f"not classified: row 3 ({tmp_path / 'sub' / '..' / 'd1' / 'a'}): " in printed.err
    assert main(["predict", "--checkpoint", str(checkpoint), "--list", str(listing)]) == 1
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["row", "clip"] and [line.split()[0] for line in table[1:3]] == ["2", "4"]


def test_cli_video_and_its_frames_named_by_index_agree(tmp_path, checkpoint, capsys):
    """A video's frame i is reg_img{i} of its prepared folder: --onset/--apex mean the same frames on both."""
    from mmnet.media import stream_video

    video = write_video(tmp_path / "clip.mkv", synthetic_clip(16, 9, size=(96, 80), noise=1.0))
    folder = tmp_path / "prepared"
    write_frames(folder, [f.image for f in stream_video(video)], [f"reg_img{i}.png" for i in range(16)])
    rows = []
    for source in (video, folder):
        assert main(["predict", "--checkpoint", str(checkpoint), str(source), "--onset", "0", "--apex", "9",
                     "--json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        rows.append(row)
        assert (row["onset"], row["apex"]) == (0, 9)
    np.testing.assert_allclose(list(rows[0]["probabilities"].values()), list(rows[1]["probabilities"].values()),
                               atol=1e-5)
    assert main(["predict", "--checkpoint", str(checkpoint), str(video), "--apex", "16"]) == 3
    assert "numbered 0..15, 16 frames" in capsys.readouterr().err


def batchnorms(model: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_fast_cpu_predictor_runs_a_folded_copy(checkpoint, predictor):
    fast = Predictor.from_checkpoint(checkpoint, fast_cpu=True)
    assert batchnorms(predictor.model) > 0 and batchnorms(fast.model) == 0  # BN folded into the convolutions
    onset, apex = synthetic_clip(10, 4)[0], synthetic_clip(10, 4)[4]
    np.testing.assert_allclose(fast.predict_frames([onset], [apex]), predictor.predict_frames([onset], [apex]),
                               atol=1e-5)


def test_cli_fast_gives_the_same_probabilities(tmp_path, checkpoint, capsys, monkeypatch):
    import mmnet.infer.predictor as predictor_module

    copies, models = [], []  # what fast_cpu_copy made; the model each command's predictor ran
    real_copy, real_load = predictor_module.fast_cpu_copy, Predictor.from_checkpoint.__func__

    def counted_copy(*args, **kwargs):
        copies.append(real_copy(*args, **kwargs))
        return copies[-1]

    def recorded_load(cls, *args, **kwargs):
        loaded = real_load(cls, *args, **kwargs)
        models.append(loaded.model)
        return loaded

    monkeypatch.setattr(predictor_module, "fast_cpu_copy", counted_copy)
    monkeypatch.setattr(Predictor, "from_checkpoint", classmethod(recorded_load))
    write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    rows = []
    for extra in ([], ["--fast"]):
        assert main(["predict", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--json", *extra]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        rows.append(row)
    assert len(copies) == 1  # --fast only
    assert batchnorms(models[0]) > 0 and batchnorms(models[1]) == 0
    exact, fast = rows
    assert exact["label"] == fast["label"]
    np.testing.assert_allclose([fast["probabilities"][c] for c in CLASSES],
                               [exact["probabilities"][c] for c in CLASSES], atol=1e-5)


def test_cli_bad_input_exits_3_naming_it(tmp_path, checkpoint, capsys):
    missing = tmp_path / "nowhere"
    assert main(["predict", "--checkpoint", str(checkpoint), str(missing)]) == 3
    assert str(missing) in capsys.readouterr().err
    with pytest.raises(SystemExit) as no_input:  # a missing argument: the usage, exit 2
        main(["predict", "--checkpoint", str(checkpoint)])
    err = capsys.readouterr().err
    assert no_input.value.code == 2 and err.startswith("usage: mmnet predict") and "give the clip: INPUT" in err


# -- bad input -----------------------------------------------------------------------------------
def test_corrupt_checkpoint(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as e:
        Predictor.from_checkpoint(tmp_path)
    assert "model.safetensors" in str(e.value)


def test_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="not an mmnet checkpoint"):
        Predictor.from_checkpoint(tmp_path)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (str(self.marker), "w"))


def test_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    bad = tmp_path / "model.pth"
    bad.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    with pytest.raises(CheckpointError):
        Predictor.from_checkpoint(bad)
    (tmp_path / "model.safetensors").write_bytes(bad.read_bytes())
    with pytest.raises(CheckpointError):
        Predictor.from_checkpoint(tmp_path)
    assert not marker.exists()


def test_flow_checkpoint_is_refused(tmp_path):
    make_checkpoint(tmp_path / "flow", main_input="flow")
    with pytest.raises(CheckpointError, match="optical flow"):
        Predictor.from_checkpoint(tmp_path / "flow")


def test_frames_of_different_sizes(tmp_path, predictor):
    frames = synthetic_clip(6, 3)
    write_frames(tmp_path / "clip", frames[:5] + [frames[5][:-4]])
    with pytest.raises(DataError, match="differ in size") as e:
        predictor.predict_clip(load_clip(tmp_path / "clip"), apex=6)
    assert "img1.png" in str(e.value) and "img6.png" in str(e.value)
    with pytest.raises(DataError, match="differ in size"):  # spotting reads every frame
        predictor.predict_clip(load_clip(tmp_path / "clip"))
    with pytest.raises(DataError, match="differ in size"):
        predictor.predict_clips([ClipRequest(tmp_path / "clip" / "img1.png", tmp_path / "clip" / "img6.png")])


def test_fewer_than_two_frames(tmp_path, predictor):
    write_frames(tmp_path / "one", synthetic_clip(1, 0))
    with pytest.raises(DataError, match="has 1 frame") as e:
        predictor.predict_clip(load_clip(tmp_path / "one"))
    assert str(tmp_path / "one") in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no numbered frame image"):
        predictor.predict_clip(load_clip(tmp_path / "empty"))


def test_unreadable_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(DataError) as e:
        load_clip(bad)
    assert str(bad) in str(e.value)


def test_unreadable_frame_names_it(tmp_path, predictor):
    write_frames(tmp_path / "clip", synthetic_clip(4, 2))
    (tmp_path / "clip" / "img3.png").write_bytes(b"truncated")
    with pytest.raises(DataError, match="img3.png"):
        predictor.predict_clip(load_clip(tmp_path / "clip"))


def test_other_bad_inputs(tmp_path, predictor):
    write_frames(tmp_path / "clip", synthetic_clip(5, 2))
    with pytest.raises(DataError, match="single image"):
        load_clip(tmp_path / "clip" / "img1.png")
    with pytest.raises(DataError, match="frame 9 is not in clip"):
        predictor.predict_clip(load_clip(tmp_path / "clip"), apex=9)
    with pytest.raises(DataError, match="must come after onset"):
        predictor.predict_clip(load_clip(tmp_path / "clip"), onset=4, apex=2)
    (tmp_path / "clip" / "img01.png").write_bytes((tmp_path / "clip" / "img1.png").read_bytes())
    with pytest.raises(DataError, match="two files with frame number 1"):
        load_clip(tmp_path / "clip")
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("clip,apx\nx,1\n")
    with pytest.raises(DataError, match="unknown: \\['clip', 'apx'\\]"):
        read_clip_list(csv_path)
    csv_path.write_text("source,onset\nclip,first\n")
    with pytest.raises(DataError, match="row 2: onset must be a frame number"):
        read_clip_list(csv_path)


# -- attention figures ---------------------------------------------------------------------------
def test_explain_arrays_and_figure(tmp_path, checkpoint, predictor):
    from mmnet.infer import explain_clip, render_explanation

    frames = synthetic_clip(10, 6, size=(96, 80), noise=0.0)
    write_frames(tmp_path / "clip", frames)
    e = explain_clip(predictor, load_clip(tmp_path / "clip"))
    assert (e.onset_frame, e.apex_frame) == (1, 7)
    assert e.onset.shape == e.apex.shape == (64, 64, 3) and e.onset.dtype == np.uint8
    assert len(e.attention) == 4 and all(a.shape == (64, 64) for a in e.attention)
    assert all(0.0 <= a.min() and a.max() <= 1.0 for a in e.attention)
    # The moving region (rows 20:40, cols 15:45 of 96 x 80) is where the motion image is bright.
    ys, xs = np.nonzero(e.motion > 0.5)
    assert 20 * 64 / 96 - 2 <= ys.mean() <= 40 * 64 / 96 + 2 and 15 * 64 / 80 - 2 <= xs.mean() <= 45 * 64 / 80 + 2
    assert e.motion[:10].max() < 0.1  # still parts of the face stay dark
    pred = predictor.predict_clip(load_clip(tmp_path / "clip"))
    assert e.label == pred.label
    out = render_explanation(e, tmp_path / "fig" / "explain.png", dpi=50)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width <= 500 < 2 * im.height  # two rows of four panels, 9.6 in at 50 dpi


def test_explain_cli_and_model_without_attention(tmp_path, checkpoint, capsys):
    write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    out = tmp_path / "figure.png"
    args = ["explain", "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--apex", "4", "--out", str(out)]
    assert main(args) == 0
    assert out.is_file() and "figure written" in capsys.readouterr().out
    torch.manual_seed(0)
    make_checkpoint(tmp_path / "noca", use_ca=False)
    args[2] = str(tmp_path / "noca")
    assert main(args) == 0  # drawn without the gates' row: Grad-CAM needs no CA block
    assert "attention ranges (min-max): none (MMNet without CA: no CA blocks" in capsys.readouterr().out


_FRAME = np.zeros((40, 50, 3), np.uint8)


@pytest.mark.parametrize("onsets, apexes, message", [
    # 2 onsets and 1 apex were broadcast to 2 rows; empty lists and bad frames raised numpy/torch errors
    ([_FRAME, _FRAME], [_FRAME], r"as many apex frames as onset frames.*got 2 onset\(s\) and 1 apex"),
    ([], [], r"at least one of each; got 0 onset"),
    ([_FRAME[..., 0]], [_FRAME[..., 0]], r"onset frame 0 is a uint8 array of shape \(40, 50\); .*convert\('RGB'\)"),
    ([_FRAME], [np.zeros((40, 50, 4), np.uint8)], r"apex frame 0 is a uint8 array of shape \(40, 50, 4\)"),
    ([_FRAME.astype(np.float32) / 255], [_FRAME], r"onset frame 0 is a float32 array.*\(x \* 255\)"),
    ([_FRAME.astype(np.uint16)], [_FRAME], r"onset frame 0 is a uint16 array"),
    ([_FRAME], [np.zeros((20, 20, 3), np.uint8)], r"Pair 0: onset frame is 50x40, apex frame 20x20"),
    (_FRAME, _FRAME, r"lists of frames .*not one frame: pass \[onset\] and \[apex\]"),  # was "shape (50, 3)"
    ([_FRAME.astype(np.int64)], [_FRAME], r"int64 array.*np.asarray\(x, dtype=np.uint8\)"),
    # a clip of such frames was refused, the same frames as arrays were classified
    ([_FRAME[:8, :8]], [_FRAME[:8, :8]], r"Pair 0: the frames are 8x8 pixels; a frame needs at least 16 on each side"),
    ([_FRAME[:15]], [_FRAME[:15]], r"Pair 0: the frames are 50x15 pixels"),
])
def test_predict_frames_refuses_what_it_cannot_classify(predictor, onsets, apexes, message):
    with pytest.raises(DataError, match=message):
        predictor.predict_frames(onsets, apexes)


def test_predict_frames_takes_pairs_of_uint8_rgb_frames(predictor):
    probs = predictor.predict_frames([_FRAME, _FRAME], [_FRAME + 9, _FRAME])
    assert probs.shape == (2, len(CLASSES)) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
