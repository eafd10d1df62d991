"""Text typed with a Chinese or Japanese input method: full-width separators, ideographic spaces, full-width digits."""

import re
import shutil
from pathlib import Path

import pytest

from mmnet.data import load_dataset, resolve_scheme
from mmnet.data.label_maps import is_label_map, label_map_scheme
from mmnet.errors import ConfigError
from mmnet.spotting.coder_files import parse_tier_types
from tests.table_helpers import read_csv, write_csv

GROUPS = "happiness=positive，disgust＝negative, repression=negative，surprise=surprise，others=-"


def test_full_width_comma_and_equals_separate_a_label_map():
    assert is_label_map("高兴＝积极，厌恶＝消极")
    fields = label_map_scheme("高兴＝积极，厌恶=消极, 惊讶﹦惊讶")
    assert fields["classes"] == ("积极", "消极", "惊讶")
    assert fields["mapping"] == {"高兴": "积极", "厌恶": "消极", "惊讶": "惊讶"}
    assert resolve_scheme(GROUPS, None, "table").classes == ("positive", "negative", "surprise")


def test_a_class_name_with_an_equals_sign_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"class '积极 厌恶=消极' \(of label '高兴'\) contains '='"):
        label_map_scheme("高兴=积极 厌恶=消极, 惊讶=惊讶")


def test_check_data_reads_a_map_of_mixed_commas(copy, capsys):
    from mmnet.cli import main

    assert main(["check-data", "table", "--root", str(copy), "--scheme", GROUPS, "--on-bad-sample", "skip"]) == 0
    out = capsys.readouterr().out
    assert "7 of 12 annotated samples used" in out and "unknown" not in out
    assert re.findall(r"^ +[0-9] +(\S+) +[0-9]+$", out, re.M) == ["positive", "negative", "surprise"]


def test_full_width_separators_in_tier_types():
    assert parse_tier_types("微表情＝micro，宏表情=macro") == {"微表情": "micro", "宏表情": "macro"}


def test_agree_frames_per_video_with_full_width_separators():
    from mmnet.commands.agree import _frames

    assert _frames("视频一＝9000，视频二=7200") == {"视频一": 9000, "视频二": 7200}


@pytest.mark.parametrize("spelling", ["被试 02", "被试\u300002", "被试０２"])
def test_a_subject_written_with_a_space_inside_is_an_error_naming_both_rows(copy, spelling):
    rows = read_csv(copy / "annotations.csv")
    for r in rows:
        r["subject"] = r["subject"].replace("P", "被试")
    rows[5]["subject"] = spelling if rows[5]["subject"] == "被试02" else rows[5]["subject"]
    assert rows[4]["subject"] == "被试02" and rows[5]["subject"] == spelling
    write_csv(copy / "annotations.csv", rows)
    (clash,) = [i for i in load_dataset("table", copy).issues if i.check == "subject_case"]
    assert clash.severity == "error" and f"subject {spelling!r} is also written '被试02'" in clash.message
    assert "row 7" in clash.message and "row 6" in clash.message


def _columns_before(line: str, text: str) -> int:
    from mmnet.display_width import display_width

    return display_width(line[:line.rindex(text)])


def test_check_datas_class_summary_is_aligned_as_a_terminal_shows_it(copy, capsys):
    from mmnet.cli import main

    scheme = "happiness=积极情绪, disgust=消极, repression=消极, surprise=surprise, others=-"
    assert main(["check-data", "table", "--root", str(copy), "--scheme", scheme]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if re.match(r"^ +[0-9] +\S+ +[0-9]+$", line)]
    assert len(lines) == 3 and len({_columns_before(line, line.split()[-1]) for line in lines}) == 1


def test_score_spots_per_video_is_aligned_as_a_terminal_shows_it(tmp_path, capsys):
    from mmnet.cli import main

    truth = tmp_path / "truth.csv"
    truth.write_text("vid,onset,offset,type\n被试一号视频,10,20,me\nv2,,,\n", encoding="utf-8")
    spots = tmp_path / "spots.csv"
    spots.write_text("vid,onset,offset,type,score\n被试一号视频,10,20,me,1\nv2,5,9,me,1\n", encoding="utf-8")
    assert main(["score-spots", str(truth), str(spots), "--per-video"]) == 0
    table = capsys.readouterr().out.splitlines()
    table = table[table.index("") + 1:]
    ends = {_columns_before(line, line.split()[-1]) + len(line.split()[-1]) for line in table if line.strip()}
    assert len(table) >= 3 and len(ends) == 1  # each row's last column ends where the header's does


def test_config_yaml_and_print_config_write_cjk_as_written_and_read_it_back(table_root, tmp_path, capsys):
    import yaml

    from mmnet.cli import main
    from mmnet.config import load_config
    from mmnet.train.prepare import prepare_run

    root = tmp_path / "数据" / "实验一"
    shutil.copytree(table_root, root)
    scheme = "happiness=积极, disgust=消极, repression=消极, surprise=惊讶, others=-"
    assert main(["train", "--dataset", "table", "--root", str(root), "--scheme", scheme, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert "\\u" not in printed and "数据/实验一" in printed and "surprise=惊讶" in printed
    assert yaml.safe_load(printed)["data"]["classes"] == ["积极", "消极", "惊讶"]
    cfg = load_config(None, ["data.dataset=table", f"data.root={root}", f"data.scheme={scheme}",
                             f"data.cache_dir={tmp_path / '缓存'}"])
    run = tmp_path / "运行"
    prepare_run(cfg, run, progress=False, measure=False)
    written = (run / "config.yaml").read_bytes()
    assert "数据/实验一".encode() in written and "积极".encode() in written and b"\\u" not in written
    saved = yaml.safe_load(written.decode("utf-8"))
    assert saved["data"]["root"] == str(root) and saved["data"]["scheme"] == scheme
    assert main(["train", "--config", str(run / "config.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == saved


def test_a_config_value_in_messages_is_written_as_typed():
    from mmnet.config_effect import as_written

    assert as_written("数据/实验一") == "数据/实验一" and as_written(["积极", 1]) == "[积极, 1]"


def test_a_pair_split_at_a_full_width_comma_names_the_comma():
    with pytest.raises(ConfigError, match=r"'积极' is not label=class; '，' \(a full-width comma\) separates like ','"):
        label_map_scheme("happiness=正面，积极, disgust=负面, others=-")
    with pytest.raises(ValueError, match=r"'，' \(a full-width comma\) separates like ','"):
        parse_tier_types("微表情=micro，宏表情")


def test_the_enumeration_comma_is_not_a_separator_and_is_named():
    with pytest.raises(ConfigError, match="'、' is not a separator"):
        label_map_scheme("高兴=积极、厌恶=消极")
    assert label_map_scheme("惊讶=惊讶、恐惧, 高兴=积极")["classes"] == ("惊讶、恐惧", "积极")


def test_score_spots_classes_agree_tiers_folds_and_composite_roots_read_full_width_commas(tmp_path):
    from mmnet.commands.agree_read import parse_coder
    from mmnet.commands.score_spots import _classes
    from mmnet.dataset_root import parse_root
    from mmnet.train.fold_choice import choose_folds

    assert _classes("负面，正面,惊讶") == ("负面", "正面", "惊讶")
    assert parse_coder(str(tmp_path / "a.eaf") + "#编码员1，编码员2").tiers == ("编码员1", "编码员2")
    folds = [("samm", [], []), ("smic", [], []), ("casme2", [], [])]
    assert choose_folds(folds, ["samm，smic"], "lodo") == ("samm", "smic")
    assert parse_root("composite", "casme2＝/d/c，samm=/d/s") == {"casme2": Path("/d/c"), "samm": Path("/d/s")}
    folder = tmp_path / "实验＝一"
    folder.mkdir()
    assert parse_root("casme2", str(folder)) == folder  # a folder's own name is kept as written
    with pytest.raises(ConfigError, match=r"'，' \(a full-width comma\) separates like ','; .* Write them as"):
        parse_root("composite", "casme2=/d/c，samm＝")


def test_a_composite_parts_folder_may_hold_full_width_separators(tmp_path):
    """'，' and '＝' separate PART=DIR pieces, but a folder's own name may hold them after its PART=: such a root
    worked before they were read as separators, and a run or sweep that has one in config.yaml still loads."""
    from mmnet.dataset_root import format_root, parse_root

    comma, equals = tmp_path / "数据，CASME2", tmp_path / "a＝b"
    assert parse_root("composite", f"casme2={comma}") == {"casme2": comma}
    assert parse_root("composite", f"casme2={comma}，") == {"casme2": comma}  # a '，' at the end, as a ','
    assert parse_root("composite", f"casme2＝{comma}，samm={equals}") == {"casme2": comma, "samm": equals}
    assert parse_root("composite", [f"casme2={comma}", f"samm={equals}"]) == {"casme2": comma, "samm": equals}
    assert parse_root("composite", {"casme2": str(comma)}) == {"casme2": comma}  # data.root as a mapping
    parts = {"casme2": comma, "samm": equals}
    assert parse_root("composite", format_root(parts)) == parts  # as config.yaml keeps it
    with pytest.raises(ConfigError, match="No dataset root"):
        parse_root("composite", {})
