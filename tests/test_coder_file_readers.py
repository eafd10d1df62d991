"""A coder's files as `mmnet agree` and `mmnet score-spots` read them: BORIS's time offset, frame indices and
playlists, ELAN's multi-file export, files that mark nothing, workbooks, and the media duration as the length."""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.errors import AnnotationError
from mmnet.spotting.coder_files import CoderOptions, read_coder_file, sniff

BORIS_HEADER = ("Observation id\tObservation date\tDescription\tObservation type\tSource\tTime offset (s)\t"
                "Coding duration\tMedia duration (s)\tFPS (frame/s)\tSubject\t"
                "Observation duration by subject by observation\tBehavior\tBehavioral category\tBehavior type\t"
                "Start (s)\tStop (s)\tDuration (s)\tMedia file name\tImage index start\tImage index stop\t"
                "Image file path start\tImage file path stop\tComment start\tComment stop")


def _boris_row(start: str, stop: str, *, offset: str = "0.000", source: str = "player #1:/data/s01.mp4",
               durations: str = "10.000", media: str = "/data/s01.mp4", index: tuple[str, str] = ("NA", "NA")) -> str:
    return "\t".join(["obs1", "2024-01-01 10:00:00", "", "Media file", source, offset, "10.000", durations, "25.000",
                      "No focal subject", "0.360", "ME", "", "STATE", start, stop, "0.360", media, *index, "NA", "NA",
                      "", ""])


def _read(path: Path, fps: int = 25, video_id: str | None = None):
    text = path.read_text()
    return read_coder_file(path, text, sniff(path, text), CoderOptions(Fraction(fps), video_id=video_id))


def _frames(read) -> dict:
    return {video: [(i.onset, i.offset) for i in items] for video, items in read.intervals.items()}


def _agree(capsys, *argv) -> dict:
    assert main(["agree", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_boris_time_offset_is_taken_off_the_times(tmp_path):
    # media time 1.200-1.560 s (frames 30..38 from 0 at 25 fps), written by BORIS as that time plus the 5 s offset
    path = tmp_path / "boris.tsv"
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('6.200', '6.560', offset='5.000', index=('30', '39'))}\n")
    read = _read(path)
    assert _frames(read) == {"s01": [(31, 39)]}
    assert "Time offset (s), 5 s" in read.video_from  # said in the note and --show-frames
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('0.200', '0.560', offset='-1.000')}\n")  # media 1.2-1.56 s too
    assert _frames(_read(path)) == {"s01": [(31, 39)]}
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('6.200', '6.560', offset='5 s')}\n")  # not read as no offset
    with pytest.raises(AnnotationError, match="line 2: Time offset \\(s\\) '5 s' is not a number of seconds"):
        _read(path)


def test_a_boris_frame_index_that_disagrees_with_the_times_is_an_error(tmp_path):
    path = tmp_path / "boris.tsv"
    # the offset left out of the times (or another rate): 6.2 s is frame 155, BORIS's player showed frame 30
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('6.200', '6.560', index=('30', '39'))}\n")
    with pytest.raises(AnnotationError, match=r"line 2: the start time \(6\.200 s.*frame 155.*Image index start is 30"):
        _read(path)
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560', index=('31', '39.0'))}\n")  # within a frame
    assert _frames(_read(path)) == {"s01": [(31, 39)]}
    with pytest.raises(AnnotationError, match="Image index stop is 30"):  # the stop is checked too
        path.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560', index=('30', '30'))}\n")
        _read(path)


def test_a_boris_playlist_times_each_event_in_its_own_media_file(tmp_path):
    playlist = dict(source="player #1:/data/s01.mp4;/data/s02.mp4|player #2:/data/side.mp4",
                    durations="10.000;20.000|30.000")
    path = tmp_path / "boris.tsv"
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('11.200', '11.560', media='/data/s02.mp4', **playlist)}\n"
                    f"{_boris_row('1.200', '1.560', media='/data/s01.mp4', **playlist)}\n")
    read = _read(path)
    assert _frames(read) == {"s02": [(31, 39)], "s01": [(31, 39)]}
    assert read.durations == {"s02": 20, "s01": 10}
    with pytest.raises(AnnotationError, match="names 2 videos.*--video-id would pool them"):
        _read(path, video_id="clip")
    # an event past its file's end runs into the next one: refused, not read at the wrong file's frames
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('9.800', '10.400', media='/data/s01.mp4', **playlist)}\n")
    with pytest.raises(AnnotationError, match="past its end"):
        _read(path)
    # a row that does not say which of the files the event is in
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560', media='Not found', **playlist)}\n")
    with pytest.raises(AnnotationError, match="plays 2 media files one after another"):
        _read(path)


ELAN_FILES = ("Tier\tBegin Time - ss.msec\tEnd Time - ss.msec\tDuration - ss.msec\tME\tFile Name\n"
              "ME\t1.200\t1.560\t0.360\tme\ts01.eaf\nME\t2.000\t2.400\t0.400\tme\tC:\\coding\\s02.eaf\n")


def test_an_elan_multi_file_export_names_videos_without_eaf(tmp_path, capsys):
    coded = tmp_path / "coder.txt"
    coded.write_text(ELAN_FILES)
    assert _frames(_read(coded)) == {"s01": [(31, 39)], "s02": [(51, 60)]}
    other = tmp_path / "other.csv"
    other.write_text("vid,onset,offset,type\ns01,31,39,me\ns02,51,60,me\n")
    out = _agree(capsys, coded, other, "--fps", "25")
    assert sorted(out["frames"]["videos"]) == ["s01", "s02"]
    with pytest.raises(AnnotationError, match=r"File Name column names 2 videos \(s01, s02\)"):
        _read(coded, video_id="s01")


EMPTY_EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-01-01T00:00:00" FORMAT="3.0" VERSION="3.0">
<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">{media}</HEADER>
<TIME_ORDER/>
<TIER LINGUISTIC_TYPE_REF="default" TIER_ID="ME"/>
<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""


def test_a_file_that_marks_nothing_holds_its_video(tmp_path, capsys):
    eaf = tmp_path / "noann.eaf"
    eaf.write_text(EMPTY_EAF.format(media='<MEDIA_DESCRIPTOR MEDIA_URL="file:///data/s01.mp4" MIME_TYPE="video/mp4"/>'))
    other = tmp_path / "other.csv"
    other.write_text("vid,onset,offset,type\ns01,5,9,me\n")
    out = _agree(capsys, eaf, other, "--fps", "25", "--frames", "20")
    # the coder saw nothing in s01: compared there, each frame 'none' in A (a MEGC CSV row "s01,,,," reads so too)
    assert out["pairs"][0]["videos"] == ["s01"] and out["pairs"][0]["types"][0]["n_a"] == 0
    assert out["pairs"][0]["frame_table"] == [[15, 5, 0], [0, 0, 0], [0, 0, 0]]
    header_only = tmp_path / "coder.txt"
    header_only.write_text("Tier\tBegin Time - ss.msec\tEnd Time - ss.msec\tME\n")
    assert _frames(_read(header_only, video_id="s01")) == {"s01": []}
    with pytest.raises(AnnotationError, match="holds no annotation and names no video: give --video-id"):
        _read(header_only)
    no_media = tmp_path / "nomedia.eaf"
    no_media.write_text(EMPTY_EAF.format(media=""))
    with pytest.raises(AnnotationError, match="names no video"):  # its file's name is no video
        _read(no_media)


def test_a_workbook_is_read_as_its_table_and_other_spreadsheets_say_how_to_export(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for line in [BORIS_HEADER, _boris_row("6.200", "6.560", offset="5.000", index=("30", "39"))]:
        wb.active.append([float(c) if c.replace(".", "", 1).isdigit() else c for c in line.split("\t")])
    wb.save(tmp_path / "boris.xlsx")
    truth = openpyxl.Workbook()
    for row in (["vid", "onset", "offset", "type"], ["s01", 31, 39, "me"]):
        truth.active.append(row)
    truth.save(tmp_path / "truth.xlsx")
    out = _agree(capsys, tmp_path / "boris.xlsx", tmp_path / "truth.xlsx", "--fps", "25")
    assert out["pairs"][0]["types"][0]["matched"] == 1 and out["pairs"][0]["kappa"] == 1.0
    truth.create_sheet("second").append(["vid"])
    truth.save(tmp_path / "two.xlsx")
    assert main(["agree", str(tmp_path / "boris.xlsx"), str(tmp_path / "two.xlsx"), "--fps", "25"]) == 3
    assert "2 sheets of data" in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "boris.ods", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert main(["agree", str(tmp_path / "boris.ods"), str(tmp_path / "truth.xlsx"), "--fps", "25"]) == 3
    assert "is an OpenDocument spreadsheet (.ods), not text: export it as CSV or TSV" in capsys.readouterr().err


def test_agree_counts_the_frames_of_the_media_duration_a_boris_file_gives(tmp_path, capsys):
    boris = tmp_path / "boris.tsv"
    boris.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560')}\n")  # a 10 s media file at 25 fps
    other = tmp_path / "other.csv"
    other.write_text("vid,onset,offset,type\ns01,31,39,me\n")
    frames = _agree(capsys, boris, other, "--fps", "25")["frames"]
    assert frames["videos"]["s01"]["frames"] == 250 and "media duration" in frames["videos"]["s01"]["from"]
    assert _agree(capsys, boris, other, "--fps", "25", "--frames", "100")["frames"]["videos"]["s01"]["frames"] == 100
    # two BORIS files of one video with different media durations: the longer, with a warning naming both
    longer = tmp_path / "longer.tsv"
    longer.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560', durations='12.000')}\n")
    assert main(["agree", str(boris), str(longer), "--fps", "25", "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["frames"]["videos"]["s01"]["frames"] == 300
    assert f"different media durations ('{boris}' 250 frames, '{longer}' 300 frames)" in printed.err


def test_a_boris_behaviour_left_out_needs_no_times(tmp_path):
    from mmnet.choices import TIER_IGNORE

    path = tmp_path / "boris.tsv"
    blink = _boris_row("2.000", "NA").replace("\tME\t", "\tblink\t")  # a point event: no Stop (s)
    path.write_text(f"{BORIS_HEADER}\n{_boris_row('1.200', '1.560')}\n{blink}\n")
    text = path.read_text()
    read = read_coder_file(path, text, sniff(path, text), CoderOptions(Fraction(25), {"blink": TIER_IGNORE}))
    assert _frames(read) == {"s01": [(31, 39)]}
    with pytest.raises(AnnotationError, match="line 3: Stop \\(s\\) 'NA' is not a time in seconds"):
        read_coder_file(path, text, sniff(path, text), CoderOptions(Fraction(25), {"blink": "micro"}))
