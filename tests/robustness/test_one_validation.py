"""check-data and train apply one validation; every sample training does not use is listed with its reason."""

from __future__ import annotations

import csv

import pytest

from mmnet.config import load_config
from mmnet.errors import DataError
from mmnet.train import run_experiment

from ..fakes import write_casme2, write_casme2_xlsx
from .helpers import TINY, cli

# subject, clip, onset, apex, offset, AUs, emotion, objective class
GOOD = [("01", "EP01", 1, 5, 9, "4", "happiness", 1), ("01", "EP02", 1, 5, 9, "4", "disgust", 3),
        ("02", "EP01", 1, 5, 9, "4", "happiness", 1), ("02", "EP02", 1, 5, 9, "4", "surprise", 2)]
BAD = [("01", "EP03", 7, 3, 9, "4", "disgust", 3),       # onset after apex
       ("02", "EP03", "seven", 5, 9, "4", "disgust", 3),  # onset is text
       ("02", "EP04", 1, 5, 9, "4", None, 3),             # blank label
       ("01", "EP04", 1, 5, 9, "4", "hapiness", 1),       # unknown label (typo)
       ("01", "EP01", 1, 5, 9, "4", "disgust", 3),        # duplicate of 01/EP01 with another label
       ("02", "EP05", 1, 5, 9, "4", "fear", 5)]           # not in casme2-5class: left out on purpose


@pytest.fixture
def root(tmp_path):
    rows = GOOD + BAD
    r = write_casme2(tmp_path / "c2", [x for x in rows if isinstance(x[2], int)], junk=False,
                     on_disk={(x[0], x[1]): (1, 9) for x in rows})
    write_casme2_xlsx(r / "CASME2-coding-20190701.xlsx", rows)
    # frames for the text-onset row too, so that only its annotation is wrong
    src = r / "Cropped" / "sub02" / "EP01"
    (r / "Cropped" / "sub02" / "EP03").mkdir(exist_ok=True)
    for f in src.iterdir():
        (r / "Cropped" / "sub02" / "EP03" / f.name).write_bytes(f.read_bytes())
    return r


def _cfg(root, tmp_path, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "train.epochs=1",
                              *extra])


def test_training_refuses_every_bad_sample_by_name(root, tmp_path):
    with pytest.raises(DataError) as info:
        run_experiment(_cfg(root, tmp_path), tmp_path / "run", progress=False)
    msg = str(info.value)
    for sid, check in [("casme2/01/EP03", "onset_after_apex"), ("casme2/02/EP03", "onset"),
                       ("casme2/02/EP04", "no label"), ("casme2/01/EP04", "'hapiness' is unknown"),
                       ("casme2/01/EP01", "duplicate")]:
        assert sid in msg and check in msg, (sid, check, msg)
    assert "casme2/02/EP05" not in msg  # left out on purpose is not a problem
    assert "data.on_bad_sample=skip" in msg


@pytest.mark.slow
def test_skip_lists_every_sample_not_used_with_its_reason(root, tmp_path, capsys):
    run_experiment(_cfg(root, tmp_path, "data.on_bad_sample=skip"), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "skipped.csv") as f:
        skipped = {r["sample_id"]: r["reason"] for r in csv.DictReader(f)}
    with open(tmp_path / "run" / "samples.csv") as f:
        used = [r["sample_id"] for r in csv.DictReader(f)]
    assert sorted(used) == ["casme2/01/EP02", "casme2/02/EP01", "casme2/02/EP02"]
    assert set(skipped) == {"casme2/01/EP01", "casme2/01/EP03", "casme2/02/EP03", "casme2/02/EP04", "casme2/01/EP04",
                            "casme2/02/EP05"}
    assert "not used by scheme" in skipped["casme2/02/EP05"] and "onset_after_apex" in skipped["casme2/01/EP03"]
    report = (tmp_path / "run" / "report.md").read_text()
    # data problems by name; those the scheme leaves out on purpose counted by label (their ids in skipped.csv)
    assert all(sid in report for sid, reason in skipped.items() if "not used by scheme" not in reason)
    assert "1 left out by scheme casme2-5class" in report
    # check-data says the same, with the same option
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root, "--on-bad-sample", "skip")
    assert code == 0
    assert f"{len(used)} of {len(used) + len(skipped)} annotated samples used for training" in out
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root)
    assert f"{len(used)} of {len(used) + len(skipped)} annotated samples used" in out
    assert "5 with problems (above) stop training" in out


def test_an_exact_duplicate_row_is_harmless(tmp_path):
    from mmnet.data import get_scheme, load_dataset
    from mmnet.data.usage import plan_usage

    rows = GOOD + [GOOD[0]]
    r = write_casme2(tmp_path / "c2", GOOD, junk=False, on_disk={})
    write_casme2_xlsx(r / "CASME2-coding-20190701.xlsx", rows)
    load = load_dataset("casme2", r)
    assert [i.check for i in load.issues if "duplicate" in i.check] == ["duplicate_row"]
    usage = plan_usage(load, get_scheme("casme2-5class"), "error")
    assert len(usage.used) == 4 and not usage.problems
