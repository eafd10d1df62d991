"""Entries of an earlier cache format (no run of this mmnet reads them): counted by `mmnet info --cache` and
removed by `mmnet cache prune --stale`, whatever their age; a current or a later version's entry stays."""

from __future__ import annotations

import json

import numpy as np

from mmnet.calibration_version import CACHE_VERSION as CALIBRATION_VERSION
from mmnet.data.cache import CACHE_VERSION
from mmnet.preprocess.flow import FLOW_VERSION

from .helpers import cache_entry, cli


def _frames(folder, key, version, days_ago=0.0):
    cache_entry(folder, key, days_ago=days_ago, index={"version": version, "image_size": 64})


def test_prune_stale_removes_the_earlier_formats_only(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    _frames(folder, "0001", 1)  # frame cache version 1, used just now: --older-than would keep it
    _frames(folder, "0002", CACHE_VERSION, days_ago=90)
    _frames(folder, "0003", CACHE_VERSION + 1)  # a newer mmnet's, in a shared folder
    (folder / "frames-0004.json").write_text("{not json")  # damaged: its own code rebuilds it
    np.save(folder / "frames-0004.npy", np.zeros(10, np.uint8))
    old_flow = folder / f"flow-v{FLOW_VERSION - 1}-tvl1"
    new_flow = folder / f"flow-v{FLOW_VERSION}-tvl1"
    for flows in (old_flow, new_flow):
        flows.mkdir()
        np.save(flows / "s01-clip-0123456789.npy", np.zeros(10, np.float32))
    (folder / "calibration").mkdir()
    (folder / "calibration" / "aa.json").write_text(json.dumps({"version": CALIBRATION_VERSION - 1}))
    (folder / "calibration" / "bb.json").write_text(json.dumps({"version": CALIBRATION_VERSION}))
    stale = ["frames-0001", f"flow-v{FLOW_VERSION - 1}-tvl1/s01-clip-0123456789.npy", "calibration/aa.json"]

    code, out, _ = cli(capsys, "info", "--cache", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["stale_entries"] == 3 and 1e6 < doc["stale_bytes"] < 1.1e6
    code, out, _ = cli(capsys, "info", "--cache")
    assert "stale:   1.0 MB in 3 entries of an earlier cache format" in out and "--stale" in out

    code, out, _ = cli(capsys, "cache", "prune", "--stale", "--dry-run")
    assert code == 0 and sorted(line.split()[2] for line in out.splitlines() if line.startswith("would")) == \
        sorted(stale)
    assert "stale: frame cache version 1" in out and (folder / "frames-0001.npy").exists()
    code, out, _ = cli(capsys, "cache", "prune", "--stale")
    assert code == 0 and not (folder / "frames-0001.npy").exists() and not (folder / "flows-0001-tvl1.npy").exists()
    assert not old_flow.exists() and not (folder / "calibration" / "aa.json").exists()
    kept = ["frames-0002.npy", "frames-0003.npy", "frames-0004.npy", "calibration/bb.json",
            f"flow-v{FLOW_VERSION}-tvl1/s01-clip-0123456789.npy"]
    assert all((folder / k).exists() for k in kept)
    code, out, _ = cli(capsys, "cache", "prune", "--stale", "--older-than", "30")  # both: the old one goes too
    assert "frames-0002" in out and not (folder / "frames-0002.npy").exists() and (folder / "frames-0003.npy").exists()


def test_info_cache_names_the_default_folder_where_an_earlier_mmnet_cached_faces(tmp_path, monkeypatch, capsys):
    """mmnet 0.1.0 did not read $MMNET_CACHE_DIR: its frames lie in $XDG_CACHE_HOME/mmnet, which prune misses."""
    own, xdg = tmp_path / "own", tmp_path / "xdg"
    own.mkdir()
    (xdg / "mmnet").mkdir(parents=True)
    monkeypatch.setenv("MMNET_CACHE_DIR", str(own))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    code, out, _ = cli(capsys, "info", "--cache")
    assert code == 0 and "also:" not in out  # nothing there
    _frames(xdg / "mmnet", "0001", 1)
    code, out, _ = cli(capsys, "info", "--cache")
    assert f"also:    {xdg / 'mmnet'} holds mmnet frame-cache entries too" in out
    assert f"mmnet cache prune --stale --dir {xdg / 'mmnet'}" in out and f"chmod -R go= {xdg / 'mmnet'}" in out
    code, out, _ = cli(capsys, "info", "--cache", "--json")
    assert json.loads(out)["other_cache_dir_with_frames"] == str(xdg / "mmnet")
    monkeypatch.delenv("MMNET_CACHE_DIR")  # the default folder is the one shown: no second line
    code, out, _ = cli(capsys, "info", "--cache")
    assert "also:" not in out
