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
    assert said.startswith(f"Video '{fake}' cannot be decoded: it is not a video, it looks like {what}"), said
    assert "re-encode" not in said
    assert main(["spot", str(fake), "--no-progress", "--no-align"]) == 3
    assert f"it looks like {what}" in capsys.readouterr().err


def test_an_out_folder_of_another_recording_is_refused_but_a_copy_of_the_same_is_not(tmp_path):
    import argparse
    import hashlib
    import json

    from mmnet.commands.spot_out import check_out_folder
    from mmnet.errors import ConfigError

    out, video = tmp_path / "spots", tmp_path / "elsewhere" / "p07.mp4"
    out.mkdir()
    video.parent.mkdir()
    video.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(200))
    digest = hashlib.sha256(video.read_bytes()).hexdigest()
    record = {"kind": "video file", "bytes": video.stat().st_size, "sha256": digest}
    (out / "spot.json").write_text(json.dumps({"source": "elsewhere/p07.mp4", "provenance": {"recording": record}}))
    copy = tmp_path / "backup" / "p07-copy.mp4"  # the same bytes, moved and renamed: its own results
    copy.parent.mkdir()
    copy.write_bytes(video.read_bytes())
    check_out_folder(argparse.Namespace(out=out, source=copy, overwrite=False), "p07-copy")
    other = tmp_path / "lateface.mp4"
    other.write_bytes(video.read_bytes()[:-1] + b"\x01")  # as long, other bytes
    with pytest.raises(ConfigError) as caught:
        check_out_folder(argparse.Namespace(out=out, source=other, overwrite=False), "lateface")
    said = str(caught.value)
    assert "holds the results of elsewhere/p07.mp4" in said and f"--out {out / 'lateface'}/" in said, said
    check_out_folder(argparse.Namespace(out=out, source=other, overwrite=True), "lateface")  # said, not refused
