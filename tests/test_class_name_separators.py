"""A class name holding a list separator (',' or '=', at any width) is refused where it enters: data.classes and the
lab tables' emotion column. Such a name splits where lists of names are read (--classes, label maps)."""

import pytest

from mmnet.config import DataConfig
from mmnet.data import load_dataset
from mmnet.data.table import table_labels
from mmnet.data.table_long import load_table_long, table_long_labels
from mmnet.errors import AnnotationError, ConfigError
from mmnet.typed_separators import separator_in_name
from tests.fakes import write_frames
from tests.table_helpers import read_csv, write_csv


@pytest.mark.parametrize(("name", "held"), [("happy,surprise", "','"), ("高兴，惊讶", "'，' (a full-width comma)"),
                                            ("a=b", "'='"), ("甲＝乙", "'＝' (a full-width equals sign)")])
def test_data_classes_refuse_a_name_holding_a_separator(name, held):
    with pytest.raises(ConfigError, match="rename it") as exc:
        DataConfig(dataset="table", classes=[name, "other"])
    message = str(exc.value)
    assert message.startswith(f"data.classes: class {name!r} holds {held}") and "'/'" in message


def test_the_enumeration_comma_and_a_slash_are_names():
    assert separator_in_name("惊讶、恐惧") is None and separator_in_name("happy/surprise") is None
    names = ["惊讶、恐惧", "happy/surprise"]
    assert DataConfig(dataset="table", classes=names).classes == names


@pytest.mark.parametrize("label", ["Happy,Surprise", "高兴，惊讶"])
def test_a_table_row_whose_emotion_holds_a_separator_is_an_error_naming_the_row(copy, label):
    rows = read_csv(copy / "annotations.csv")
    rows[2]["emotion"] = label
    write_csv(copy / "annotations.csv", rows)
    (issue,) = [i for i in load_dataset("table", copy).issues if i.check == "label_separator"]
    # the label as read (lower case, NFKC: '，' is ','), and how to rename it
    assert issue.severity == "error" and "row 4: emotion" in issue.message and "/" in issue.message
    # the classes `mmnet train` fills in from the table: refused, naming the row, not split nor a data.classes error
    with pytest.raises(AnnotationError, match=r"row 4: emotion .* rename it"):
        table_labels(copy)


def test_mmnet_train_refuses_the_table_naming_the_row(copy, capsys):
    from mmnet.cli import main

    rows = read_csv(copy / "annotations.csv")
    rows[0]["emotion"] = "happy,surprise"
    write_csv(copy / "annotations.csv", rows)
    assert main(["train", "--dataset", "table", "--root", str(copy), "--print-config"]) != 0
    err = capsys.readouterr().err
    assert "row 2: emotion 'happy,surprise' holds ','" in err and "'happy/surprise'" in err


def test_a_table_long_micro_row_whose_emotion_holds_a_separator_is_left_out_naming_the_row(tmp_path):
    root = tmp_path / "lab"
    for video in ("P01/rec1", "P02/rec1"):
        write_frames(root / video, range(1, 41), "frame_{:04d}.jpg".format)
    (root / "intervals.csv").write_text(
        "subject,video,onset,offset,type,emotion,fps\nP01,P01/rec1,5,12,micro,happy，surprise,30\n"
        "P02,P02/rec1,3,8,micro,negative,30\nP02,P02/rec1,20,30,macro,a，b,30\n", encoding="utf-8")
    (issue,) = [i for i in load_table_long(root).issues if i.check == "label_separator"]
    assert issue.severity == "error" and "row 2: emotion 'happy,surprise'" in issue.message
    assert "row left out" in issue.message  # the macro row's emotion is no class: kept
    with pytest.raises(AnnotationError, match="row 2: emotion 'happy,surprise' holds ','"):
        table_long_labels(root)
