"""Run folders written by an earlier mmnet, met by this one: what resumes, and what is refused with a remedy."""

from __future__ import annotations

import json

import pytest
import yaml

from mmnet import synth
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.train.prepare import prepare_run

from .fake_runs import as_frame_cache_version1, mark_started


def _base(tmp_path):
    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    return [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32", "model.image_size=32"]


def _unlike(monkeypatch):
    """A frame that frame cache version 1 decoded otherwise (tests/test_cache_version1.py reads real headers)."""
    monkeypatch.setattr("mmnet.train.cache_version1.decoded_unlike_version1",
                        lambda samples, windows: ["f.png (PIL mode I;16: a 16-bit or floating-point grey frame)"])


def test_a_run_written_before_the_newest_config_keys_resumes_with_them_read_as_before(tmp_path):
    # train.compile (and each key added since the run) was read as null: "train.compile: null -> false" refused it
    base = _base(tmp_path)
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    for section, key in [("train", "compile"), ("train", "final_fit"), ("train", "tensorboard"),
                         ("train", "state_every_s"), ("data", "permute_labels")]:
        del saved[section][key]
    del saved["spotting"]
    (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    mark_started(out)
    prepare_run(load_config(None, base), out, progress=False)  # the same run: resumes
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["compile"] is False

    (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    with pytest.raises(ConfigError, match=r"train.epochs: 74 -> 3\)\. It was written by an earlier mmnet "
                                          r"\(keys added since, read as that mmnet behaved: .*train.compile"):
        prepare_run(load_config(None, [*base, "train.epochs=3"]), out, progress=False)


def test_train_channels_last_of_the_first_runs_reads_as_its_memory_format(tmp_path):
    from mmnet.config_history import fill_earlier_keys

    saved = {"train": {"channels_last": False}}
    assert "train.memory_format (was train.channels_last)" in fill_earlier_keys(saved)
    assert saved["train"]["memory_format"] == "contiguous" and "channels_last" not in saved["train"]
    assert fill_earlier_keys(saved) == []  # filled: nothing more


def test_a_run_of_frame_cache_version_1_is_refused_as_an_earlier_mmnets(tmp_path, monkeypatch):
    # it was refused as "trained on other data ... (or put the old data back)" with the data unchanged
    base = _base(tmp_path)
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    env = as_frame_cache_version1(out)
    _unlike(monkeypatch)
    monkeypatch.setattr("mmnet.train.cache_version1.version1_fingerprints", lambda *a: {"fingerprint-v1"})
    with pytest.raises(ConfigError) as caught:
        prepare_run(load_config(None, base), out, progress=False)
    message = str(caught.value)
    assert "started by an earlier mmnet (frame cache version 1" in message and "--restart" in message
    assert "old data back" not in message

    env["dataset_fingerprint"] = "other-files"  # not these files under version 1: the data changed
    (out / "env.json").write_text(json.dumps(env))
    with pytest.raises(ConfigError, match="the frame files differ"):
        prepare_run(load_config(None, base), out, progress=False)



def test_a_run_of_frame_cache_version_1_is_refused_before_the_dataset_is_decoded(tmp_path, monkeypatch):
    # the refusal came after build_frame_cache had decoded the whole dataset into a new cache entry
    base = _base(tmp_path)
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    as_frame_cache_version1(out)
    _unlike(monkeypatch)
    monkeypatch.setattr("mmnet.train.cache_version1.version1_fingerprints", lambda *a: {"fingerprint-v1"})

    def decode(*args, **kwargs):
        raise AssertionError("the dataset was decoded")

    monkeypatch.setattr("mmnet.train.prepare.build_frame_cache", decode)
    with pytest.raises(ConfigError, match=r"started by an earlier mmnet \(frame cache version 1"):
        prepare_run(load_config(None, base), out, progress=False)


@pytest.mark.parametrize("checked_before_the_build", [True, False])
def test_a_version_1_run_of_before_memory_format_is_refused_as_version_1(tmp_path, monkeypatch,
                                                                         checked_before_the_build):
    # it was refused as "a different configuration (train.memory_format: channels_last -> auto)"; after the
    # build the samples may be fewer (data.on_bad_sample=skip drops unreadable frames), the fingerprint then too
    base = _base(tmp_path)
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    as_frame_cache_version1(out, channels_last=True)
    calls = []

    def version1(*args):
        calls.append(1)
        return {"fingerprint-v1" if checked_before_the_build or len(calls) > 1 else "before-the-skips"}

    _unlike(monkeypatch)
    monkeypatch.setattr("mmnet.train.cache_version1.version1_fingerprints", version1)
    with pytest.raises(ConfigError) as caught:
        prepare_run(load_config(None, base), out, progress=False)
    assert "started by an earlier mmnet (frame cache version 1" in str(caught.value)
    assert "different configuration" not in str(caught.value) and calls[-1] == 1


def test_a_sweep_refused_for_its_setting_s_earlier_run_restarts_it_with_restart(tmp_path, capsys):
    # the refusal named --restart, which `mmnet sweep` did not have (unrecognized arguments)
    from mmnet.cli import main

    base = _base(tmp_path)
    tiny = ["train.epochs=1", "train.batch_size=4", "train.precision=fp32", "train.device=cpu"]
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump({"set": base[1:] + tiny, "seeds": [0], "settings": {"a": {}}}))
    out = tmp_path / "sweep"
    prepare_run(load_config(None, [*base, *tiny, "train.lr=0.1"]), out / "a", progress=False)  # another experiment
    mark_started(out / "a")
    args = ["sweep", str(sweep_file), "--root", str(tmp_path / "data"), "--out", str(out), "--no-progress"]
    assert main(args) != 0
    assert "--restart" in capsys.readouterr().err
    assert main([*args, "--restart"]) == 0
    assert "restart: the earlier run in" in capsys.readouterr().err
    (aside,) = out.glob("a.old-*")
    assert (aside / "seed-0" / "fold-x").is_dir() and (out / "a" / "report.md").is_file()


def test_a_demo_run_on_an_older_generator_s_data_is_refused_before_the_data_is_drawn_again(tmp_path, monkeypatch,
                                                                                            capsys):
    # the data was drawn again first, then the run refused "... (or put the old data back)": no longer possible
    from mmnet import train as train_module
    from mmnet.cli import main

    out = tmp_path / "demo"
    preset = {**synth.DEMO_PRESET, "subjects": 2, "clips_per_subject": 3}
    synth.write_dataset(out / "data", **preset, config=synth.DEMO_CONFIG)
    marker = out / "data" / "synth.json"
    meta = json.loads(marker.read_text())
    del meta["generator_version"]  # as written by generator version 1
    marker.write_text(json.dumps(meta))
    mark_started(out / "run")
    started = []
    monkeypatch.setattr(train_module, "train_experiment", lambda *a, **k: started.append(a) or {})
    argv = ["demo", "--out", str(out), "--subjects", "2", "--clips-per-subject", "3", "--no-progress"]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "drawn by synthetic generator version 1" in err and "--restart" in err and "old data back" not in err
    assert json.loads(marker.read_text()) == meta and not started  # neither drawn again nor trained


def test_folds_record_the_mmnet_that_trained_them_and_a_resume_by_another_is_warned_and_named(tmp_path, monkeypatch,
                                                                                              caplog):
    # env.json, written once at the start, gave the report and the model card the first mmnet's revision for folds
    # and a final model that a newer mmnet trained on resume
    import logging

    from mmnet.run_folder import software_name
    from mmnet.train import run_experiment
    from mmnet.version import __version__, code_digest, git_revision

    root = synth.write_dataset(tmp_path / "data", subjects=3, clips_per_subject=4, seed=0)
    out = tmp_path / "run"
    tiny = ["train.epochs=1", "data.image_size=32", "model.image_size=32", "train.batch_size=4"]

    def cfg(*more):
        return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *tiny, *more])

    run_experiment(cfg("seeds=1"), out, progress=False)
    newer = {"mmnet_version": "9.0.0", "git_revision": "feedbeef", "code_digest": "sha256:" + "f" * 64}
    monkeypatch.setattr("mmnet.train.fold.trained_software", lambda: newer, raising=False)
    monkeypatch.setattr("mmnet.train.resume_env.trained_software", lambda: newer, raising=False)
    with caplog.at_level(logging.WARNING, logger="mmnet.train"):
        report = run_experiment(cfg("seeds=2", "train.final_fit=true"), out, progress=False)

    started = software_name({"mmnet_version": __version__, "git_revision": git_revision(),
                             "code_digest": code_digest()})
    assert {json.loads(p.read_text())["git_revision"] for p in out.glob("seed-0/fold-*/done.json")} == {git_revision()}
    assert {json.loads(p.read_text())["mmnet_version"] for p in out.glob("seed-1/fold-*/done.json")} == {"9.0.0"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    newer_name = "mmnet 9.0.0 (git revision feedbeef, code sha256:ffffffffffff)"
    assert [w for w in warnings if w.startswith(f"resuming with {newer_name}, but the run's "
                                                f"finished folds were trained by {started}")]
    assert (f"the mmnet that trained them: {started} (seed 0: all finished folds), {newer_name} "
            "(seed 1: all finished folds)") in report["reproduce"]["note"]
    assert "mmnet" in report["reproduce"]["env_differs"]
    card = json.loads((out / "final" / "model_card.json").read_text())
    assert card["software"]["git_revision"] == "feedbeef"  # the final fit's mmnet, not the run's start
    assert card["software"]["code_digest"] == newer["code_digest"]  # an installed mmnet's has no git revision
    assert ", git revision feedbeef, code sha256:ffffffffffff, torch " in (
        out / "final" / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_each_config_key_is_of_the_first_config_or_in_the_table_of_keys_added_since():
    # a key added without its earlier value would make every run of before it "another experiment" again
    from mmnet.config import ExperimentConfig, config_to_dict
    from mmnet.config_history import _ADDED

    first = {f"model.{k}" for k in ("num_classes", "image_size", "pc_depth", "pc_mlp_ratio", "pc_drop_path",
                                    "pc_num_heads", "pc_antialias", "use_ca", "use_pc", "main_input")}
    first |= {f"data.{k}" for k in ("dataset", "root", "annotation", "scheme", "classes", "protocol", "image_size",
                                    "jitter_fraction", "on_bad_sample", "cache_dir", "flow_method")}
    first |= {"augment.hflip", "augment.rotate_degrees", "augment.crop_padding", "eval.selection", "seeds"}
    first |= {f"train.{k}" for k in ("epochs", "batch_size", "lr", "weight_decay", "lr_gamma", "lr_decay_epochs",
                                     "precision", "device", "seed", "save_models")}
    renamed = {"train.memory_format"}  # train.channels_last of the first config
    keys = set()
    for section, values in config_to_dict(ExperimentConfig()).items():
        keys |= {f"{section}.{key}" for key in values} if isinstance(values, dict) else {section}
    assert keys - first - renamed == {f"{s}.{k}" for s, k in _ADDED}, "add a new key to config_history._ADDED"


def test_an_earlier_runs_config_yaml_loads_for_its_reproduce_line(tmp_path):
    # `mmnet train --config RUN/config.yaml` (the report's Reproduce line) of a run from before train.memory_format
    # failed: "Unknown config key(s) train.channels_last"
    from mmnet.config import load_config

    old = tmp_path / "config.yaml"
    old.write_text("data:\n  dataset: casme2\ntrain:\n  channels_last: true\n  epochs: 2\n")
    cfg = load_config(old)
    assert cfg.train.memory_format == "channels_last" and cfg.train.epochs == 2
    assert cfg.train.state_every_s == load_config(None).train.state_every_s  # a missing key: today's default
