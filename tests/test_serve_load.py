"""A bounded load test of `mmnet serve` on loopback: a fixed number of requests, 4 at a time, mixing
clips, bad uploads and health checks. The server must answer every one, keep serving, leave no
upload folder behind, hold at most ``max_kept`` results, and its memory must stay flat."""

import gc
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.infer import Predictor  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import (  # noqa: E402
    LiveServer,
    make_checkpoint,
    mp4_bytes,
    synth_frames,
    uploads_left,
    zip_bytes,
)

REQUESTS = 200
CONCURRENT = 4
# A functional leak guard, not a memory benchmark: a generous bound on growth after a warm-up round, so that
# allocator noise never trips it; it catches what piles up per request (a kept matplotlib figure, a thread pool
# or a model copy per request), not a leak of a few kilobytes.
RSS_GROWTH_MB = 60


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_server_stays_up_and_flat_under_load(tmp_path):
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path / "model"))
    settings = ServeSettings(workers=1, queue=CONCURRENT, max_kept=8)
    frames = synth_frames(n=10, apex=5)
    uploads = [("clip.mp4", mp4_bytes(frames), 200), ("frames.zip", zip_bytes(frames), 200),
               ("notes.txt", b"not a clip at all", 415), (None, None, 200)]
    app = create_app(predictor, settings=settings)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:

        def one(k: int) -> tuple[int, int]:
            name, data, want = uploads[k % len(uploads)]
            if name is None:
                return client.get("/api/health").status_code, want
            return client.post("/api/predict", files={"file": (name, data)}).status_code, want

        def round_of(n: int) -> list[tuple[int, int]]:
            with ThreadPoolExecutor(CONCURRENT) as pool:
                return list(pool.map(one, range(n)))

        round_of(20)  # warm-up: allocator pools, matplotlib, thread pools
        gc.collect()
        before = rss_mb()
        t0 = time.monotonic()  # printed only: speed belongs to the benchmarks
        answers = round_of(REQUESTS)
        seconds = time.monotonic() - t0
        gc.collect()
        after = rss_mb()
        assert [got for got, _ in answers] == [want for _, want in answers]
        assert client.get("/api/health").json()["status"] == "ok"
        assert uploads_left(app.state.root) == []
        assert sum(app.state.store.counts().values()) <= settings.max_kept
        assert after - before < RSS_GROWTH_MB, f"RSS grew from {before:.0f} MB to {after:.0f} MB"
        print(f"\n{REQUESTS} requests, {CONCURRENT} at a time: {seconds:.1f} s, RSS {before:.0f} -> {after:.0f} MB")
