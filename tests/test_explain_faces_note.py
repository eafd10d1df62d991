"""An attention figure shows the input's faces: `mmnet explain` says to publish it only as the agreement covering
those recordings allows (printed and in the PNG), naming the dataset when the clip lies in its layout; the
server's result says the same. The model's licence line is about its training data, not these faces."""

import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.data.dataset_of_path import dataset_of
from mmnet.infer.faces_note import FACES_NOTE, faces_note

from .test_inference import make_checkpoint, synthetic_clip, write_frames

MAKE_CHECKPOINT = make_checkpoint

AGREEMENT = "publish it only as the agreement covering those recordings allows"


def _explain(checkpoint, clip, out, capsys):
    assert main(["explain", "--checkpoint", str(checkpoint), str(clip), "--out", str(out), "--dpi", "40",
                 "--no-deletion-check"]) == 0
    return next(t for t in capsys.readouterr().out.splitlines() if t.startswith("faces: "))


def test_explain_names_the_dataset_of_a_clip_in_its_layout(checkpoint, tmp_path, capsys):
    clip = write_frames(tmp_path / "CASME2" / "Cropped" / "sub01" / "EP02_01f", synthetic_clip(8, 5))
    out = tmp_path / "f.png"
    line = _explain(checkpoint, clip, out, capsys)
    assert AGREEMENT in line and "CASME II" in line and "Chinese Academy of Sciences" in line, line
    assert "which participants' faces may appear in papers" in line
    text = Image.open(out).text
    assert text["mmnet.faces"] == line.removeprefix("faces: ")


def test_explain_always_says_it_for_a_clip_of_no_known_dataset(checkpoint, tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    line = _explain(checkpoint, clip, tmp_path / "f.png", capsys)
    assert line == f"faces: {FACES_NOTE}" and AGREEMENT in line


@pytest.mark.parametrize(("path", "dataset"), [
    ("CASME2_RAW_selected/sub01/EP02_01f", "casme2"), ("out/Cropped/sub26/EP18_50/reg_img46.jpg", "casme2"),
    ("SAMM/006/006_1_2", "samm"), ("SAMM_longvideos/006_1", "samm-long"),
    ("SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01", "smic"), ("part_A/spNO.1/a/color", "casme3"),
    ("clips/EP02_01f", None), ("video.mp4", None)])
def test_dataset_of_reads_the_layouts_folder_names(tmp_path, path, dataset):
    assert dataset_of(tmp_path / path) == dataset


def test_dataset_of_finds_the_annotation_file_above_the_clip_and_skips_synthetic_sets(tmp_path):
    root = tmp_path / "mydata"
    (root / "006" / "006_1_2").mkdir(parents=True)
    (root / "SAMM_Micro_FACS_Codes_v2.xlsx").write_bytes(b"")
    assert dataset_of(root / "006" / "006_1_2") == "samm"
    assert "SAMM" in faces_note(root / "006" / "006_1_2") and "Manchester Metropolitan University" in faces_note(
        root / "006" / "006_1_2")
    (root / "synth.json").write_text("{}")  # mmnet's synthetic faces in SAMM's layout: nobody's recordings
    assert dataset_of(root / "006" / "006_1_2") is None


def test_the_servers_result_carries_the_note(predictor):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    pytest.importorskip("av")
    from mmnet.serve import create_app
    from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames

    with local_client(create_app(predictor, spotter=fake_spotter())) as client:
        result = client.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))}).json()
    assert "attention.png" in str(result["files"]) and AGREEMENT in result["faces_note"]
