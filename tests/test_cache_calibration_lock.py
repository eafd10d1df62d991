"""A calibration's lock left alone in the cache (a training killed while it measured the CPU): listed and pruned
under its own name, never as the calibration record that does not exist, and kept while a calibration holds it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mmnet.data.cache_folder import cache_entries, prune_cache


def _cli(*args: str, cache, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "MMNET_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "mmnet", *args], capture_output=True, text=True, env=env, timeout=120,
                          **kw)


@pytest.fixture
def cache(tmp_path):
    folder = tmp_path / "cache"
    (folder / "calibration").mkdir(parents=True)
    (folder / "calibration" / "abcd1234.lock").touch()
    return folder


def test_a_lone_calibration_lock_is_an_entry_under_its_own_name(cache):
    (cache / "calibration" / "ee01.json").write_text("{}")
    (cache / "calibration" / "ee01.lock").touch()
    entries = {e.name.replace(os.sep, "/"): e for e in cache_entries(cache)}
    assert sorted(entries) == ["calibration/abcd1234.lock", "calibration/ee01.json"]
    assert entries["calibration/abcd1234.lock"].paths == [cache / "calibration" / "abcd1234.lock"]
    assert entries["calibration/abcd1234.lock"].note == "left by an interrupted calibration"
    assert len(entries["calibration/ee01.json"].paths) == 2 and entries["calibration/ee01.json"].note == ""


def test_prune_lists_and_removes_the_lock_itself(cache):
    dry = _cli("cache", "prune", "--all", "--dry-run", cache=cache)
    assert dry.returncode == 0, dry.stderr
    assert "would remove  calibration/abcd1234.lock  0 B" in dry.stdout
    assert "(left by an interrupted calibration)" in dry.stdout and ".json" not in dry.stdout
    assert (cache / "calibration" / "abcd1234.lock").exists()
    info = _cli("info", "--cache", cache=cache)
    assert "0 B in 1 entry" in info.stdout, info.stdout + info.stderr
    done = _cli("cache", "prune", "--all", cache=cache)
    assert done.returncode == 0, done.stderr
    assert "removed  calibration/abcd1234.lock" in done.stdout
    assert not (cache / "calibration").exists()  # the lock and its emptied folder
    assert cache_entries(cache) == []


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_lock_a_calibration_holds_is_kept(cache):
    import fcntl

    lock = cache / "calibration" / "abcd1234.lock"
    with open(lock, "a") as held:  # as filelock holds it while mmnet.train.calibrate measures
        fcntl.flock(held, fcntl.LOCK_EX)
        for dry_run in (True, False):
            result = prune_cache(cache, older_than_days=0.0, dry_run=dry_run)
            assert [e.name.replace(os.sep, "/") for e in result.in_use] == ["calibration/abcd1234.lock"]
            assert result.removed == [] and lock.exists()
    assert [e.name for e in prune_cache(cache, older_than_days=0.0).removed] and not lock.exists()
