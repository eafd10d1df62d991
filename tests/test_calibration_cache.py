"""Inference reads this machine's calibration without loading the training stack (mmnet.calibration_cache)."""

import json
import os
import subprocess
import sys

LOAD_A_PREDICTOR = """
import json, sys
from types import SimpleNamespace
import mmnet.infer
from mmnet.commands.common import load_predictor

class Stub:  # a Predictor without a checkpoint: the imports of the load path are what is looked at
    preprocessing = SimpleNamespace(image_size=64)
    def use_cpu_routes(self, routes): self.routes = routes

mmnet.infer.Predictor.from_checkpoint = classmethod(lambda cls, *a, **k: Stub())
load_predictor("model", device="cpu")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("mmnet.train", "pandas")))))
"""


def test_loading_a_predictor_imports_neither_the_training_stack_nor_pandas(tmp_path):
    # load_predictor took its kernel routes from mmnet.train.calibrate, whose package pulled in the
    # experiment, its executors, every loader and pandas: 0.6 s more for every predict/explain/serve
    out = subprocess.run([sys.executable, "-c", LOAD_A_PREDICTOR], capture_output=True, text=True, check=True,
                         env={**os.environ, "MMNET_CACHE_DIR": str(tmp_path), "MMNET_CALIBRATE": "1"}).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_the_listing_skips_files_a_prune_removes_meanwhile(tmp_path, monkeypatch):
    # `mmnet info` listed the calibrations while `mmnet cache prune` removed some: a file gone between its listing and
    # its stat raised FileNotFoundError, one gone before it was read was listed as unreadable
    from pathlib import Path

    from mmnet import calibration_cache

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.json").write_text("{}")  # not a calibration: listed as unreadable, as a kept one is
    real_glob, real_read = Path.glob, calibration_cache.read_calibration

    def glob_then_prune(self, pattern):
        found = list(real_glob(self, pattern))
        (tmp_path / "a.json").unlink()
        return iter(found)

    def read_after_prune(path):
        (tmp_path / "c.json").unlink(missing_ok=True)
        return real_read(path)

    monkeypatch.setattr(Path, "glob", glob_then_prune)
    monkeypatch.setattr(calibration_cache, "read_calibration", read_after_prune)
    listed = calibration_cache.cached_calibrations(tmp_path)
    assert [(path.name, "unreadable" in why) for path, why in listed] == [("b.json", True)]


def test_cache_help_says_the_cache_holds_the_cpu_calibrations(capsys):
    # `mmnet cache prune` lists and removes calibration records and locks; its help named frames, flow and apex only
    import pytest

    from mmnet.cli import main

    with pytest.raises(SystemExit):
        main(["cache", "--help"])
    assert "CPU calibrations" in " ".join(capsys.readouterr().out.split())
