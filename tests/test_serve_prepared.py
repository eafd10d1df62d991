"""`mmnet serve` on a zip of a folder mmnet prepare wrote: the marker beside the frames comes with them, so the
server refuses and warns of the frames where prepare found the face moved out of the crop, as `mmnet predict`."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from mmnet.media import PREPARED_MARKER  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.messages import SERVE_NOT_CHECKED  # noqa: E402
from tests.serve_helpers import local_client  # noqa: E402

SETTINGS = {"size": [280, 340], "eye_y": 0.38, "iod": 0.4, "onset": 0, "quality": 95, "landmarks": 68}
RECORD = {"n_frames": 40, "alignment": None, "warnings": [],
          "face_watch": {"step": 10, "spans": [[20, 20, "moved"], [30, 39, "gone"]]}}


def _prepared_zip(marker_folder: str = "clip/") -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for n in range(40):
            png = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (40, 34, 3), dtype=np.uint8)).save(png, format="PNG")
            archive.writestr(f"clip/reg_img{n}.png", png.getvalue())
        archive.writestr(marker_folder + PREPARED_MARKER, json.dumps(
            {"written_by": "mmnet prepare", "settings": SETTINGS, "record": RECORD}))
    return buf.getvalue()


@pytest.fixture(scope="module")
def client(predictor):
    app = create_app(predictor, settings=ServeSettings())
    with local_client(app, raise_server_exceptions=False) as c:
        yield c


def _post(client, data: bytes, apex: int):
    return client.post("/api/predict", files={"file": ("prepared.zip", data, "application/zip")},
                       data={"onset": "0", "apex": str(apex)})


def test_a_frame_where_prepare_found_the_face_away_is_refused(client):
    for apex in (20, 25, 35):
        r = _post(client, _prepared_zip(), apex)
        assert 400 <= r.status_code < 500, r.text
        assert f"apex frame 'reg_img{apex}.png': mmnet prepare found the face" in r.json()["error"]


def test_a_frame_near_them_is_a_warning_and_the_crops_are_said_to_be_prepared(client):
    r = _post(client, _prepared_zip(), 12)
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert any(w.startswith("face_moved: apex frame 12 lies within 9 frames") for w in warnings), warnings
    assert any(w.startswith("prepared by mmnet prepare (68 points") for w in warnings) and SERVE_NOT_CHECKED \
        not in warnings


def test_a_marker_elsewhere_in_the_archive_is_not_the_clips(client):
    r = _post(client, _prepared_zip("other/"), 25)
    assert r.status_code == 200, r.text
    assert SERVE_NOT_CHECKED in r.json()["warnings"]
