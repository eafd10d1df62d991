"""``keep_private`` sets a cache file's mode through a descriptor of what is there, opened without following a
link: a link put in the place of a temporary just written cannot turn the chmod onto another file."""

from __future__ import annotations

import os
import stat

import pytest

from mmnet.private_files import keep_private

pytestmark = pytest.mark.skipif(os.name == "nt" or not hasattr(os, "O_NOFOLLOW"), reason="POSIX links and modes")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)


def test_a_file_is_made_private(tmp_path):
    face = tmp_path / "frames.npy"
    face.write_bytes(b"x")
    face.chmod(0o644)
    keep_private(face)
    assert _mode(face) == 0o600


def test_a_link_in_the_temporarys_place_is_refused_and_its_target_left_as_it_is(tmp_path):
    other = tmp_path / "elsewhere" / "notes.txt"  # another file of the user's, shared on purpose
    other.parent.mkdir()
    other.write_text("shared")
    other.chmod(0o644)
    tmp = tmp_path / "cache" / ".frames.npy.123.tmp"
    tmp.parent.mkdir()
    tmp.symlink_to(other)
    with pytest.raises(OSError):
        keep_private(tmp)
    assert _mode(other) == 0o644  # was made 0600 through the link
