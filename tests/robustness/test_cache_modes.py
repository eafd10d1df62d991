"""The frame cache on a shared server: the folders mmnet makes, and the decoded faces, optical flow and sample ids
in them, are private to their user under a umask of 022; a folder the user made shared on purpose stays as it is."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from mmnet.data import cache as cache_module
from mmnet.data import load_dataset
from mmnet.data.cache import build_frame_cache, frame_windows
from mmnet.preprocess.flow import cached_flow

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=2, seed=0)


@pytest.fixture(autouse=True)
def umask_022(monkeypatch):
    monkeypatch.setattr(cache_module, "_VERIFIED", {})
    old = os.umask(0o022)
    yield
    os.umask(old)


def _build(root, cache_dir):
    samples = load_dataset("casme2", root).samples
    windows = [frame_windows(s, 0.15, clamp=False) for s in samples]
    return build_frame_cache(samples, windows, image_size=32, cache_dir=cache_dir, num_workers=1)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_cache_folder_mmnet_makes_and_its_files_are_private(root, tmp_path):
    cache_dir = tmp_path / "made" / "by" / "mmnet"
    _build(root, cache_dir)
    entries = sorted(p for p in cache_dir.iterdir() if p.suffix in (".npy", ".json"))
    assert {p.suffix for p in entries} == {".npy", ".json"}
    for folder in (tmp_path / "made", tmp_path / "made" / "by", cache_dir):
        assert _mode(folder) & 0o077 == 0, f"{folder} is {oct(_mode(folder))}"
    for path in entries:
        assert _mode(path) & 0o077 == 0, f"{path.name} is {oct(_mode(path))}"


def test_a_folder_the_user_shares_keeps_its_mode(root, tmp_path):
    shared = tmp_path / "group-cache"
    shared.mkdir()
    os.chmod(shared, 0o2770)
    _build(root, shared)
    assert _mode(shared) == 0o2770
    index = next(shared.glob("frames-*.json"))
    assert _mode(index) & 0o040  # the group's, as the umask gives it


def test_the_flow_cache_is_private_where_mmnet_makes_it(tmp_path):
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(tmp_path / "cache", "sub01/EP01", face, face, "farneback")
    (path,) = (tmp_path / "cache").rglob("*.npy")
    assert _mode(path.parent) & 0o077 == 0 and _mode(path) & 0o077 == 0


def test_the_runs_flow_array_beside_the_frame_cache_is_private(root, tmp_path):
    # flows-<key>-<method>.npy, the run's optical flow of every clip, was written 0644 beside the private frames
    from mmnet.train.prepare import _build_flows

    cache_dir = tmp_path / "made"
    cache = _build(root, cache_dir)
    path = _build_flows(cache, load_dataset("casme2", root).samples, "farneback", progress=False)
    assert path.parent == cache_dir and path.name.startswith("flows-")
    assert _mode(path) & 0o077 == 0, f"{path.name} is {oct(_mode(path))}"


def _group_cache(tmp_path):
    shared = tmp_path / "group-cache"
    shared.mkdir()
    os.chmod(shared, 0o2770)
    os.umask(0o002)  # as the docs ask of each user of a group cache
    return shared


def test_the_folders_mmnet_makes_in_a_group_cache_are_the_groups(tmp_path):
    # flow/, flow-v1-<method>/ and apex/ were made 0700 (files 0600) in a 2770 cache: another user of the group could
    # neither write flow of another method nor see, and so prune, the first user's files
    from mmnet.data.apex import ApexCache
    from mmnet.data.cache_folder import entry_lock

    shared = _group_cache(tmp_path)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(shared / "flow", "sub01/EP01", face, face, "farneback")
    apex = ApexCache(shared / "apex" / "smic-hs.json")
    apex.entries, apex.dirty = {"x": {"apex": 1}}, True
    apex.save()
    with entry_lock(shared / "calibration" / "0123abcd.json"):
        pass
    (flow,) = shared.rglob("*.npy")
    for folder in (shared / "flow", flow.parent, shared / "apex", shared / "calibration"):
        assert _mode(folder) == 0o2770, f"{folder.relative_to(shared)} is {oct(_mode(folder))}"
    for path in (flow, shared / "apex" / "smic-hs.json"):
        assert _mode(path) & 0o060 == 0o060, f"{path.relative_to(shared)} is {oct(_mode(path))}"


def test_the_folders_mmnet_makes_in_its_own_cache_folder_stay_private(tmp_path):
    cache = tmp_path / "made-by-mmnet"
    os.umask(0o002)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(cache / "flow", "sub01/EP01", face, face, "farneback")
    (flow,) = cache.rglob("*.npy")
    for folder in (cache, cache / "flow", flow.parent):
        assert _mode(folder) == 0o700, f"{folder} is {oct(_mode(folder))}"
    assert _mode(flow) == 0o600


def test_a_flow_folder_that_keeps_the_user_out_is_named_with_its_owner_and_mode(tmp_path, monkeypatch):
    # another user's private flow-v1-dis/ in a group cache: the bare "Permission denied" said a rerun would continue
    from mmnet.errors import DataError
    from mmnet.preprocess import flow as flow_module
    from mmnet.preprocess.flow import flow_cache_path

    shared = _group_cache(tmp_path)
    path = flow_cache_path(shared / "flow", "sub01/EP01", "dis")
    path.parent.mkdir(parents=True)
    os.chmod(path.parent, 0o700)

    def refused(target, *args, **kwargs):  # as the kernel refuses another user (root may write anywhere)
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(flow_module, "write_private", refused)
    face = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(DataError) as info:
        cached_flow(shared / "flow", "sub01/EP01", face, face, "dis")
    message = str(info.value)
    assert f"'{path}' cannot be written (Permission denied; its folder {path.parent} keeps you out: owner " in message
    assert "mode drwx------" in message and "rerun stops here again" in message and "chmod -R g+rwX" in message


def test_an_apex_cache_that_keeps_the_user_out_is_named_and_estimated_again(tmp_path, monkeypatch, caplog):
    from mmnet.data import apex as apex_module
    from mmnet.data.apex import ApexCache

    shared = _group_cache(tmp_path)
    (shared / "apex").mkdir()
    os.chmod(shared / "apex", 0o700)

    def refused(target, *args, **kwargs):  # as the kernel refuses another user (root may write anywhere)
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(apex_module, "write_private", refused)
    apex = ApexCache(shared / "apex" / "smic-hs.json")
    apex.entries, apex.dirty = {"x": {"apex": 1}}, True
    apex.save()
    assert f"its folder {shared / 'apex'} keeps you out: owner " in caplog.text and "drwx------" in caplog.text
    assert "made again next time" in caplog.text and "rerun stops" not in caplog.text


@pytest.mark.parametrize("parent, umask, folder_mode, file_mode", [
    (0o755, 0o022, 0o700, 0o600),  # an earlier mmnet's cache folder: its flow and apex estimates were 0755/0644
    (0o1777, 0o002, 0o700, 0o600),  # a folder open to all (no setgid): shares nothing with anyone
    (0o1777, 0o000, 0o700, 0o600),  # ... was a world-writable flow/ under umask 0
    (0o3770, 0o002, 0o3770, 0o660),  # a group folder's sticky bit was lost
    (0o2770, 0o002, 0o2770, 0o660),
    (0o2775, 0o000, 0o2770, 0o660),  # a group folder shares with the group, never with other users
], ids=["0755", "1777-umask002", "1777-umask0", "3770", "2770", "2775-umask0"])
def test_folders_made_in_a_cache_folder_share_only_a_group_folders_group_access(tmp_path, parent, umask, folder_mode,
                                                                               file_mode):
    from mmnet.data.apex import ApexCache

    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, parent)
    os.umask(umask)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(cache / "flow", "sub01/EP01", face, face, "farneback")
    apex = ApexCache(cache / "apex" / "smic-hs.json")
    apex.entries, apex.dirty = {"x": {"apex": 1}}, True
    apex.save()
    (flow,) = cache.rglob("*.npy")
    for folder in (cache / "flow", flow.parent, cache / "apex"):
        assert _mode(folder) == folder_mode, f"{folder.relative_to(cache)} is {oct(_mode(folder))}"
    for path in (flow, cache / "apex" / "smic-hs.json"):
        assert _mode(path) == file_mode, f"{path.relative_to(cache)} is {oct(_mode(path))}"
    assert _mode(cache) == parent


def test_the_frames_in_an_earlier_mmnets_open_cache_folder_are_private(root, tmp_path):
    # a 0755 ~/.cache/mmnet made before mmnet made its cache private: its files were written 0644
    cache = tmp_path / "old-cache"
    cache.mkdir()
    os.chmod(cache, 0o755)
    _build(root, cache)
    entries = [p for p in cache.iterdir() if p.suffix in (".npy", ".json")]  # the .lock holds no data
    assert entries and all(_mode(p) == 0o600 for p in entries), {p.name: oct(_mode(p)) for p in entries}
    assert _mode(cache) == 0o755


def test_another_users_flow_file_is_named_not_written_over(tmp_path, monkeypatch):
    # np.load's PermissionError was taken for a disk error: the flow was computed again and written over their file
    from mmnet.errors import DataError

    shared = _group_cache(tmp_path)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(shared / "flow", "sub01/EP01", face, face, "farneback")
    (path,) = shared.rglob("*.npy")
    inode, load = path.stat().st_ino, np.load

    def refused(target, *args, **kwargs):  # as the kernel refuses another user's 0600 file (root may read anywhere)
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return load(target, *args, **kwargs)

    monkeypatch.setattr(np, "load", refused)
    with pytest.raises(DataError) as info:
        cached_flow(shared / "flow", "sub01/EP01", face, face, "farneback")
    assert f"'{path}' cannot be read (Permission denied; it belongs to " in str(info.value)
    assert "it is left as it is" in str(info.value) and path.stat().st_ino == inode


def test_face_files_are_private_from_their_creation_in_an_open_folder(root, tmp_path, monkeypatch):
    # chmod after the write left a window in which any account could open the file, and a descriptor opened then
    # reads every face written later: the temporaries are created 0600 in a folder without the setgid bit
    from mmnet import utils
    from mmnet.train.prepare import _build_flows

    created = {}
    real_create, real_memmap = utils._create_temporary, np.lib.format.open_memmap

    def create(path, *args):
        fd, tmp = real_create(path, *args)
        created[os.path.basename(tmp)] = stat.S_IMODE(os.fstat(fd).st_mode)
        return fd, tmp

    def memmap(filename, mode="r+", *args, **kwargs):
        if mode == "w+":  # the frame cache's data, before a frame is written into it
            created[os.path.basename(filename)] = _mode(filename) if os.path.exists(filename) else None
        return real_memmap(filename, mode, *args, **kwargs)

    monkeypatch.setattr(utils, "_create_temporary", create)
    monkeypatch.setattr(np.lib.format, "open_memmap", memmap)
    cache = tmp_path / "old-cache"
    cache.mkdir()
    os.chmod(cache, 0o755)
    frames = _build(root, cache)
    _build_flows(frames, load_dataset("casme2", root).samples, "farneback", progress=False)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(cache / "flow", "sub01/EP01", face, face, "farneback")
    names = sorted(created)  # the frames and their index, the per-clip flows, the run's flow array, a flow file
    assert any(".json." in n for n in names) and len(names) == 8, names
    assert any(n.startswith(".flows-") for n in names) and any(n.startswith(".sub01_EP01") for n in names), names
    assert all(mode == 0o600 for mode in created.values()), created


@pytest.mark.parametrize("parent, inside", [(0o3770, True), (0o2755, False)], ids=["group-sticky", "setgid-parent"])
def test_a_folder_swapped_for_a_link_before_its_mode_is_set_is_refused(tmp_path, monkeypatch, parent, inside):
    # chmod by path after mkdir followed a link that a member of the group, who may write the cache folder, put in
    # place of the folder just made: it gave the link's target the sticky and setgid bits
    from pathlib import Path

    from mmnet.errors import DataError
    from mmnet.private_files import make_private_folder

    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, parent)  # its sticky bit (mkdir drops it) or setgid bit (mkdir passes it on) is set after mkdir
    os.umask(0o002)
    victim = tmp_path / "victim"
    victim.mkdir()
    os.chmod(victim, 0o700)
    real_mkdir = Path.mkdir

    def mkdir_then_swap(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        if self.name == "flow":
            self.rename(tmp_path / "moved-away")
            self.symlink_to(victim)

    monkeypatch.setattr(Path, "mkdir", mkdir_then_swap)
    with pytest.raises(DataError) as info:
        make_private_folder(cache / "flow", inside=cache if inside else None)
    assert _mode(victim) == 0o700
    assert f"'{cache / 'flow'}' is not the folder mmnet has just made there (it is a link now)" in str(info.value)


def test_a_cache_folder_mmnet_makes_in_a_setgid_folder_is_private(root, tmp_path):
    # ~/.cache is setgid on some systems: the cache folder made in it took the setgid bit, and so its face files the
    # group's read access (0640) and the folders in it the setgid bit; only a cache folder that is a group folder
    # before mmnet uses it is shared
    from mmnet.data.apex import ApexCache

    home = tmp_path / "dot-cache"
    home.mkdir()
    os.chmod(home, 0o2755)
    cache = home / "mmnet"
    _build(root, cache)
    face = np.zeros((16, 16, 3), np.uint8)
    cached_flow(cache / "flow", "sub01/EP01", face, face, "farneback")
    apex = ApexCache(cache / "apex" / "smic-hs.json")
    apex.entries, apex.dirty = {"x": {"apex": 1}}, True
    apex.save()
    (flow,) = cache.glob("flow/*/*.npy")
    for folder in (cache, cache / "flow", flow.parent, cache / "apex"):
        assert _mode(folder) == 0o700, f"{folder.relative_to(home)} is {oct(_mode(folder))}"
    files = [p for p in cache.iterdir() if p.suffix in (".npy", ".json")] + [flow, cache / "apex" / "smic-hs.json"]
    assert len(files) == 4 and all(_mode(p) == 0o600 for p in files), {p.name: oct(_mode(p)) for p in files}
    assert _mode(home) == 0o2755


def test_a_folder_swapped_for_another_folder_before_its_mode_is_set_keeps_that_folders_mode(tmp_path, monkeypatch):
    # an older folder of this user's moved into its place: the sticky and setgid bits are not given to it
    from pathlib import Path

    from mmnet.errors import DataError
    from mmnet.private_files import make_private_folder

    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o3770)
    os.umask(0o002)
    other = tmp_path / "other"
    other.mkdir()
    os.chmod(other, 0o755)
    real_mkdir = Path.mkdir

    def mkdir_then_swap(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        if self.name == "flow":
            self.rename(tmp_path / "moved-away")
            other.rename(self)

    monkeypatch.setattr(Path, "mkdir", mkdir_then_swap)
    with pytest.raises(DataError, match="is not the folder mmnet has just made there \\(now: owner .*drwxr-xr-x\\)"):
        make_private_folder(cache / "flow", inside=cache)
    assert _mode(cache / "flow") == 0o755
