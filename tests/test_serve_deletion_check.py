"""`mmnet serve --no-deletion-check`: the attention figures skip the Grad-CAM map's deletion check (7 more
predictions a figure), and the JSON and the figure say that the map is not tested for faithfulness (the page:
tests/test_serve_deletion_browser.py); by default every figure makes it and the JSON carries its numbers."""

import io
import json

import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

import mmnet.infer.explain as explain_module  # noqa: E402
from mmnet.infer.attribution import deletion_verdict, faithful  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.analysis import DELETION_SKIPPED  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402


@pytest.fixture
def checks_made(monkeypatch):
    """The deletion checks explain_pair makes, counted."""
    made = []
    real = explain_module.deletion_check

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(explain_module, "deletion_check", counted)
    return made


def _served(predictor, settings):
    return local_client(create_app(predictor, settings=settings, spotter=fake_spotter()),
                        raise_server_exceptions=False)


def _gradcam_record(client, url) -> dict:
    """The Grad-CAM record in the attention figure's PNG (mmnet explain's, with its deletion check)."""
    return json.loads(Image.open(io.BytesIO(client.get(url).content)).text["mmnet.gradcam"])


def _clip_and_recording(client):
    clip = client.post("/api/predict", files={"file": ("clip.mp4", mp4_bytes(synth_frames()))})
    assert clip.status_code == 200, clip.text
    job = client.post("/api/recordings", files={"file": ("rec.mp4", mp4_bytes(synth_frames(n=30, apex=18)))}).json()
    client.get(job["urls"]["events"]).read()  # until the job ends
    recording = client.get(job["urls"]["result"])
    assert recording.status_code == 200, recording.text
    return clip.json(), recording.json()


def _figures(clip, interval):
    """(result, URL of its attention figure) of a clip and of a recording's first interval."""
    return [(clip, clip["files"]["attention.png"]), (interval, interval["files"]["interval-0-attention.png"])]


def test_by_default_each_figure_makes_the_check_and_the_json_gives_its_numbers(predictor, checks_made):
    with _served(predictor, ServeSettings()) as c:
        assert c.get("/api/model").json()["deletion_check"] is True
        clip, recording = _clip_and_recording(c)
        micro, macro = recording["intervals"]
        assert len(checks_made) == 2  # the clip's figure and the classified interval's; a macro one has none
        for result, url in _figures(clip, micro):
            check = result["deletion_check"]
            assert check["skipped"] is False and "note" not in check
            drawn = _gradcam_record(c, url)["deletion_check"]  # the numbers the figure's heading gives
            said = ("skipped", "faithful", "verdict")
            assert {k: v for k, v in drawn.items() if k != "how"} == {k: v for k, v in check.items() if k not in said}
            # and its reading, as the heading says it: the JSON gave the numbers without saying what they mean
            assert check["faithful"] is faithful(drawn) and check["verdict"] == deletion_verdict(drawn)
        assert "deletion_check" not in macro  # not drawn: nothing to check


def test_without_the_check_the_json_and_the_figure_say_the_map_is_not_tested(predictor, checks_made):
    with _served(predictor, ServeSettings(deletion_check=False)) as c:
        assert c.get("/api/model").json()["deletion_check"] is False
        clip, recording = _clip_and_recording(c)
        micro = recording["intervals"][0]
        assert checks_made == []  # the 7 predictions of each figure are saved
        for result, url in _figures(clip, micro):
            assert result["deletion_check"] == {"skipped": True, "note": DELETION_SKIPPED}
            assert "not tested for faithfulness" in DELETION_SKIPPED and "--no-deletion-check" in DELETION_SKIPPED
            assert _gradcam_record(c, url)["deletion_check"] is None
        assert clip["label"] and "note" not in clip  # classified and drawn as ever: only the check is left out


def test_serve_no_deletion_check_reaches_the_app(checkpoint, monkeypatch, capsys):
    from mmnet.cli import main
    from mmnet.commands import serve
    from mmnet.serve import server

    served = []
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: served.append(app) or True)
    assert main(["serve", "--checkpoint", str(checkpoint), "--no-deletion-check"]) == 0
    assert "not tested for faithfulness (--no-deletion-check)" in capsys.readouterr().out
    assert main(["serve", "--checkpoint", str(checkpoint)]) == 0
    for app, made in zip(served, (False, True)):
        with local_client(app) as c:
            assert c.get("/api/model").json()["deletion_check"] is made
            answer = c.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))}).json()
            assert answer["deletion_check"]["skipped"] is not made


def test_a_model_without_attention_blocks_gets_the_figure_explain_draws(tmp_path, checks_made):
    # the server answered "trained without attention blocks: no attention maps to draw" with no figure, no Grad-CAM
    # and no deletion check, while `mmnet explain` draws its inputs, Grad-CAM and deletion check
    from mmnet import MMNet
    from mmnet.infer import Predictor
    from mmnet.infer.explain_record import NO_ATTENTION
    from mmnet.model import CheckpointInfo
    from tests.serve_helpers import CLASSES

    MMNet(num_classes=len(CLASSES), image_size=32, use_ca=False).save_pretrained(
        tmp_path / "noca", CheckpointInfo(class_names=list(CLASSES), preprocessing={"image_size": 32}))
    with _served(Predictor.from_checkpoint(tmp_path / "noca"), ServeSettings()) as c:
        clip, recording = _clip_and_recording(c)
        assert len(checks_made) == 2 and "note" not in clip
        for result, url in _figures(clip, recording["intervals"][0]):
            assert result["deletion_check"]["skipped"] is False and "verdict" in result["deletion_check"]
            with Image.open(io.BytesIO(c.get(url).content)) as figure:
                assert figure.text["mmnet.method"] == NO_ATTENTION
                assert json.loads(figure.text["mmnet.gradcam"])["deletion_check"]["drop_top"] == \
                    result["deletion_check"]["drop_top"]


def test_the_json_gives_what_the_figure_says_in_pixels_only(predictor):
    # the Grad-CAM heading (branch shares, deletion check), the panels' titles and the maps' ranges were pixels only:
    # no screen reader and no program reading the JSON could get them
    with _served(predictor, ServeSettings()) as c:
        clip, recording = _clip_and_recording(c)
        micro, macro = recording["intervals"]
        for result, url in _figures(clip, micro):
            text, drawn = result["figure_text"], _gradcam_record(c, url)
            shares = drawn["shares"]
            assert text["gradcam_shares"] == shares and text["gradcam_cells"] == drawn["native_size"]
            assert text["heading"].startswith(f"inputs, and class-specific Grad-CAM of {result['label']} ")
            if shares is not None:  # None: a map zero everywhere (an untrained model's), which has no shares
                assert (f"motion branch {100 * shares['motion']:.0f} %, PC branch {100 * shares['pc']:.0f} % of "
                        "its positive attribution") in text["heading"]
            assert text["heading"].endswith(result["deletion_check"]["verdict"])
            cells = "x".join(map(str, drawn["native_size"]))
            assert text["titles"][0] == f"Grad-CAM, {result['label']}: only {cells} cells"
            assert len(text["gate_ranges"]) == 4 and len(text["titles"]) == 5
            for k, ((lo, hi), title) in enumerate(zip(text["gate_ranges"], text["titles"][1:]), start=1):
                assert title.startswith(f"stage {k}: ") and (title.endswith("fixed 0-1") or
                                                             title == f"stage {k}: {lo:.3g}-{hi:.3g}")
            assert text["gates_heading"].startswith("stages 1-4: ")
        assert "figure_text" not in macro  # not drawn
