"""The upload endpoints read the form fields their routes declare, from the routes themselves: every field a route
binds is accepted, every other refused naming the route's own fields, and a field added to a route needs no second
edit (serve.form_check)."""

from typing import Annotated

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from fastapi import FastAPI, File, Form, Request, UploadFile  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.form_check import check_form  # noqa: E402
from mmnet.serve.uploads import UploadError  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client  # noqa: E402


@pytest.fixture(scope="module")
def client(predictor):
    with local_client(create_app(predictor, spotter=fake_spotter()), raise_server_exceptions=False) as c:
        yield c


def upload_endpoints(schema):
    """Each endpoint that takes a file, with its form fields as /openapi.json lists them (file fields first)."""
    for path, operations in schema["paths"].items():
        body = operations.get("post", {}).get("requestBody", {}).get("content", {}).get("multipart/form-data")
        if body:
            name = body["schema"]["$ref"].rsplit("/", 1)[-1]
            fields = schema["components"]["schemas"][name]["properties"]
            files = [f for f, spec in fields.items() if spec.get("format") == "binary"
                     or spec.get("contentMediaType") == "application/octet-stream"]
            yield path, files, [f for f in fields if f not in files]


def test_every_upload_endpoint_reads_the_form_fields_its_route_declares(client):
    endpoints = list(upload_endpoints(client.get("/openapi.json").json()))
    assert [path for path, *_ in endpoints] == ["/api/predict", "/api/recordings"]
    for path, files, settings in endpoints:
        assert files == ["file"], path
        upload = {"file": ("a.mp4", b"not a video")}
        # each setting sent, with a value it takes: not refused as a field the endpoint does not read
        answer = client.post(path, files=upload, data=dict.fromkeys(settings, "1"))
        assert answer.json()["code"] != "field_invalid" and "not read" not in answer.text, (path, answer.text)
        # the refusals name exactly the route's fields
        answer = client.post(path, files=upload, data={"zzz": "1"})
        assert f"its form fields are {', '.join(files + settings)}" in answer.json()["error"], path
        answer = client.post(f"{path}?zzz=1", files=upload)
        assert f"whose settings are the form fields {', '.join(settings)}." in answer.json()["error"], path


def toy_client():
    """An endpoint with a form field the server's own do not have: check_form reads it off the route."""
    app = FastAPI()

    @app.post("/upload")
    async def upload(request: Request, video: Annotated[UploadFile, File()],
                     threshold: Annotated[float | None, Form()] = None,
                     min_score: Annotated[float | None, Form(alias="min-score")] = None):
        try:
            await check_form(request)
        except UploadError as exc:
            return {"refused": str(exc), "status": exc.status, "field": exc.field}
        return {"threshold": threshold, "min_score": min_score}

    return TestClient(app)


def test_a_form_field_added_to_a_route_is_read_without_a_second_list():
    with toy_client() as c:
        video = {"video": ("a.mp4", b"x")}
        assert c.post("/upload", files=video, data={"threshold": "0.5", "min-score": "2"}).json() == {
            "threshold": 0.5, "min_score": 2.0}
        got = c.post("/upload", files=video, data={"Threshold": "0.5"}).json()
        assert (got["field"], got["refused"]) == ("Threshold", "The form field 'Threshold' is not read by this "
                                                               "endpoint: did you mean 'threshold'? (its form "
                                                               "fields are video, threshold, min-score)")
        got = c.post("/upload", files=video, data={"min_score": "2"}).json()  # sent under its alias only
        assert got["refused"].endswith("did you mean 'min-score'? (its form fields are video, threshold, min-score)")
        got = c.post("/upload", files=video, data={"threshhold": "2"}).json()  # a spelling slip, not case alone
        assert "did you mean 'threshold'? (its form fields are" in got["refused"]
        got = c.post("/upload", files=video, data={"colour": "2"}).json()  # nothing close: the whole list
        assert got["refused"].endswith("its form fields are video, threshold, min-score")
        assert "(curl: -F threshold=VALUE)" in c.post("/upload?threshold=1", files=video).json()["refused"]
        assert "'threshold' was sent 2 times" in c.post("/upload", files=video,
                                                        data={"threshold": ["1", "2"]}).json()["refused"]
        got = c.post("/upload", files=[("video", ("a.mp4", b"x")), ("video", ("b.mp4", b"y"))]).json()
        assert (got["status"], got["field"]) == (400, "video") and "in the form field 'video'" in got["refused"]
