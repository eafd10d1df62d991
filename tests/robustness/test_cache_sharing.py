"""One frame-cache entry shared by processes: a second builder waits for the first instead of deleting its work,
data changed on disk after the build are caught by their digest, and a killed build's temporary is cleaned up."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from mmnet.data import cache as cache_module
from mmnet.data import load_dataset
from mmnet.data.cache import build_frame_cache, frame_windows

from .helpers import cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=2, seed=0)


@pytest.fixture(autouse=True)
def new_process(monkeypatch):
    """Each test starts like a new process: no entry checked yet."""
    monkeypatch.setattr(cache_module, "_VERIFIED", {})


def _build(root, cache_dir):
    samples = load_dataset("casme2", root).samples
    windows = [frame_windows(s, 0.15, clamp=False) for s in samples]
    return build_frame_cache(samples, windows, image_size=32, cache_dir=cache_dir, num_workers=1)


_HOLDER = """
import sys, time
from pathlib import Path
from filelock import FileLock
lock_path, index_aside, index_path = map(Path, sys.argv[1:])
with FileLock(lock_path):
    print("held", flush=True)
    time.sleep(1.5)
    index_aside.rename(index_path)  # the first builder finishes: its index appears
"""


def test_a_second_builder_waits_for_the_first_and_uses_its_entry(root, tmp_path, capsys, caplog):
    # the reviewer's race: the first process had renamed its data into place and not yet written the index; the
    # second took the entry for damaged and deleted it, and the first then failed on np.load
    cache_dir = tmp_path / "cache"
    first = _build(root, cache_dir)
    data, index = first.path, first.path.with_suffix(".json")
    aside = tmp_path / "index-being-written"
    index.rename(aside)  # the first builder's state inside the window: data in place, index not yet
    inode = data.stat().st_ino
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(data.with_suffix(".lock")), str(aside), str(index)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        with caplog.at_level(logging.WARNING, logger="mmnet.data"):
            second = _build(root, cache_dir)
    finally:
        holder.wait(timeout=30)
    assert f"waiting for another mmnet process building the frame cache {data}" in capsys.readouterr().err
    assert "damaged" not in caplog.text
    assert data.stat().st_ino == inode  # the first builder's data, neither deleted nor built again
    assert second.content == first.content
    np.testing.assert_array_equal(second.frames, first.frames)


def test_data_changed_on_disk_fail_the_digest_and_are_rebuilt(root, tmp_path, caplog, monkeypatch):
    # a bit flipped in the cache's pixels kept its size: the run used it silently and recorded the old digest
    cache_dir = tmp_path / "cache"
    built = _build(root, cache_dir)
    good = np.array(built.frames)
    with open(built.path, "r+b") as f:  # invert bytes in the pixels, past the header
        f.seek(built.frames.offset + 100)
        chunk = f.read(64)
        f.seek(built.frames.offset + 100)
        f.write(bytes(255 - b for b in chunk))
    monkeypatch.setattr(cache_module, "_VERIFIED", {})  # a new process
    with caplog.at_level(logging.WARNING, logger="mmnet.data"):
        again = _build(root, cache_dir)
    assert f"frame cache '{built.path}' does not match the digest" in caplog.text
    np.testing.assert_array_equal(again.frames, good)  # rebuilt from the frame files
    assert again.content == built.content == json.loads(built.path.with_suffix(".json").read_text())["content"]


def test_the_digest_is_checked_once_per_process_and_entry(root, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    _build(root, cache_dir)  # the build computes it from the bytes it wrote
    calls = []
    real = cache_module.frames_digest
    monkeypatch.setattr(cache_module, "frames_digest", lambda *a: calls.append(1) or real(*a))
    _build(root, cache_dir)
    _build(root, cache_dir)
    assert calls == []
    monkeypatch.setattr(cache_module, "_VERIFIED", {})  # a new process checks it once
    _build(root, cache_dir)
    _build(root, cache_dir)
    assert calls == [1]


def test_a_killed_builds_temporary_is_removed_by_the_next_build_and_shown_meanwhile(root, tmp_path, monkeypatch,
                                                                                      capsys):
    cache_dir = tmp_path / "cache"
    data = _build(root, cache_dir).path
    data.unlink()
    data.with_suffix(".json").unlink()
    killed = cache_dir / f".{data.name}.4194999.tmp"  # SIGKILL mid-build: allocated at full size, never renamed
    killed.write_bytes(b"\0" * 3_000_000)
    other = cache_dir / ".frames-0123456789abcdef0123.npy.4194998.tmp"  # another entry's build: not this one's
    other.write_bytes(b"\0" * 10)
    monkeypatch.setenv("MMNET_CACHE_DIR", str(cache_dir))
    code, out, _ = cli(capsys, "info", "--cache")
    assert code == 0 and "partial: 3.0 MB in 2 temporary file(s)" in out, out
    code, out, _ = cli(capsys, "info", "--cache", "--json")
    assert json.loads(out)["temporary_bytes"] == 3_000_010
    _build(root, cache_dir)
    assert not killed.exists() and other.exists()
    assert data.exists()


def test_a_damaged_flow_cache_another_process_removed_meanwhile_is_rebuilt(root, tmp_path, monkeypatch):
    # it was deleted with unlink() between the check and the rebuild: FileNotFoundError when another process had
    # replaced or removed it in that time
    from mmnet.train import prepare

    cache = _build(root, tmp_path / "cache")
    samples = load_dataset("casme2", root).samples
    flows = cache.path.with_name(cache.path.stem.replace("frames-", "flows-") + "-farneback.npy")
    flows.write_bytes(b"damaged")
    real = prepare.npy_intact

    def checked_then_removed_by_another(path, shape):
        intact = real(path, shape)
        path.unlink()
        return intact

    monkeypatch.setattr(prepare, "npy_intact", checked_then_removed_by_another)
    assert prepare._build_flows(cache, samples, "farneback", progress=False) == flows
    assert np.load(flows).shape == (len(samples), 32, 32, 3)
