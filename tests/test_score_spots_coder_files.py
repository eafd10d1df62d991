"""`mmnet score-spots` on a coder's files: ELAN's tab-delimited export and .eaf, BORIS's aggregated events, their
times converted to MEGC frame numbers at --fps by one rule."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from mmnet.cli import main
from mmnet.spotting.coder_times import begin_frame, end_frame, megc_frames
from mmnet.spotting.intervals import Interval
from mmnet.spotting.megc_files import write_spotting_csv


def _counts(capsys, *argv) -> tuple[dict, str]:
    assert main(["score-spots", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(printed.out)["counts"]}, printed.err


def _write(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(25), Fraction(30000, 1001), Fraction(60000, 1001)])
def test_a_frame_s_times_written_to_the_millisecond_give_the_frame_back(fps):
    # frames f..g cover [pts(f), pts(g + 1)): those times written to the nearest ms (ELAN's and BORIS's precision)
    # give f and g back, at a rate whose frame times are no whole ms (29.97) too
    for f in range(0, 3000, 7):
        begin, end = Fraction(round(f / fps * 1000), 1000), Fraction(round((f + 3) / fps * 1000), 1000)
        assert (begin_frame(begin, fps), end_frame(end, fps)) == (f, f + 2)
        assert megc_frames(begin, end, fps) == (f + 1, f + 3)  # MEGC's numbers: a video's frame 0 is 1


def test_a_time_between_frames_is_the_frame_shown_then():
    fps = Fraction(30)  # frame 390 is shown from 13.000 s to 13.0333 s
    assert begin_frame(Fraction("13.020"), fps) == 390 and end_frame(Fraction("13.020"), fps) == 390
    assert begin_frame(Fraction("12.998"), fps) == 389  # more than a millisecond before: the frame before
    assert end_frame(Fraction("13.000"), fps) == 389  # ends where frame 390 begins: 390 is not covered
    assert end_frame(Fraction("13.001"), fps) == 389  # within a millisecond of its start: a rounded 13.000
    assert end_frame(Fraction("13.002"), fps) == 390  # more than a millisecond into it: covered
    assert megc_frames(Fraction("13.010"), Fraction("13.020"), fps) == (391, 391)  # inside one frame: that frame
    assert megc_frames(Fraction("13.010"), Fraction("13.0"), fps) is None  # ends before the frame shown at its begin


ELAN_PLAIN = ("ME\t\t00:00:13.000\t13.000\t00:00:15.000\t15.000\t00:00:02.000\t2.000\thappy\n"
              "MaE\t\t00:01:00.000\t60.000\t00:01:02.500\t62.500\t00:00:02.500\t2.500\t\n")
ELAN_HEADER = ("Tier\tBegin Time - hh:mm:ss.ms\tBegin Time - ss.msec\tBegin Time - msec\tEnd Time - hh:mm:ss.ms\t"
               "End Time - ss.msec\tEnd Time - msec\tDuration - msec\tAnnotation\n"
               "micro\t00:00:13.000\t13.000\t13000\t00:00:15.000\t15.000\t15000\t2000\t\n"
               "macro\t00:01:00.000\t60.000\t60000\t00:01:02.500\t62.500\t62500\t2500\tsmile\n")


@pytest.fixture
def truth(tmp_path):
    # 13.000-15.000 s at 30 fps: frames 390..449 from 0, MEGC's 391..450; 60.000-62.500 s: 1800..1874
    return write_spotting_csv(tmp_path / "truth.csv", {"clip": [Interval(391, None, 450, "micro"),
                                                                Interval(1801, None, 1875, "macro")]})


@pytest.mark.parametrize("text, options", [(ELAN_PLAIN, ["--tier-type", "ME=micro,MaE=macro"]), (ELAN_HEADER, [])])
def test_an_elan_text_export_is_read_at_fps(truth, tmp_path, capsys, text, options):
    coded = _write(tmp_path / "clip.txt", text)  # the video is named by the file, without --video-id
    counts, err = _counts(capsys, truth, coded, "--fps", "30", *options)
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}
    assert "read as an ELAN tab-delimited text export: 2 interval(s) converted at 30 fps" in err
    assert main(["score-spots", str(truth), str(coded), "--fps", "30", "--show-frames", *options]) == 0
    err = capsys.readouterr().err
    assert "13.000-15.000 s -> clip onset 391 offset 450 micro" in err
    assert "60.000-62.500 s -> clip onset 1801 offset 1875 macro" in err
    # as truth too, against mmnet's own spotting.csv
    spots = write_spotting_csv(tmp_path / "spots.csv", {"clip": [Interval(391, None, 450, "micro")]})
    counts, _ = _counts(capsys, coded, spots, "--fps", "30", *options)
    assert counts["micro"] == (1, 0, 0) and counts["macro"] == (0, 0, 1)


def test_an_elan_export_saved_again_by_a_spreadsheet_is_read(truth, tmp_path, capsys):
    # a title line above the header, ';' for tabs, and a column per tier (the tier's name heads its values)
    text = ("clip.eaf\n"
            "Begin Time - ss.msec;End Time - ss.msec;Duration - ss.msec;micro;macro\n"
            "13.000;15.000;2.000;happy;\n60.000;62.500;2.500;;smile\n")
    counts, _ = _counts(capsys, truth, _write(tmp_path / "clip.csv", text), "--fps", "30")
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}


def test_an_elan_export_without_fps_or_a_type_says_what_to_give(truth, tmp_path, capsys):
    coded = _write(tmp_path / "clip.txt", ELAN_PLAIN)
    assert main(["score-spots", str(truth), str(coded)]) == 3
    err = capsys.readouterr().err
    assert "looks like an ELAN tab-delimited text export: its times are in seconds" in err and "--fps" in err
    assert "no column(s)" not in err
    # 'ME' is a type name, 'MaE' too; 'AU12' is neither: the line and the option are named
    odd = _write(tmp_path / "odd.txt", ELAN_PLAIN + "AU12\t\t00:00:20.000\t20.000\t00:00:21.000\t21.000\t"
                                                   "00:00:01.000\t1.000\t\n")
    assert main(["score-spots", str(truth), str(odd), "--fps", "30", "--video-id", "clip"]) == 3
    err = capsys.readouterr().err
    assert f"'{odd}' line 3: no expression type for tier 'AU12'" in err and "--tier-type AU12=micro" in err
    counts, err = _counts(capsys, truth, odd, "--fps", "30", "--video-id", "clip", "--tier-type", "AU12=ignore")
    assert counts["overall"] == (2, 0, 0) and "1 left out (--tier-type)" in err


EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///data/coding/clip.mp4" MIME_TYPE="video/mp4"/>
  </HEADER>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="13000"/>
    <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="15000"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="60000"/>
    <TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="62500"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Expressions">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>ME</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE>MaE</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="ref" PARENT_REF="Expressions" TIER_ID="Emotion">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a3" ANNOTATION_REF="a1">
      <ANNOTATION_VALUE>happy</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
</ANNOTATION_DOCUMENT>
"""


def test_an_eaf_is_read_with_its_media_as_the_video(truth, tmp_path, capsys):
    coded = _write(tmp_path / "coding session 3.eaf", EAF)
    assert main(["score-spots", str(truth), str(coded), "--fps", "30"]) == 3  # 'happy' on the Emotion tier
    err = capsys.readouterr().err
    assert "annotation a3 (tier 'Emotion'): no expression type for tier 'Emotion' and value 'happy'" in err
    counts, err = _counts(capsys, truth, coded, "--fps", "30", "--tier-type", "Emotion=ignore", "--show-frames")
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}  # the values give the types
    assert "video id from its media file" in err and "-> clip onset 391 offset 450 micro" in err
    # the reference annotation takes the times of the one it refers to
    counts, _ = _counts(capsys, truth, coded, "--fps", "30", "--tier-type", "Emotion=macro,Expressions=ignore")
    assert counts["macro"] == (0, 1, 1)
    # TIME_ORIGIN: the media starts that far into the recording's times: the frames move with it
    _write(coded, EAF.replace('MIME_TYPE="video/mp4"', 'MIME_TYPE="video/mp4" TIME_ORIGIN="1000"'))
    assert main(["score-spots", str(truth), str(coded), "--fps", "30", "--tier-type", "Emotion=ignore",
                 "--show-frames"]) == 0
    assert "14.000-16.000 s -> clip onset 421 offset 480 micro" in capsys.readouterr().err


def test_an_eaf_subdivision_tier_without_times_is_read_when_left_out(truth, tmp_path, capsys):
    # ELAN leaves a Time_Subdivision tier's inner slots unaligned: no time until the tier is scored
    phases = (' <TIER LINGUISTIC_TYPE_REF="sub" PARENT_REF="Expressions" TIER_ID="Phases">\n'
              '    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a4" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts5">\n'
              '      <ANNOTATION_VALUE>rise</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>\n'
              '    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a5" TIME_SLOT_REF1="ts5" TIME_SLOT_REF2="ts2">\n'
              '      <ANNOTATION_VALUE>fall</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>\n'
              '  </TIER>\n</ANNOTATION_DOCUMENT>')
    text = EAF.replace('<TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="62500"/>',
                       '<TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="62500"/>\n    <TIME_SLOT TIME_SLOT_ID="ts5"/>')
    coded = _write(tmp_path / "phases.eaf", text.replace("</ANNOTATION_DOCUMENT>", phases))
    counts, err = _counts(capsys, truth, coded, "--fps", "30", "--tier-type", "Emotion=ignore,Phases=ignore",
                          "--show-frames")
    assert counts["overall"] == (2, 0, 0) and "(tier 'Phases'): 'Phases' no times -> clip left out" in err
    # scored, the tier's missing time is the error, naming the annotation and how to leave the tier out
    assert main(["score-spots", str(truth), str(coded), "--fps", "30", "--tier-type",
                 "Emotion=ignore,Phases=micro"]) == 3
    err = capsys.readouterr().err
    assert "annotation a4 (tier 'Phases')" in err and "has no time" in err and "--tier-type Phases=ignore" in err


def test_an_elan_text_value_opening_a_quote_swallows_no_lines(truth, tmp_path, capsys):
    # ELAN's tab export never quotes: a value beginning with '"' is text (csv's quoting read the rest as one cell)
    text = ("Tier\tBegin Time - msec\tEnd Time - msec\tAnnotation\n"
            'ME\t13000\t15000\t"quick\nMaE\t60000\t62500\tx\n')
    coded = _write(tmp_path / "quote.txt", text)
    counts, _ = _counts(capsys, truth, coded, "--fps", "30", "--video-id", "clip", "--tier-type", "ME=micro,MaE=macro")
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}


BORIS = ("Observation id,Observation date,Description,Observation type,Source,Media duration (s),FPS,Subject,"
         "Behavior,Behavioral category,Behavior type,Start (s),Stop (s),Duration (s),Media file name,Comment start\n"
         "session 1,2026-01-05,,Media file(s),player #1:/data/clip.mp4,120.0,30.0,No focal subject,micro-expression,"
         ",STATE,13.000,15.000,2.000,/data/clip.mp4,\n"
         "session 1,2026-01-05,,Media file(s),player #1:/data/clip.mp4,120.0,30.0,No focal subject,macro-expression,"
         ",STATE,60.000,62.500,2.500,/data/clip.mp4,\n")


@pytest.mark.parametrize("separator", [",", "\t"])
def test_a_boris_aggregated_export_is_read_with_its_media_file_as_the_video(truth, tmp_path, capsys, separator):
    coded = _write(tmp_path / "boris.csv", BORIS.replace(",", separator))
    assert main(["score-spots", str(truth), str(coded)]) == 3
    err = capsys.readouterr().err
    assert "looks like a BORIS aggregated-events export" in err and "(its FPS column says 30.0)" in err
    counts, err = _counts(capsys, truth, coded, "--fps", "30")
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}
    assert "video id from the Media file column" in err and "warning:" not in err
    counts, err = _counts(capsys, truth, coded, "--fps", "30000/1001")  # within 0.1% of the FPS column: no warning
    assert "warning:" not in err
    counts, err = _counts(capsys, truth, coded, "--fps", "25")  # another rate than the coder's video had
    assert f"warning: '{coded}': its FPS column says 30 fps, and the times are converted at 25 fps" in err
    _write(coded, BORIS.replace("macro-expression", "smile").replace(",", separator))
    assert main(["score-spots", str(truth), str(coded), "--fps", "30"]) == 3
    assert f"'{coded}' line 3: no expression type for Behavior 'smile'" in capsys.readouterr().err


def test_a_boris_events_export_says_to_export_aggregated_events(truth, tmp_path, capsys):
    events = _write(tmp_path / "events.tsv", "Observation id\tTime\tMedia file path\tBehavior\tStatus\n"
                                             "s1\t13.000\tclip.mp4\tmicro\tSTART\ns1\t15.000\tclip.mp4\tmicro\tSTOP\n")
    assert main(["score-spots", str(truth), str(events)]) == 3
    err = capsys.readouterr().err
    assert "looks like a BORIS events export (START/STOP rows)" in err and "Aggregated events" in err


def test_a_megc_csv_of_times_is_warned_about(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nclip,13.000,15.000,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\nclip,13,15,me\n")
    _, err = _counts(capsys, truth, spots)
    assert f"warning: '{truth}': every onset and offset is written with decimals" in err
    assert "These look like times" in err and "--fps" in err and f"'{spots}': every" not in err


def test_an_unknown_file_says_times_are_read_from_coders_files(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nclip,391,450,me\n")
    timed = _write(tmp_path / "timed.csv", "clip,start,end,kind\nclip,13.0,15.0,me\n")
    assert main(["score-spots", str(truth), str(timed)]) == 3
    err = capsys.readouterr().err
    assert "no column(s) ['vid', 'onset', 'offset', 'type']" in err and "look like times" in err
    assert "ELAN tab-delimited text export" in err and "(nor 'video'" in err


def test_a_coder_s_file_named_otherwise_than_the_other_file_says_to_give_video_id(tmp_path, capsys):
    coded = _write(tmp_path / "clip.txt", ELAN_PLAIN)
    spots = write_spotting_csv(tmp_path / "spots.csv", {"15_0101": [Interval(391, None, 450, "micro")]})
    assert main(["score-spots", str(coded), str(spots), "--fps", "30"]) == 3
    assert "Give `score-spots --video-id ID` to name the video of an ELAN or BORIS file" in capsys.readouterr().err
    counts, _ = _counts(capsys, coded, spots, "--fps", "30", "--video-id", "15_0101")
    assert counts["micro"] == (1, 0, 0)


def test_recording_gives_the_rate_and_tells_frames_past_its_end(tmp_path, capsys):
    import numpy as np

    from .test_media import write_video

    video = write_video(tmp_path / "clip.mkv", [np.full((16, 16, 3), 5 * k, np.uint8) for k in range(50)], rate=25)
    coded = _write(tmp_path / "clip.txt", "micro\t\t0.400\t0.800\t\n")  # 25 fps: frames 10..19, MEGC's 11..20
    spots = write_spotting_csv(tmp_path / "spots.csv", {"clip": [Interval(11, None, 20, "micro")]})
    counts, err = _counts(capsys, coded, spots, "--recording", video)
    assert counts["micro"] == (1, 0, 0) and "--recording" in err and "25 fps, 50 frames" in err
    ms = _write(tmp_path / "ms.csv", "vid,onset,offset,type\nclip,400,800,me\n")  # milliseconds, not frames
    _, err = _counts(capsys, coded, ms, "--recording", video)
    assert f"warning: '{ms}': 1 interval(s) end past the last frame of --recording (50 frames" in err
    assert "These look like times" in err
    assert main(["score-spots", str(coded), str(spots), "--recording", str(video), "--fps", "30"]) == 3
    assert "--fps 30 disagrees with --recording" in capsys.readouterr().err


def test_a_tier_of_spans_without_a_face_is_proposed_to_be_left_out(truth, tmp_path, capsys):
    # a gap holds no expression: the error proposes leaving it out, never reading it as a micro-expression
    coded = _write(tmp_path / "clip.eaf", EAF.replace('TIER_ID="Emotion"', 'TIER_ID="No face"'))
    assert main(["score-spots", str(truth), str(coded), "--fps", "30"]) == 3
    err = capsys.readouterr().err
    assert "no expression type for tier 'No face'" in err and "--tier-type No face=ignore" in err
    assert "No face=micro" not in err
