"""`mmnet spot`'s cost on the flow spotter's path: what it loads and the work it does per frame."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.serve_helpers import mp4_bytes, synth_frames

pytest.importorskip("av")


def test_the_flow_spotter_without_a_model_never_imports_torch(tmp_path):
    # torch is a model's: importing it costs the flow spotter about 2 s of CPU and 200 MB of memory for nothing.
    # As the `mmnet` program runs it (main() without argv): a call from Python keeps torch's state for its caller
    video = tmp_path / "clip.mp4"
    video.write_bytes(mp4_bytes(synth_frames(n=40, apex=20, seed=1)))
    out = tmp_path / "spots"
    argv = ["mmnet", "spot", str(video), "--no-align", "--no-progress", "--out", str(out)]
    code = (f"import sys\nfrom mmnet.cli import main\nsys.argv = {argv!r}\ncode = main()\n"
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr
    assert (out / "intervals.csv").is_file()

