"""A full disk while the frame cache is built: a named error, not SIGBUS, and no partial cache left."""

from __future__ import annotations

import errno
import os

import pytest

from mmnet.data import load_dataset
from mmnet.data.cache import build_frame_cache, frame_windows
from mmnet.errors import DataError

from .helpers import TINY, assert_named_error, cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=2, seed=0)


def _build(root, cache_dir):
    samples = load_dataset("casme2", root).samples
    windows = [frame_windows(s, 0.15, clamp=False) for s in samples]
    return build_frame_cache(samples, windows, image_size=32, cache_dir=cache_dir, num_workers=1)


def _full(fd, offset, length):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="the OS has no posix_fallocate")
def test_a_full_disk_is_a_named_error_and_leaves_no_partial_cache(root, tmp_path, monkeypatch, capsys):
    # writes through the memory map into a file the disk could not back killed the process with SIGBUS
    cache = tmp_path / "cache"
    monkeypatch.setattr(os, "posix_fallocate", _full)
    with pytest.raises(DataError) as info:
        _build(root, cache)
    message = str(info.value)
    for needle in (f"'{cache}'", "MB)", "No space left on device", "data.cache_dir", "MMNET_CACHE_DIR"):
        assert needle in message, (needle, message)
    # nothing a later run could take for a finished cache (the entry's empty lock file stays: deleting it could let
    # two builders in)
    assert [p for p in cache.iterdir() if p.suffix != ".lock"] == []
    sets = [x for s in [*TINY, f"data.cache_dir={cache}"] for x in ("--set", s)]
    code, _, err = cli(capsys, "train", "--root", root, "--out", tmp_path / "run", *sets)
    assert_named_error(code, err, "frame cache", f"'{cache}'", "No space left", "data.cache_dir", "MMNET_CACHE_DIR")
    assert [p for p in cache.iterdir() if p.suffix != ".lock"] == []
    monkeypatch.undo()  # room again: the cache builds
    frames = _build(root, cache)
    assert frames.frames.shape[0] > 0 and frames.frames.max() > 0


def test_without_preallocation_the_cache_still_builds(root, tmp_path, monkeypatch):
    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)  # a file system that cannot preallocate
    first = _build(root, tmp_path / "a")
    monkeypatch.delattr(os, "posix_fallocate")  # an OS without it (macOS, Windows)
    second = _build(root, tmp_path / "b")
    assert (first.frames == second.frames).all() and first.frames.max() > 0
