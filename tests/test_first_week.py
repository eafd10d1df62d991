"""A new user's first week: the frictions found by trying mmnet as a researcher would, one test each."""

from __future__ import annotations

import os
import stat

import pytest

from mmnet.cli import main


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    from mmnet.utils import atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
