"""`mmnet train --config RUN/config.yaml` on data other than RUN's: a note names the digest that differs (the run
finished with no word, as if it were RUN again)."""

import json

from mmnet.cli import main
from mmnet.commands.train import other_data_note

RECORDED = {"frames_digest": "frames111", "labels_digest": "labels111"}


def _run_folder(folder, env):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text("data:\n  dataset: casme2\n")
    (folder / "env.json").write_text(json.dumps(env))
    return folder / "config.yaml"


def test_the_note_names_the_digest_that_differs_only_beside_a_runs_env_json(tmp_path):
    config = _run_folder(tmp_path / "run1", RECORDED)
    again = tmp_path / "again"
    again.mkdir()
    (again / "env.json").write_text(json.dumps({**RECORDED, "labels_digest": "labels222"}))
    note = other_data_note(str(config), again)
    assert note.startswith(f"note: this run read other data than the run whose config it used ({config.parent}): "
                           "its labels digest labels222 (that run's: labels111); other labels")
    assert "frames digest" not in note
    (again / "env.json").write_text(json.dumps({**RECORDED, "frames_digest": "frames222"}))
    assert "its frames digest frames222 (that run's: frames111); other frames or sample windows" in \
        other_data_note(str(config), again)
    (again / "env.json").write_text(json.dumps(RECORDED))
    assert other_data_note(str(config), again) == ""  # the same data
    assert other_data_note(str(config), config.parent) == ""  # the run itself, resumed
    assert other_data_note("synth_demo", again) == ""  # a recipe
    (config.parent / "env.json").unlink()
    assert other_data_note(str(config), again) == ""  # a YAML file of no run


def test_mmnet_train_prints_the_note(tmp_path, monkeypatch, capsys):
    from mmnet import train as train_module

    assert main(["train", "--config", "synth_demo", "--print-config"]) == 0
    config = _run_folder(tmp_path / "run1", RECORDED)
    config.write_text(capsys.readouterr().out)
    out = tmp_path / "again"

    def trained(cfg, out_dir, **kwargs):
        out_dir.mkdir(parents=True)
        (out_dir / "env.json").write_text(json.dumps({**RECORDED, "frames_digest": "frames222"}))
        return {"complete": True}

    monkeypatch.setattr(train_module, "train_experiment", trained)
    assert main(["train", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    assert "its frames digest frames222 (that run's: frames111)" in capsys.readouterr().err
