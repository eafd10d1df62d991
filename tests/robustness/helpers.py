"""Shared pieces of the robustness suite: run the CLI and tell a named error from a traceback."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.errors import MMNetError

# state_every_s=0: a resume state after every epoch, which these tests interrupt and damage
TINY = ["train.epochs=2", "data.image_size=32", "model.image_size=32", "train.batch_size=4", "train.state_every_s=0"]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``mmnet ARGV`` in this process: (exit code, stdout, stderr). A traceback propagates (test fails)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_named_error(code: int, err: str, *needles: str) -> None:
    """Exit code 3 (an error mmnet explains) with a one-line ``error:`` head naming each of ``needles``."""
    assert code == 3, err
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)


def raises_named(fn, *needles: str) -> MMNetError:
    """``fn()`` raises an MMNetError whose message holds each of ``needles``."""
    with pytest.raises(MMNetError) as info:
        fn()
    for n in needles:
        assert n in str(info.value), (n, str(info.value))
    return info.value


def all_finite(value) -> bool:
    """Every number in a JSON-like value is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(all_finite(v) for v in value)
    return True


def small_checkpoint(path: Path, *, classes=("negative", "positive", "surprise"), image_size: int = 32) -> Path:
    """A small random mmnet checkpoint folder."""
    from mmnet import MMNet
    from mmnet.model import CheckpointInfo

    model = MMNet(num_classes=len(classes), image_size=image_size).eval()
    info = CheckpointInfo(class_names=list(classes), preprocessing={"image_size": image_size})
    return model.save_pretrained(path, info)


def cache_entry(folder: Path, key: str, *, mb: float = 1, days_ago: float = 0.0, index: dict | None = None) -> None:
    """A frame-cache entry of ``mb`` MB (its index ``index``, {} by default) with a flow file, last used
    ``days_ago`` days ago, as `mmnet cache` and `mmnet info --cache` see them."""
    import json
    import os
    import time

    import numpy as np

    np.save(folder / f"frames-{key}.npy", np.zeros(int(mb * 1e6), np.uint8))
    (folder / f"frames-{key}.json").write_text(json.dumps(index or {}))
    np.save(folder / f"flows-{key}-tvl1.npy", np.zeros(10, np.float32))
    t = time.time() - days_ago * 86400
    for p in folder.glob(f"*{key}*"):
        os.utime(p, (t, t))
