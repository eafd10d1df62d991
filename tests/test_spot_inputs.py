"""What `mmnet spot` says of a recording it cannot read: a folder that holds a video rather than numbered frames,
and a file named as a video that is something else (as the server's uploads say it, ``media_sniff``)."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.errors import DataError


def test_a_folder_holding_a_video_names_it(tmp_path, capsys):
    folder = tmp_path / "session2"
    folder.mkdir()
    (folder / "notes.txt").write_text("coded by A")
    (folder / "p07_session2.mp4").write_bytes(b"\x00" * 64)
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--no-align"]) == 3
    err = capsys.readouterr().err
    assert "holds no numbered image" in err and "the video p07_session2.mp4" in err, err
    assert f"mmnet spot {folder / 'p07_session2.mp4'}" in err
    for n in range(5):
        (folder / f"take{n}.mov").write_bytes(b"\x00" * 64)
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--no-align"]) == 3
    assert "the videos p07_session2.mp4, take0.mov, take1.mov and 3 more" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "what"), [(b"interview notes, participant 7\n" * 40, "text"),
                                               (b"%PDF-1.7\n" + bytes(range(256)) * 4, "a PDF document")])
def test_a_file_named_as_a_video_that_is_not_one_says_what_it_looks_like(tmp_path, capsys, content, what):
    pytest.importorskip("av")
    from mmnet.media import stream_video

    fake = tmp_path / "interview30.mp4"
    fake.write_bytes(content)
    with pytest.raises(DataError) as caught:
        next(stream_video(fake))
    said = str(caught.value)
    assert said.startswith(f"'{fake}' is not a video: it looks like {what}") and "re-encode" not in said, said
    assert main(["spot", str(fake), "--no-progress", "--no-align"]) == 3
    assert f"it looks like {what}" in capsys.readouterr().err
