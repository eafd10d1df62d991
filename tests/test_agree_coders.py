"""`mmnet agree`'s coders: a folder of one coder's files (one .eaf per recording), one coder's tiers of a shared
.eaf (FILE#TIER), the same file given twice, an incomplete design (pairs without a video in common), --recording
with several videos, and which files a per-video alpha counts."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main


def _eaf(media: str, tiers: dict[str, tuple[str, list[tuple[int, int, str]]]]) -> str:
    """An .eaf of ``media``: tier id -> (annotator, [(begin ms, end ms, value)])."""
    slots, body, n = [], [], 0
    for tier, (annotator, items) in tiers.items():
        body.append(f'  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="{tier}" ANNOTATOR="{annotator}">')
        for begin, end, value in items:
            n += 1
            slots += [f'<TIME_SLOT TIME_SLOT_ID="ts{n}a" TIME_VALUE="{begin}"/>',
                      f'<TIME_SLOT TIME_SLOT_ID="ts{n}b" TIME_VALUE="{end}"/>']
            body.append(f'<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a{n}" TIME_SLOT_REF1="ts{n}a" '
                        f'TIME_SLOT_REF2="ts{n}b"><ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>'
                        '</ALIGNABLE_ANNOTATION></ANNOTATION>')
        body.append("  </TIER>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT FORMAT="3.0" VERSION="3.0">\n'
            f'<HEADER TIME_UNITS="milliseconds"><MEDIA_DESCRIPTOR MEDIA_URL="file:///lab/{media}" '
            'MIME_TYPE="video/mp4"/></HEADER>\n<TIME_ORDER>' + "".join(slots) + "</TIME_ORDER>\n" + "\n".join(body)
            + "\n</ANNOTATION_DOCUMENT>\n")


def _agree(capsys, *argv, code: int = 0) -> tuple[dict | None, str]:
    assert main(["agree", *map(str, argv), *(["--json"] if code == 0 else [])]) == code
    printed = capsys.readouterr()
    return (json.loads(printed.out) if code == 0 else None), printed.err


@pytest.fixture
def study(tmp_path):
    """Two coders' folders, one .eaf per recording (s01, s02), each named by its media; ELAN's .pfsx beside."""
    for coder, shift in (("A", 0), ("B", 40)):
        folder = tmp_path / coder
        folder.mkdir()
        for video, begin in (("s01", 1000), ("s02", 5000)):
            (folder / f"{video}.eaf").write_text(_eaf(f"{video}.mp4", {"ME": ("", [(begin + shift, begin + 400,
                                                                                    "micro")])}))
            (folder / f"{video}.pfsx").write_text("<preferences/>")
    return tmp_path


def test_a_folder_is_one_coder_of_several_recordings(study, capsys):
    a, b = study / "A", study / "B"
    # one file per coder and recording: the files name different media, and no --video-id is proposed
    _, err = _agree(capsys, a / "s01.eaf", a / "s02.eaf", "--fps", "25", code=3)
    assert "hold no video in common" in err
    data, err = _agree(capsys, a, b, "--fps", "25")
    assert data["files"] == {"A": str(a), "B": str(b)} and "2 file(s) not read" in err  # the .pfsx
    pair = data["pairs"][0]
    assert pair["videos"] == ["s01", "s02"]
    # s01: 1000-1400 ms is frames 26..35, 1040-1400 ms 27..35 at 25 fps; s02: 126..135 and 127..135
    micro = next(t for t in pair["types"] if t["type"] == "micro")
    assert (micro["n_a"], micro["n_b"], micro["matched"], micro["onset_frames"]["mean"]) == (2, 2, 2, 1)
    assert [v["video"] for v in data["per_video"]] == ["s01", "s02"]


def test_a_video_in_two_files_of_one_coder_is_an_error(study, capsys):
    a = study / "A"
    (a / "s01-again.eaf").write_text((a / "s01.eaf").read_text().replace("1400", "1480"))
    _, err = _agree(capsys, a, study / "B", "--fps", "25", code=3)
    assert "both annotate video 's01'" in err and "s01-again.eaf" in err


def test_the_same_file_twice_is_refused(study, capsys):
    one = study / "A" / "s01.eaf"
    _, err = _agree(capsys, one, one, "--fps", "25", code=3)
    assert "is the same file as" in err and "agrees perfectly" in err
    _, err = _agree(capsys, one, study / "A" / ".." / "A" / "s01.eaf", "--fps", "25", code=3)  # another spelling
    assert "is the same file as" in err
    copy = study / "copy.eaf"
    copy.write_bytes(one.read_bytes())  # a copy: read, with a warning
    _, err = _agree(capsys, one, copy, "--fps", "25")
    assert "has the same content as" in err


def test_coders_on_tiers_of_one_eaf(tmp_path, capsys):
    both = tmp_path / "both.eaf"
    both.write_text(_eaf("clip.mp4", {"ME_coder1": ("Alice", [(1000, 1400, "micro"), (3000, 3400, "micro")]),
                                      "ME_coder2": ("Bob", [(1040, 1400, "micro")])}))
    # read whole, the two annotators' intervals are one coder's: a warning that says how to compare them
    assert main(["score-spots", str(both), str(both), "--fps", "25"]) == 0
    err = capsys.readouterr().err
    assert "holds tiers of 2 annotators (ME_coder1 by Alice, ME_coder2 by Bob)" in err
    assert f"mmnet agree '{both}#Alice' '{both}#Bob'" in err
    # by tier id, or by annotator: the same coders
    for one, two in (("ME_coder1", "ME_coder2"), ("alice", "Bob")):
        data, err = _agree(capsys, f"{both}#{one}", f"{both}#{two}", "--fps", "25")
        micro = next(t for t in data["pairs"][0]["types"] if t["type"] == "micro")
        assert (micro["n_a"], micro["n_b"], micro["matched"]) == (2, 1, 1) and "annotators" not in err
    _, err = _agree(capsys, f"{both}#ME_coder1", f"{both}#ME_coder1", "--fps", "25", code=3)
    assert "is the same file as" in err
    # the same tiers named two ways (by id and by annotator), or a tier in both selections, or the whole file
    for one, two in (("ME_coder1", "Alice"), ("ME_coder1,ME_coder2", "Bob"), (None, "Bob")):
        _, err = _agree(capsys, both if one is None else f"{both}#{one}", f"{both}#{two}", "--fps", "25", code=3)
        assert "is the same file as" in err and ("(tiers me_coder" in err) == (one is not None)
    _, err = _agree(capsys, f"{both}#ME_coder1", f"{both}#Carol", "--fps", "25", code=3)
    assert "no tier, annotator or participant is named 'Carol'" in err and "'ME_coder2' (annotator 'Bob')" in err


def test_pairs_without_a_video_in_common_are_left_out(tmp_path, capsys):
    files = []
    for name, videos in (("R1", ["v1"]), ("R2", ["v1", "v2"]), ("R3", ["v2"])):
        path = tmp_path / f"{name}.csv"
        path.write_text("vid,onset,offset,type\n" + "".join(f"{v},10,20,me\n" for v in videos))
        files.append(path)
    data, err = _agree(capsys, *files, "--frames", "40")
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("A", "B"), ("B", "C")]
    assert "1 pair(s) hold no video in common, not compared" in err
    # each video's alpha is that of the two files that hold it, named; the pooled one names all three
    alphas = {v["video"]: v["krippendorff_alpha"]["files"] for v in data["per_video"]}
    assert alphas == {"v1": ["A", "B"], "v2": ["B", "C"]} and data["krippendorff_alpha"]["files"] == ["A", "B", "C"]
    assert main(["agree", *map(str, files), "--frames", "40"]) == 0
    table = capsys.readouterr().out
    assert any(line.split()[:2] == ["v1", "A,B"] for line in table.splitlines())
    # a file with no video in common with any other is still an error
    lone = tmp_path / "R4.csv"
    lone.write_text("vid,onset,offset,type\nv9,10,20,me\n")
    _, err = _agree(capsys, *files, lone, code=3)
    assert f"'{files[0]}' and '{lone}' hold no video in common" in err


def test_recording_is_refused_for_several_videos(study, capsys, monkeypatch):
    from fractions import Fraction

    from mmnet.commands import score_spots_read

    video = study / "s01.mp4"
    video.write_bytes(b"")
    monkeypatch.setattr(score_spots_read, "_recording", lambda path, fps: (Fraction(25), 100, None))
    _, err = _agree(capsys, study / "A", study / "B", "--recording", video, code=3)
    assert f"--recording '{video}' is one recording, and the files hold 2 videos" in err
    data, _ = _agree(capsys, study / "A" / "s01.eaf", study / "B" / "s01.eaf", "--recording", video)
    assert data["frames"]["videos"]["s01"]["frames"] == 100


def test_an_eaf_media_url_names_its_video_with_escapes_decoded(tmp_path, capsys):
    # ELAN writes a media URL with percent-escapes on one machine and without on another: one recording either way
    urls = {"A": "file:///C:/Users/M%C3%BCller/Videos/P01%20session1.mp4",
            "B": "file:///C:/Users/Müller/Videos/P01 session1.mp4"}
    for coder, url in urls.items():
        (tmp_path / coder).mkdir()
        text = _eaf("x.mp4", {"ME": ("", [(1000, 1400, "micro")])}).replace("file:///lab/x.mp4", url)
        (tmp_path / coder / "rec.eaf").write_text(text, encoding="utf-8")
    data, err = _agree(capsys, tmp_path / "A", tmp_path / "B", "--fps", "25")
    assert data["pairs"][0]["videos"] == ["P01 session1"] and "alone holds" not in err
    # RELATIVE_MEDIA_URL is a URL too; a MEDIA_URL without a scheme is a path, its '%' the file's own
    from mmnet.spotting.coder_records import media_url_stem

    assert media_url_stem("./P01%20session1.mp4", relative=True) == "P01 session1"
    assert media_url_stem(r"C:\videos\P01%20take.mp4") == "P01%20take"
    assert media_url_stem("file:///data/P01#2.mp4") == "P01#2"
