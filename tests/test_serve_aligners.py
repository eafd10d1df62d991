"""`mmnet serve` builds the face aligners of its recordings once, not once per job: each loads the landmark model
(about 100 MB, a second or more), which was most of a short recording's time."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from tests.preprocess_helpers import NoFaceAligner  # noqa: E402
from tests.serve_helpers import local_client, mp4_bytes, synth_frames  # noqa: E402


@pytest.fixture
def counted(monkeypatch):
    import mmnet.preprocess.face as face
    import mmnet.serve.spotting as spotting

    NoFaceAligner.built, NoFaceAligner.cropped = [], []
    monkeypatch.setattr(face, "FaceAligner", NoFaceAligner)
    monkeypatch.setattr(spotting, "require_spotting", lambda landmarks=68: None)  # dlib is not needed here
    return NoFaceAligner.built


def _ended(client, job_id: str) -> dict:
    t0 = time.monotonic()
    while (state := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() - t0 < 60, state
        time.sleep(0.05)
    return state


def test_recording_jobs_share_the_servers_aligners(predictor, counted):
    video = mp4_bytes(synth_frames(n=12))
    with local_client(create_app(predictor), raise_server_exceptions=False) as c:  # the server's own spotter
        for k in range(3):
            r = c.post("/api/recordings", files={"file": (f"rec{k}.mp4", video)})
            assert r.status_code == 202, r.text
            _ended(c, r.json()["id"])  # whatever it found (no face here): the aligners were used
    # the spotter's (its small crop) and the classifier's (the crop of `mmnet prepare`), once for three jobs, the
    # landmark model they share loaded once
    assert [(a.geometry.width, a.geometry.height) for a in counted] == [(140, 170)]
    assert [(a.geometry.width, a.geometry.height) for a in NoFaceAligner.cropped] == [(280, 340)]


def test_recordings_crop_with_the_align_clip_aligner_when_it_crops_as_they_do(predictor, counted, monkeypatch):
    import mmnet.serve.spotting as spotting

    clip_aligner = NoFaceAligner()  # `mmnet serve --align`: the crop and model the checkpoint records (here none)
    used = []

    def spot_and_classify(path, predictor, config, *, aligners, **kwargs):
        used.extend(aligners)
        raise spotting.MMNetError("the aligners are what this test looks at")

    monkeypatch.setattr(spotting, "spot_and_classify", spot_and_classify)
    video = mp4_bytes(synth_frames(n=12))
    with local_client(create_app(predictor, aligner=clip_aligner), raise_server_exceptions=False) as c:
        r = c.post("/api/recordings", files={"file": ("rec.mp4", video)})
        assert r.status_code == 202, r.text
        _ended(c, r.json()["id"])
    # no landmark model loaded for recordings: the classifier's crop is the clip aligner, the spotter's its cropping
    assert counted == [clip_aligner] and used == [*NoFaceAligner.cropped, clip_aligner]
    assert [(a.geometry.width, a.geometry.height) for a in NoFaceAligner.cropped] == [(140, 170)]


def test_a_spotter_models_jobs_share_the_classifiers_aligner(predictor, counted, monkeypatch, tmp_path):
    import mmnet.serve.spotting as spotting
    from mmnet.spotting.config import spot_config

    class Spotter:  # a trained spotter that aligns faces (its own aligner is its business): what it spots is empty
        config = spot_config()

        def spot(self, path, *, fps=None, on_frame=None):
            return "spotted"

    used = []
    monkeypatch.setattr(spotting, "classify_micro", lambda result, predictor, aligner, **kw: used.append(aligner) or {})
    monkeypatch.setattr(spotting, "_result_json", lambda result, pairs: {})
    spot = spotting.model_spotter(Spotter())
    for _ in range(3):
        spot(tmp_path / "recording.mp4", predictor=predictor)
    assert len(counted) == 1 and used == counted * 3  # the crop of `mmnet prepare`, built once
    assert (counted[0].geometry.width, counted[0].geometry.height) == (280, 340)
