"""LOSO end to end on a table dataset (generated), its config.yaml rerun, and resolve_config from Python."""

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.train import resolve_config, run_experiment

TINY = ["train.epochs=1", "data.image_size=32", "train.batch_size=4", "data.dataset=table"]
GROUPS = "happiness=positive, disgust=negative, repression=negative, surprise=surprise, others=-"


@pytest.mark.slow
def test_loso_on_a_table_with_a_label_map_and_its_config_reruns(table_root, tmp_path):
    cfg = load_config(None, [f"data.root={table_root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY,
                             f"data.scheme={GROUPS}"])
    run = tmp_path / "run"
    report = run_experiment(cfg, run, progress=False)
    assert report["complete"]
    assert sorted(p.name for p in (run / "seed-0").iterdir()) == ["fold-table_P01", "fold-table_P02", "fold-table_P03"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["scheme"] == GROUPS and saved["data"]["classes"] == ["positive", "negative", "surprise"]
    assert "positive" in (run / "report.md").read_text()
    # the run's config.yaml (what the report's Reproduce line gives) is the same run: a rerun resumes it
    before = (run / "report.json").read_text()
    assert main(["train", "--config", str(run / "config.yaml"), "--out", str(run), "--no-progress"]) == 0
    assert (run / "report.json").read_text() == before


@pytest.mark.slow
def test_cli_train_takes_the_classes_from_the_table(table_root, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "table", "--root", str(table_root), "--out", str(run), "--no-progress",
                 *[a for kv in TINY for a in ("--set", kv)], "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["scheme"] == "table"
    assert saved["data"]["classes"] == ["disgust", "happiness", "others", "repression", "surprise"]
    assert saved["model"]["num_classes"] == 5
    cfg = load_config(run / "config.yaml")  # kept: for the table they are the setting, not derived
    assert cfg.data.classes == saved["data"]["classes"]


def test_print_config_records_the_table_classes(table_root, capsys):
    assert main(["train", "--dataset", "table", "--root", str(table_root), "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["data"]["classes"] == ["disgust", "happiness", "others", "repression", "surprise"]


def test_resolve_config_fills_what_load_config_leaves_unset():
    cfg = load_config("casme2_3class")
    assert cfg.data.classes is None  # as written: the scheme decides
    resolved = resolve_config(cfg)
    assert resolved.data.classes == ["negative", "positive", "surprise"] and resolved.model.num_classes == 3


def test_table_without_classes_or_root_says_what_to_set():
    with pytest.raises(ConfigError, match="data.classes, which is not set"):
        resolve_config(load_config(None, ["data.dataset=table"]))


def test_a_sweep_setting_on_a_table_gets_its_classes(table_root, tmp_path):
    from mmnet.train.sweep import _check_settings, load_sweep

    doc = {"config": {"data": {"dataset": "table", "root": str(table_root)}},
           "settings": {"labels": {}, "grouped": {"data.scheme": GROUPS}}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    sweep = load_sweep(tmp_path / "s.yaml")
    _check_settings(sweep, tmp_path / "out")
    labels, grouped = (s.config.data.classes for s in sweep.settings)  # resolved as config.yaml records them
    assert labels == ["disgust", "happiness", "others", "repression", "surprise"]
    assert grouped == ["positive", "negative", "surprise"]  # the label map's classes, in the order written
