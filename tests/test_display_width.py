"""Terminal tables padded by the columns text is shown in: CJK characters take two, so paths in Chinese or
Japanese kept the columns after them out of line when padded by len()."""

from __future__ import annotations

from types import SimpleNamespace

from mmnet.commands.check_data_common import print_issues
from mmnet.commands.predict import format_table
from mmnet.data.sample import Issue
from mmnet.display_width import display_width, pad


def test_wide_characters_take_two_columns_and_combining_marks_none():
    assert display_width("abc") == 3
    assert display_width("张三") == 4
    assert display_width("ｓ１") == 4  # full-width Latin, as an East Asian input method types it
    assert display_width("e\u0301") == 1  # 'é' written as e + a combining accent
    assert pad("张三", 6) == "张三  " and pad("张三", 6, ">") == "  张三" and pad("张三李四", 2) == "张三李四"


def _column_starts(lines: list[str], word: str) -> set[int]:
    """The display column where ``word`` begins on each line."""
    return {display_width(line[:line.index(word)]) for line in lines}


def test_the_predict_table_keeps_its_columns_in_line_for_cjk_paths():
    def prediction(source):
        return SimpleNamespace(source=source, onset=0, apex=5, apex_spotted=False, label="negative",
                               probabilities={"negative": 0.7, "positive": 0.3}, aligned=True, face_score=None)

    table = format_table([prediction("clips/张三/视频一"), prediction("clips/s01/video_one")], ["negative", "positive"])
    lines = table.splitlines()
    assert len(_column_starts(lines[1:], "negative")) == 1  # the class column, after the clip's
    assert len({display_width(line) for line in lines}) == 1  # the last column right-aligned to one edge


def test_the_check_data_table_keeps_its_columns_in_line_for_cjk_samples(capsys):
    issues = [Issue("张三/恐惧_1", "missing_frames", "frames 3-5 are missing", "warning"),
              Issue("sub01/EP02_01f", "missing_frames", "frames 7-9 are missing", "warning")]
    print_issues(issues, 120)
    lines = [line for line in capsys.readouterr().out.splitlines() if "missing_frames  frames" in line]
    assert len(lines) == 2 and len(_column_starts(lines, "warning")) == 1


def test_the_sweep_summary_keeps_its_columns_in_line_for_settings_named_in_cjk():
    from mmnet.train.sweep_summary import METRICS, format_summary_table

    def row(setting):
        return {"setting": setting, "status": "complete", "n_seeds": 3,
                **{f"{m}_{k}": None for m in METRICS for k in ("mean", "std")}}

    lines = format_summary_table([row("学习率_0.01"), row("lr_0.001")]).splitlines()
    assert len(_column_starts(lines[2:4], "3  ")) == 1  # the seeds column, after the setting's
