from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

# ../shared beside the repository root: read-only reference data; tests skip when it is absent.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"
ANNOTATIONS = SHARED / "annotations"

# Training in tests never times the CPU (mmnet.train.calibrate: seconds per run); the calibration's own
# tests turn it on with fake timings. Set here so that CLI subprocesses inherit it.
os.environ["MMNET_CALIBRATE"] = "0"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _process_state_not_passed_on():
    """What mmnet sets for the whole process does not pass from one test to the next (tests/test_isolation.py): the
    calibrations that failed (a later test's training would not measure), what training sets (denormals flushed,
    glibc's malloc thresholds, cudnn.benchmark) and the environment variables a command sets for its process (a
    later test's subprocesses would inherit them)."""
    from mmnet import runtime
    from mmnet.cli import PROCESS_VARIABLES

    before = {name: os.environ.get(name) for name in PROCESS_VARIABLES}
    numerics, benchmark = runtime.cpu_numerics_state(), torch.backends.cudnn.benchmark
    yield
    if (calibrate := sys.modules.get("mmnet.train.calibrate")) is not None:
        calibrate._FAILED.clear()  # empty in a fresh process; a test that fills it on purpose patches its own
    runtime.restore_cpu_numerics(numerics)
    torch.backends.cudnn.benchmark = benchmark
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(scope="module")
def table_root(tmp_path_factory):
    """A lab's own table dataset (``table``) made from synthetic clips: 3 subjects x 4 clips."""
    from mmnet import synth
    from tests.table_helpers import table_from_synth

    data = synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=3, clips_per_subject=4, seed=0)
    return table_from_synth(data, tmp_path_factory.mktemp("table") / "mylab")


@pytest.fixture
def copy(table_root, tmp_path):
    """A copy of ``table_root`` that a test may change."""
    import shutil

    root = tmp_path / "lab"
    shutil.copytree(table_root, root)
    return root


@pytest.fixture(scope="module")
def checkpoint(request, tmp_path_factory):
    """A tiny untrained checkpoint, one per test module: made by the module's ``MAKE_CHECKPOINT(path)`` where it
    has one (test_inference.make_checkpoint: 64 px, its own normalisation and BatchNorm statistics), else by
    serve_helpers.make_checkpoint (3 classes, 32 px; the serve tests')."""
    from tests.serve_helpers import make_checkpoint

    path = tmp_path_factory.mktemp("checkpoint") / "model"
    torch.manual_seed(0)
    getattr(request.module, "MAKE_CHECKPOINT", make_checkpoint)(path)
    return path


@pytest.fixture(scope="module")
def predictor(checkpoint):
    from mmnet.infer import Predictor

    return Predictor.from_checkpoint(checkpoint)


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """An 8-frame synthetic clip (apex at its 6th frame) as JPEGs numbered from 104, as CASME II names them."""
    from tests.test_inference import write_frames
    from tests.test_spotting import synthetic_clip

    return write_frames(tmp_path_factory.mktemp("clip") / "clip", synthetic_clip(8, 5),
                        [f"reg_img{104 + i}.jpg" for i in range(8)])


def pytest_sessionfinish(session, exitstatus):
    # submitit's LocalJob.__del__ needs its module's globals: jobs still referenced at the interpreter's shutdown
    # printed "Exception ignored in LocalJob.__del__ ... 'NoneType' object is not callable". Their clean-up (cancel
    # a job still running, forget its process) is done here, while the modules are there, and not again.
    import gc
    import sys

    local = sys.modules.get("submitit.local.local")
    if local is None:
        return
    gc.collect()
    for job in [o for o in gc.get_objects() if issubclass(type(o), local.LocalJob)]:  # type(): no proxies asked
        job.__del__()
    local.LocalJob.__del__ = lambda self: None
