"""Every result names the model that gave it (``model``: title, folder name, sha256 of the weights, classes,
synthetic, versions), as /api/model does; a recording's CSV names its source."""

import csv
import hashlib
import io
import json

import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.model_info import describe_checkpoint  # noqa: E402
from mmnet.version import __version__  # noqa: E402
from tests.serve_helpers import (  # noqa: E402
    csv_download,
    fake_spotter,
    local_client,
    mp4_bytes,
    recording_done,
    synth_frames,
)


def test_results_carry_the_model_that_gave_them(predictor, checkpoint):
    sha = hashlib.sha256((checkpoint / "model.safetensors").read_bytes()).hexdigest()
    app = create_app(predictor, spotter=fake_spotter(), model_info=describe_checkpoint(checkpoint, predictor))
    video = mp4_bytes(synth_frames())
    with local_client(app) as c:
        model = c.get("/api/model").json()
        assert model["sha256"] == sha and model["model"]["sha256"] == sha
        ref = model["model"]
        assert ref["classes"] == model["classes"] and ref["title"] == model["title"] and ref["synthetic"] is None
        assert ref["served_by"] == __version__ and ref["name"] == model["name"]
        assert str(checkpoint.parent) not in ref["name"] and not ref["name"].startswith("/")  # no server path
        clip = c.post("/api/predict", files={"file": ("c.mp4", video)}).json()
        assert clip["model"] == ref
        assert c.get(f"/api/jobs/{clip['id']}/result").json()["model"] == ref
        with Image.open(io.BytesIO(c.get(clip["files"]["attention.png"]).content)) as figure:  # and its figure
            assert figure.text["mmnet.checkpoint_sha256"] == sha and figure.text["mmnet.checkpoint"] == ref["name"]
            assert figure.text["mmnet.aligned"] == "false" and "same for every class" in figure.text["mmnet.method"]
        job = recording_done(c, video, name="long=1.mp4")
        assert c.get(job["urls"]["result"]).json()["model"] == ref
        rows = list(csv.reader(io.StringIO(csv_download(c.get(job["urls"]["csv"])))))
        assert rows[0][:4] == ["source", "frame_numbering", "onset", "apex"] and len(rows) > 1
        assert {row[0] for row in rows[1:]} == {"long=1.mp4"}


def test_a_csv_source_that_reads_as_a_formula_is_quoted(predictor):
    from mmnet.serve.analysis import recording_csv

    text = recording_csv({"source": "=1+2.mp4", "intervals": [
        {"onset": 1, "apex": 2, "offset": 3, "type": "macro", "score": None, "label": None, "probabilities": None}]},
        ["a"], "video")
    assert text.splitlines()[1].startswith("'=1+2.mp4,video_from_0,1,2,3,macro")


def test_a_synthetic_models_note_and_performance_travel_with_every_result(predictor, tmp_path):
    # /api/model titled a demo model whose data folder was gone "CASME II model" (synthetic null, no warning); the
    # result's warnings and the CSVs said nothing of it, and nothing said how the model did on unseen people
    from tests.test_provenance_merge import SYNTHETIC_HEADER, _model, _report

    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    (tmp_path / "run" / "report.json").write_text(json.dumps(_report(0.148)))
    app = create_app(predictor, spotter=fake_spotter(), model_info=describe_checkpoint(model, predictor))
    video = mp4_bytes(synth_frames())
    with local_client(app) as c:
        info = c.get("/api/model").json()
        note = info["note"]
        assert info["title"].startswith("Demo model (synthetic faces)") and info["synthetic"] is True
        assert "synthetic faces" in note and info["model"]["note"] == note
        assert info["model"]["permuted_labels"] is False
        assert info["performance"]["source"] == "report.json"
        assert info["performance"]["line"].startswith("Cross-validated on unseen people: UAR 0.15, UF1 0.11 "
                                                      "(chance 0.20;")
        clip = c.post("/api/predict", files={"file": ("c.mp4", video)}).json()
        assert clip["warnings"][-1] == note and note in clip["warning"]
        assert c.get(f"/api/jobs/{clip['id']}/result").json()["warnings"][-1] == note
        rows = list(csv.reader(io.StringIO(csv_download(c.get(f"/api/jobs/{clip['id']}/result?format=csv")))))
        assert rows[0][-1] == "model_note" and rows[1][-1] == note
        job = recording_done(c, video, name="long.mp4")
        assert c.get(job["urls"]["result"]).json()["warnings"] == [note]
        rows = list(csv.reader(io.StringIO(csv_download(c.get(job["urls"]["csv"])))))
        assert rows[0][0] == "source" and rows[0][-1] == "model_note" and {row[-1] for row in rows[1:]} == {note}


def test_a_model_with_nothing_to_say_has_an_empty_note_column(predictor, checkpoint, tmp_path):
    from tests.test_provenance_merge import _model

    model = _model(tmp_path / "run", header={"dataset": "casme2", "epochs": 1, "synthetic": False}, data="real")
    app = create_app(predictor, spotter=fake_spotter(), model_info=describe_checkpoint(model, predictor))
    with local_client(app) as c:
        assert c.get("/api/model").json()["note"] is None
        clip = c.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))}).json()
        assert clip["warnings"] == [] or all("synthetic" not in w for w in clip["warnings"])
        rows = list(csv.reader(io.StringIO(csv_download(c.get(f"/api/jobs/{clip['id']}/result?format=csv")))))
        assert rows[0][-1] == "model_note" and rows[1][-1] == ""
