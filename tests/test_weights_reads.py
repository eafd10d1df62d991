"""`mmnet predict` and `mmnet spot --checkpoint` hash the model's weights and read its model card once per command:
the card check, the training record, the summary, the training subjects, the identity of kept classes and spot.json's
provenance all use that one hash and text; weights or a card changed since are read again."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval
from mmnet.spotting.spotter import SpotResult

from .test_inference import write_frames
from .test_spotting import synthetic_clip

torch = pytest.importorskip("torch")

CLASSES = ["negative", "positive", "surprise"]


def _shipped(folder: Path) -> Path:
    """A model folder with a model card that describes its weights."""
    from mmnet.model import CheckpointInfo, MMNet

    torch.manual_seed(0)
    MMNet(len(CLASSES), image_size=32).save_pretrained(folder, CheckpointInfo(list(CLASSES), {"image_size": 32}))
    sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    card = {"weights": {"sha256": sha}, "classes": {"names": CLASSES},
            "training": {"dataset": "casme2", "subjects": 4, "epochs": 1}}
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """'weights': times the weights were hashed (every sha256 of a file opens it in run_folder), 'card': times
    model_card.json was read."""
    import mmnet.run_folder as run_folder

    counted: Counter = Counter()

    def opening(path, *args, **kwargs):
        counted["weights"] += Path(path).name == "model.safetensors"
        return open(path, *args, **kwargs)

    read_text = Path.read_text

    def reading(self, *args, **kwargs):
        counted["card"] += self.name == "model_card.json"
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(run_folder, "open", opening, raising=False)
    monkeypatch.setattr(Path, "read_text", reading)
    return counted


def test_predict_hashes_the_weights_and_reads_the_card_once(tmp_path, capsys, reads):
    model = _shipped(tmp_path / "model")
    clip = write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    assert main(["predict", "--checkpoint", str(model), str(clip), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["model"]["sha256"] == hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    assert reads == {"weights": 1, "card": 1}


def test_spot_with_a_checkpoint_hashes_the_weights_and_reads_the_card_once(tmp_path, monkeypatch, reads):
    import mmnet.commands.common as common
    import mmnet.infer.kept_classification as kept
    import mmnet.spotting.timeline as timeline

    def spotted(source, predictor, config, *args, **_):  # the spotting and classifying faked: one micro interval
        curves = SimpleNamespace(notes=[], numbers=None, strides={})
        return SpotResult(str(source), 30.0, 100, [Interval(10, 14, 20, "micro", "negative", 0.3)], [],
                          config=config, curves=curves), None

    predictor = SimpleNamespace(class_names=CLASSES, device="cpu", cpu_routes={}, channels_last=False,
                                preprocessing=SimpleNamespace(image_size=32, mean=(0.5,) * 3, std=(0.5,) * 3))
    monkeypatch.setattr(kept, "spot_and_classify_kept", spotted)
    monkeypatch.setattr(common, "load_predictor", lambda *a, **k: predictor)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    model = _shipped(tmp_path / "model")
    video = tmp_path / "006_1.mp4"
    video.write_bytes(b"a recording")
    out = tmp_path / "spots"
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(model)]) == 0
    classifier = json.loads((out / "spot.json").read_text())["provenance"]["models"]["classifier"]
    assert classifier["sha256"] == hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    assert reads["weights"] == 1 and reads["card"] == 1


def test_weights_and_a_card_changed_since_are_read_again(tmp_path):
    from mmnet.infer.provenance import model_card_beside
    from mmnet.run_folder import weights_sha256

    model = _shipped(tmp_path / "model")
    weights = model / "model.safetensors"
    assert model_card_beside(model)["training"]["subjects"] == 4
    card = json.loads((model / "model_card.json").read_text())
    card["training"]["subjects"] = 12  # another size: the card's key changes whatever the clock's resolution
    (model / "model_card.json").write_text(json.dumps(card))
    assert model_card_beside(model)["training"]["subjects"] == 12
    before = weights_sha256(weights)
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert weights_sha256(weights) == hashlib.sha256(weights.read_bytes()).hexdigest() != before
    assert model_card_beside(model) is None  # the card names the weights as they were


def test_a_same_size_copy_keeping_the_mtime_is_read_again(tmp_path):
    # shutil.copy2 (or cp -p) of a file of the same size keeps path, size and mtime: the inode or ctime tell it
    import os
    import shutil
    import time

    from mmnet.infer.provenance import model_card_beside
    from mmnet.run_folder import weights_sha256

    model = _shipped(tmp_path / "model")
    weights, card = model / "model.safetensors", model / "model_card.json"

    def replace(path: Path, data: bytes, *, moved: bool) -> None:
        other = tmp_path / "other"
        other.write_bytes(data)
        st = path.stat()
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        time.sleep(0.05)  # past the clock tick of the file's ctime
        if moved:  # a new inode
            os.replace(shutil.copy2(other, path.with_name("incoming")), path)
        else:  # the same inode, written over
            shutil.copy2(other, path)
        assert (path.stat().st_mtime_ns, path.stat().st_size) == (st.st_mtime_ns, st.st_size)

    for subjects, moved in ((5, False), (6, True)):
        assert model_card_beside(model)["training"]["subjects"] == subjects - 1
        text = card.read_text()
        assert f'"subjects": {subjects - 1}' in text
        replace(card, text.replace(f'"subjects": {subjects - 1}', f'"subjects": {subjects}').encode(), moved=moved)
        assert model_card_beside(model)["training"]["subjects"] == subjects
    for moved in (False, True):
        before = weights_sha256(weights)
        data = bytearray(weights.read_bytes())
        data[-1] ^= 1
        replace(weights, bytes(data), moved=moved)
        assert weights_sha256(weights) == hashlib.sha256(data).hexdigest() != before
