"""A cache sub-folder (calibration/, flow-v*/) that `mmnet cache prune` removes, emptied, between a writer making
it and creating its file there: the writer makes it again instead of failing with FileNotFoundError."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmnet.data.cache_folder import entry_lock
from mmnet.train.calibrate import not_keepable
from mmnet.utils import atomic_write_text


@pytest.fixture
def pruned_after_mkdir(monkeypatch):
    """The first folder made is removed at once, as prune's rmdir of an empty folder would, racing the maker."""
    real_mkdir, raced = Path.mkdir, []

    def mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        if not raced:
            raced.append(self)
            self.rmdir()

    monkeypatch.setattr(Path, "mkdir", mkdir)
    return raced


def test_an_atomic_write_makes_its_folder_again(tmp_path, pruned_after_mkdir):
    path = tmp_path / "flow-v1-tvl1" / "sub01_EP02-0123456789.json"
    atomic_write_text(path, "{}")
    assert pruned_after_mkdir == [path.parent] and path.read_text() == "{}"


def test_an_entry_lock_makes_its_folder_again(tmp_path, monkeypatch):
    import filelock

    real_acquire, raced = filelock.FileLock.acquire, []

    def acquire(self, *args, **kwargs):  # the folder goes between its making and the lock file's open
        if not raced:
            raced.append(Path(self.lock_file).parent)
            Path(self.lock_file).parent.rmdir()
            raise FileNotFoundError(2, "No such file or directory", self.lock_file)
        return real_acquire(self, *args, **kwargs)

    monkeypatch.setattr(filelock.FileLock, "acquire", acquire)
    path = tmp_path / "calibration" / "0123abcd.json"
    with entry_lock(path) as held:  # held: not used unprotected for a missing folder
        assert raced == [path.parent] and held and path.with_suffix(".lock").is_file()


def test_a_calibration_folder_removed_meanwhile_is_still_keepable(tmp_path, pruned_after_mkdir):
    path = tmp_path / "calibration" / "0123abcd.json"
    assert not_keepable(path) is None and pruned_after_mkdir == [path.parent] and path.parent.is_dir()
