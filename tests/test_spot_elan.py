"""spots.eaf (`mmnet spot --out`): the spotted intervals and gaps as an ELAN document, checked against the rules
of ELAN's schema (EAFv3.0.xsd: its elements, their order, their required attributes and references), with times
that follow intervals.csv's (the onset frame's start to the offset frame's end, rounded up to the millisecond)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from mmnet.spotting.elan import spots_eaf
from mmnet.spotting.intervals import Interval
from mmnet.spotting.spotter import SpotResult

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
# EAFv3.0.xsd: ANNOTATION_DOCUMENT's children in order (each may repeat, HEADER and TIME_ORDER once, first)
ORDER = ["HEADER", "TIME_ORDER", "TIER", "LINGUISTIC_TYPE", "LOCALE", "LANGUAGE", "CONSTRAINT",
         "CONTROLLED_VOCABULARY", "LEXICON_REF", "EXTERNAL_REF"]
REQUIRED = {"ANNOTATION_DOCUMENT": {"DATE", "AUTHOR", "VERSION"}, "HEADER": set(),
            "MEDIA_DESCRIPTOR": {"MEDIA_URL", "MIME_TYPE"}, "PROPERTY": set(), "TIME_SLOT": {"TIME_SLOT_ID"},
            "TIER": {"TIER_ID", "LINGUISTIC_TYPE_REF"}, "ANNOTATION": set(),
            "ALIGNABLE_ANNOTATION": {"ANNOTATION_ID", "TIME_SLOT_REF1", "TIME_SLOT_REF2"},
            "ANNOTATION_VALUE": set(), "TIME_ORDER": set(), "LINGUISTIC_TYPE": {"LINGUISTIC_TYPE_ID"}}


def check_eaf(text: bytes) -> dict[str, list[tuple[int, int, str]]]:
    """The document's tiers as {tier: [(begin ms, end ms, value), ...]}, after checking it as ELAN's schema and
    ELAN do: element order, required attributes, unique ids, resolved references, no overlap within a tier."""
    root = ET.fromstring(text)
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    assert root.get(f"{XSI}noNamespaceSchemaLocation") == "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
    tags = [child.tag for child in root]
    assert tags[:2] == ["HEADER", "TIME_ORDER"] and tags == sorted(tags, key=ORDER.index), tags
    for element in root.iter():
        assert element.tag in REQUIRED, element.tag  # no element ELAN's schema lacks
        assert REQUIRED[element.tag] <= set(element.attrib), (element.tag, element.attrib)
    header = root.find("HEADER")
    assert header.get("TIME_UNITS") == "milliseconds"
    assert [c.tag for c in header] == sorted((c.tag for c in header), key=["MEDIA_DESCRIPTOR", "PROPERTY"].index)
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.find("TIME_ORDER")}
    assert len(slots) == len(root.find("TIME_ORDER")) and list(slots.values()) == sorted(slots.values())
    types = {t.get("LINGUISTIC_TYPE_ID") for t in root.findall("LINGUISTIC_TYPE")}
    ids, tiers = [], {}
    for tier in root.findall("TIER"):
        assert tier.get("LINGUISTIC_TYPE_REF") in types and "PARENT_REF" not in tier.attrib
        spans = []
        for annotation in tier:
            (aligned,) = annotation
            ids.append(aligned.get("ANNOTATION_ID"))
            begin, end = slots[aligned.get("TIME_SLOT_REF1")], slots[aligned.get("TIME_SLOT_REF2")]
            spans.append((begin, end, aligned.find("ANNOTATION_VALUE").text))
        assert all(b < e for b, e, _ in spans) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
        tiers[tier.get("TIER_ID")] = spans
    assert len(ids) == len(set(ids)) and len(tiers) == len(root.findall("TIER"))
    last = {p.get("NAME"): p.text for p in header.findall("PROPERTY")}["lastUsedAnnotationId"]
    assert int(last) == len(ids)
    return tiers


def file_url(path: Path) -> str:
    """ELAN's MEDIA_URL of a file: file:// and its absolute path (file:///C:/... on Windows)."""
    absolute = path.resolve().as_posix()
    return "file://" + ("" if absolute.startswith("/") else "/") + absolute


def _result(source: str, fps: float, intervals, gaps=(), notes=(), config=None) -> SpotResult:
    curves = SimpleNamespace(numbers=[0, 1], notes=list(notes), strides={})
    return SpotResult(source, fps, 1000, list(intervals), list(gaps), config=config, curves=curves)


def _data(result: SpotResult) -> dict:
    """The fields of ``result.to_dict()`` the document is made of (to_dict needs a whole spotter's config)."""
    return {"source": result.source, "intervals": result.interval_records(), "gaps": result.gap_records(),
            "notes": result.notes, "time_base": result.time_base}


def test_the_document_spans_each_interval_and_gap_from_its_first_frames_start_to_its_last_frames_end(tmp_path):
    video = tmp_path / "videos" / "session 1.mp4"
    video.parent.mkdir()
    video.write_bytes(b"a video")
    micro = Interval(40, 44, 55, "micro", label="disgust", score=0.25, probabilities={"disgust": 0.8, "others": 0.2})
    result = _result(str(video), 30.0, [micro, Interval(100, 110, 130, "macro", score=1.5)], gaps=[(200, 229)],
                     notes=["session 1.mp4: the video's frame rate varies"])
    tiers = check_eaf(spots_eaf(_data(result), media=video, folder=tmp_path / "out"))
    # 40 / 30 s = 1.3333 s begins at 1334 ms (at 1333 ms ELAN shows frame 39); frame 55 ends at 56 / 30 s
    assert tiers["mmnet-micro"] == [(1334, 1867, "micro 0.250 disgust 0.80")]
    assert tiers["mmnet-macro"] == [(3334, 4367, "macro 1.500")]
    assert tiers["mmnet-no-face"] == [(6667, 7667, "no face")]
    # the same times as intervals.csv's onset_s and end_s
    rows = [r for r in csv.DictReader(io.StringIO(result.to_csv())) if r["type"] != "note"]
    assert [(round(float(r["onset_s"]) * 1000), round(float(r["end_s"]) * 1000)) for r in rows] == [
        (1334, 1867), (3334, 4367), (6667, 7667)]
    root = ET.fromstring(spots_eaf(_data(result), media=video, folder=tmp_path / "out"))
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == file_url(video)
    assert media.get("RELATIVE_MEDIA_URL") == "../videos/session 1.mp4" and media.get("MIME_TYPE") == "video/mp4"
    properties = {p.get("NAME"): p.text for p in root.findall("HEADER/PROPERTY")}
    # a note is on the recording, no span of it: a header property, never an annotation
    assert properties["mmnet-note-1"] == "session 1.mp4: the video's frame rate varies"
    assert all("frame rate" not in value for spans in tiers.values() for _, _, value in spans)


def test_a_frame_folder_names_no_media_and_overlapping_intervals_get_a_tier_of_their_own(tmp_path):
    # a spotter of one's own may give overlapping intervals of one type: ELAN's tiers cannot hold overlaps
    result = _result(str(tmp_path), 200.0, [Interval(1, 3, 9, "micro", score=0.2), Interval(5, 6, 20, "micro"),
                                            Interval(21, 22, 30, "micro", score=0.1)])
    tiers = check_eaf(spots_eaf(_data(result), media=None, folder=tmp_path))
    assert ET.fromstring(spots_eaf(_data(result), media=None, folder=tmp_path)).find(
        "HEADER/MEDIA_DESCRIPTOR") is None
    # from the folder's first frame (numbered 0 here) at 200 fps: frame 9 ends at 50 ms, frame 20 at 105 ms
    assert tiers["mmnet-micro"] == [(5, 50, "micro 0.200"), (105, 155, "micro 0.100")]
    assert tiers["mmnet-micro-2"] == [(25, 105, "micro")]
    assert tiers["mmnet-macro"] == [] and tiers["mmnet-no-face"] == []


def test_spot_out_writes_spots_eaf_beside_the_video_it_names(tmp_path, monkeypatch, capsys):
    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline
    from mmnet.cli import main

    def spotted(source, predictor, config, **_):  # the spotter's work, faked
        return _result(str(source), 30.0, [Interval(10, 14, 20, "micro", score=0.3)], gaps=[(30, 35)],
                       config=config), None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    video = tmp_path / "15_0101.mp4"
    video.write_bytes(b"a recording")
    assert main(["spot", str(video), "--no-progress", "--out", str(tmp_path / "spots")]) == 0
    assert f"{tmp_path / 'spots' / 'spots.eaf'} (ELAN)" in capsys.readouterr().out
    eaf = (tmp_path / "spots" / "spots.eaf").read_bytes()
    assert check_eaf(eaf) == {"mmnet-micro": [(334, 700, "micro 0.300")], "mmnet-macro": [],
                              "mmnet-no-face": [(1000, 1200, "no face")]}
    media = ET.fromstring(eaf).find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("RELATIVE_MEDIA_URL") == "../15_0101.mp4"
    assert media.get("MEDIA_URL") == file_url(video)


def test_the_times_mmnet_writes_read_back_as_the_frames_written(tmp_path):
    # spots.eaf and intervals.csv round their times up to the ms; score-spots reads a coder's times (ELAN, BORIS,
    # rounded to the nearest ms) by one rule: both roundings must give the frames back, at every rate here
    from fractions import Fraction

    from mmnet.spotting.coder_times import megc_frames

    for fps in (25.0, 30.0, 30000 / 1001, 60.0, 120.0, 200.0):
        intervals = [Interval(f, f + 1, f + 4 + f % 5, "micro") for f in range(0, 1500, 11)]
        tiers = check_eaf(spots_eaf(_data(_result(str(tmp_path), fps, intervals)), media=None, folder=tmp_path))
        spans = sorted(tiers["mmnet-micro"] + tiers.get("mmnet-micro-2", []))
        exact = Fraction(fps).limit_denominator(1001)
        read = [megc_frames(Fraction(begin, 1000), Fraction(end, 1000), exact) for begin, end, _ in spans]
        # a frame folder's first frame is 0 here: MEGC's numbers are one more
        assert read == [(i.onset + 1, i.offset + 1) for i in intervals], fps


def _spot_out(tmp_path, monkeypatch, source: Path, intervals, gaps, first: int) -> Path:
    """`mmnet spot SOURCE --fps 30 --out` with the spotter's work faked: a recording whose first frame is ``first``
    (0 for a video, a folder's first file number)."""
    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline
    from mmnet.cli import main

    def spotted(source, predictor, config, **_):
        result = _result(str(source), 30.0, intervals, gaps=gaps, config=config)
        result.curves.numbers = [first, first + 1]
        return result, None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    out = tmp_path / "out"
    assert main(["spot", str(source), "--fps", "30", "--no-progress", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("source", ["video", "folder from 0", "folder from 1"])
def test_spots_eaf_reads_back_as_the_frames_of_its_spotting_csv_and_intervals_csv(tmp_path, monkeypatch, capsys,
                                                                                    source):
    import json

    from mmnet.cli import main

    first = {"video": 0, "folder from 0": 0, "folder from 1": 1}[source]
    if source == "video":
        path = tmp_path / "15_0101.mp4"
        path.write_bytes(b"a recording")
    else:
        path = tmp_path / "frames"
        path.mkdir()
        for n in range(first, first + 400):
            (path / f"frame_{n:06d}.png").write_bytes(b"")
    # overlapping micro-expressions (a second lane, mmnet-micro-2), a macro-expression and a gap without a face
    intervals = [Interval(first + 10, first + 14, first + 20, "micro", label="disgust", score=0.333,
                          probabilities={"disgust": 0.87}),
                 Interval(first + 15, first + 16, first + 30, "micro", score=0.25),
                 Interval(first + 100, first + 110, first + 180, "macro", score=1.5)]
    out = _spot_out(tmp_path, monkeypatch, path, intervals, [(first + 300, first + 340)], first)
    capsys.readouterr()
    eaf, spotting, intervals_csv = out / "spots.eaf", out / "spotting.csv", out / "intervals.csv"
    assert "mmnet-micro-2" in check_eaf(eaf.read_bytes())
    assert main(["score-spots", str(spotting), str(eaf), "--fps", "30", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in scores["counts"]} == {
        "micro": (2, 0, 0), "macro": (1, 0, 0), "overall": (3, 0, 0)}
    assert main(["agree", str(eaf), str(intervals_csv), "--fps", "30", "--json", "--pairs",
                 str(tmp_path / "pairs.csv")]) == 0
    capsys.readouterr()
    with open(tmp_path / "pairs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # every interval matched (none left without its pair), each at the frames it was written with
    assert len(rows) == 3 and all(r["iou"] for r in rows), rows
    assert {(r["onset_diff"], r["offset_diff"]) for r in rows} == {("0", "0")}, rows


def test_media_url_is_written_as_elan_writes_and_reads_it():
    from mmnet.spotting.elan import media_url

    # ELAN finds the video by the path after 'file:' as it stands (no percent-decoding): the path stays unescaped
    assert media_url("/data/P01 session #1 (50%).mp4") == "file:///data/P01 session #1 (50%).mp4"
    assert media_url("C:/Users/lab/v.mp4") == "file:///C:/Users/lab/v.mp4"
    assert media_url("//server/share/v.mp4") == "file://server/share/v.mp4"  # a network share: ELAN's two slashes


@pytest.mark.parametrize("name", ["P01 session #1 (50%).mp4", "P01 take%41 #2.mp4"])
def test_a_video_name_with_spaces_hash_and_percent_reads_back_as_its_own_id(tmp_path, name):
    from mmnet.spotting.coder_elan import read_eaf

    video = tmp_path / "videos" / name
    video.parent.mkdir()
    video.write_bytes(b"a video")
    result = _result(str(video), 30.0, [Interval(40, 44, 55, "micro", score=0.25)])
    text = spots_eaf(_data(result), media=video, folder=tmp_path / "out").decode("utf-8")
    media = ET.fromstring(text).find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == "file://" + video.resolve().as_posix()
    assert media.get("RELATIVE_MEDIA_URL") == f"../videos/{name}"
    # no mmnet-video-id property (an earlier spots.eaf, or one edited): the media names the video, absolute or
    # relative alone, with the name's '#', '%' and '%41' its own
    without_absolute = text.replace(f'MEDIA_URL="{media.get("MEDIA_URL")}"', "", 1)
    assert 'MEDIA_URL="file:' not in without_absolute.replace("RELATIVE_MEDIA_URL", "")
    for document in (text, without_absolute):
        annotations, source, declared = read_eaf(tmp_path / "out" / "spots.eaf", document, None)
        assert declared == name[:-4] and "MEDIA_URL" in source
        assert {a.video for a in annotations} == {name[:-4]}


@pytest.mark.parametrize("url, video", [
    ("file:/data/S\u00e9ance%201.mp4", "S\u00e9ance 1"),  # Java's File.toURI(): spaces escaped, 'é' as it is
    ("file:///data/S%C3%A9ance%201.mp4", "S\u00e9ance 1"),  # every non-ASCII byte escaped
    ("file:///data/S\u00e9ance 1%41.mp4", "S\u00e9ance 1%41"),  # a literal space: written unescaped, '%41' its own
    ("file:///data/P01 take%41 #2.mp4", "P01 take%41 #2"),
])
def test_a_media_url_with_non_ascii_characters_and_escapes_is_decoded(url, video):
    from mmnet.spotting.coder_records import media_url_stem

    assert media_url_stem(url) == video
    assert media_url_stem(url.split("/")[-1], relative=True) == video
