"""What the serve tests share: a tiny checkpoint (conftest's ``checkpoint`` and ``predictor`` fixtures make one
per test module), synthetic clips (mp4 and zip), a fake spotter."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import torch

from mmnet import MMNet
from mmnet.model import CheckpointInfo

CLASSES = ["negative", "positive", "surprise"]


def local_client(app, **kwargs):
    """A TestClient for ``app`` that names the server as a browser on this computer does (``Host: localhost``):
    the server refuses other names (TestClient's default ``testserver`` included). Every answer of an endpoint
    in /openapi.json is checked against it (``assert_documented``): each test's scenarios check the schema."""
    from fastapi.testclient import TestClient

    follow = kwargs.pop("follow_redirects", None)  # no TestClient argument in starlette 0.27 (fastapi 0.105)
    client = TestClient(app, base_url="http://localhost", **kwargs)
    if follow is not None:
        client.follow_redirects = follow
    client.event_hooks = {"response": [lambda response: assert_documented(app.openapi(), response)]}
    return client


def documented_operation(schema: dict, method: str, path: str) -> dict | None:
    """The operation of ``schema`` that answers ``method path``, or None (the page, /docs, no route)."""
    for template, operations in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template), path) and method.lower() in operations:
            return operations[method.lower()]
    return None


def assert_documented(schema: dict, response) -> None:
    """``response``'s status and media type are among those its operation declares; an error's body is ErrorBody."""
    request = response.request
    operation = documented_operation(schema, request.method, request.url.path)
    if operation is None:
        return
    where = f"{request.method} {request.url.path} answered {response.status_code}"
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{where}, which /openapi.json does not declare: {sorted(operation['responses'])}"
    media = response.headers.get("content-type", "").split(";")[0].strip()
    content = declared.get("content", {})
    assert (media in content) if media else not content, f"{where} as {media!r}; declared: {sorted(content)}"
    if response.status_code >= 400:
        assert content[media]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, where
        from mmnet.serve.codes import CODES

        response.read()  # an error is never streamed
        assert response.json().get("code") in CODES, f"{where} without a known code: {response.text[:300]}"


def make_checkpoint(path, seed: int = 0):
    torch.manual_seed(seed)
    model = MMNet(num_classes=len(CLASSES), image_size=32)
    model.save_pretrained(path, CheckpointInfo(class_names=list(CLASSES), preprocessing={"image_size": 32}))
    return path


def synth_frames(n: int = 12, apex: int = 6, size: tuple[int, int] = (64, 80), seed: int = 0) -> np.ndarray:
    """(n, H, W, 3) uint8 frames of a synthetic face raising its lip corners (AU12) to ``apex``."""
    from mmnet.synth import render_face
    from mmnet.synth.motion import Nuisance, displacement_field, parse_aus, render_clip

    rng = np.random.default_rng(seed)
    face = render_face(rng, size)
    field = displacement_field(face, parse_aus("6+12"), [3.0, 3.0])
    return render_clip(face, field, n, apex, rng, Nuisance())


def mp4_bytes(frames: np.ndarray, fps: int = 30) -> bytes:
    """The frames as a small H.264 mp4 (PyAV), in memory."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast", "x264-params": "mbtree=0"}  # same bytes each time
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def zip_bytes(frames: np.ndarray, folder: str = "clip/", name: str = "img{}.png") -> bytes:
    """The frames as PNGs numbered from 1 in a zip archive, in memory."""
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for i, image in enumerate(frames, start=1):
            png = io.BytesIO()
            Image.fromarray(image).save(png, format="PNG")
            archive.writestr(folder + name.format(i), png.getvalue())
    return buf.getvalue()


def fake_spotter(intervals=((3, 6, 9, "micro"), (15, 20, 26, "macro")), *, frames_seen=None):
    """A spotter returning the spot JSON's shape for fixed intervals (the real spotting is tested elsewhere),
    classified and with the images read as the server's spotter does (``classify_micro``, frames not aligned);
    it reads the recording through mmnet.media so a bad recording still fails."""

    def spot(path, *, fps=None, predictor=None, progress=None, classify_progress=None, draw=0):
        from dataclasses import asdict
        from types import SimpleNamespace

        from mmnet.infer import load_clip
        from mmnet.infer.recordings import classify_micro
        from mmnet.spotting.config import SpotConfig
        from mmnet.spotting.intervals import Interval
        from mmnet.spotting.spotter import FRAME_NUMBERING

        numbers = [n for n, _ in load_clip(path).stream()]
        if progress is not None:
            for k in range(1, len(numbers) + 1):
                progress(k, len(numbers))
        if frames_seen is not None:
            frames_seen.append(len(numbers))
        score = [float(abs(np.sin(n / 3.0))) for n in numbers]
        score[0] = float("nan")
        spotted = SimpleNamespace(source=path, intervals=[Interval(a, b, c, t, score=0.5)
                                                          for a, b, c, t in intervals if c <= numbers[-1]])
        pairs = ({} if predictor is None else
                 classify_micro(spotted, predictor, draw=draw, progress=classify_progress))
        return {"fps": fps or 30.0, "frames": len(numbers), "frame_numbering": FRAME_NUMBERING,
                "intervals": [i.to_dict() for i in spotted.intervals], "gaps": [], "strides": {"micro": 1, "macro": 2},
                "config": asdict(SpotConfig()), "curve": {"frames": numbers, "score": score}, "pairs": pairs}

    return spot


def bound_port(server) -> int:
    """The port a started uvicorn server listens on: the servers bind port 0 and the system picks a free one (a
    port found free beforehand may be taken by another program before the server binds it)."""
    return server.servers[0].sockets[0].getsockname()[1]


class LiveServer:
    """``mmnet.serve`` on a free loopback port in a background thread (uvicorn), for a real client; ``config``: more
    of uvicorn's settings (``root_path``)."""

    def __init__(self, app, **config):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **config))

    def __enter__(self):
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            if time.monotonic() - t0 > 20 or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.port = bound_port(self.server)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=20)


def recording_done(client, video: bytes, name: str = "rec.mp4", limit_s: float = 120) -> dict:
    """Upload a recording to a test server and wait until its job is done: the job (its ``urls``)."""
    import time

    job = client.post("/api/recordings", files={"file": (name, video)}).json()
    t0 = time.monotonic()
    while (state := client.get(job["urls"]["state"]).json())["status"] not in ("done", "failed"):
        assert time.monotonic() - t0 < limit_s, state
        time.sleep(0.05)
    assert state["status"] == "done", state
    return job


def uploads_left(root) -> list[str]:
    """What a server's upload folder holds beside the lock that marks it as a running server's
    (``mmnet.held_folders.LOCK_NAME``): each job's folder, until the job is removed."""
    from mmnet.held_folders import LOCK_NAME

    return sorted(p.name for p in root.iterdir() if p.name != LOCK_NAME)


def csv_download(response) -> str:
    """The text of an API CSV answer, checked to start without a UTF-8 BOM (only the page's download, ?bom=1, has
    one; a script's csv.DictReader would read it into the first column's name)."""
    assert response.status_code == 200 and not response.content.startswith(b"\xef\xbb\xbf"), response.content[:40]
    return response.content.decode("utf-8")
