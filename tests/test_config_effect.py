"""Keys that change nothing trained under a config's own settings (inert): a sweep refuses settings that differ only in
them, a resume takes them, compare lists them apart, a run that sets one is warned; values are written as YAML."""

import logging
from pathlib import Path

import pytest
import yaml

from mmnet import run_folder as rf
from mmnet.config import config_to_dict, load_config
from mmnet.config_effect import effective_config, inert_keys
from mmnet.errors import ConfigError
from mmnet.train.resume_rules import inert_changes, resume_changes
from mmnet.train.sweep import load_sweep

TINY = ["train.epochs=1", "data.image_size=32", "train.batch_size=4"]


def _values(*overrides: str) -> dict:
    return config_to_dict(load_config(None, list(overrides)))


def test_inert_keys_follow_the_settings_that_make_them_unused():
    assert set(inert_keys(_values())) == {"data.flow_method"}  # the paper's difference input: no flow
    no_pc = inert_keys(_values("model.use_pc=false"))
    assert {"model.pc_depth", "model.pc_num_heads", "model.pc_antialias"} <= set(no_pc)
    assert "use_pc is false" in no_pc["model.pc_depth"]
    assert set(inert_keys(_values("model.main_input=flow"))) == {"data.jitter_fraction"}
    a = effective_config(_values("model.use_pc=false", "model.pc_depth=3", "data.flow_method=dis"))
    assert a == effective_config(_values("model.use_pc=false", "model.pc_num_heads=8"))
    assert effective_config(_values("model.pc_depth=3")) != effective_config(_values())  # used with the PC module


def _sweep(tmp_path: Path, settings: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"settings": settings}))
    return path


def test_sweep_settings_that_differ_only_in_inert_keys_are_refused(tmp_path):
    path = _sweep(tmp_path, {"no_pc": {"model.use_pc": False},
                             "no_pc_deep": {"model.use_pc": False, "model.pc_depth": 3},
                             "no_pc_heads": {"model.use_pc": False, "model.pc_num_heads": 8}})
    with pytest.raises(ConfigError, match=r"settings 'no_pc' and 'no_pc_deep' differ only in model.pc_depth.*"
                                          r"model.pc_depth has no effect: model.use_pc is false"):
        load_sweep(path)
    path = _sweep(tmp_path, {"tvl1": {}, "dis": {"data.flow_method": "dis"}})
    with pytest.raises(ConfigError, match=r"data.flow_method has no effect: model.main_input is difference"):
        load_sweep(path)
    path = _sweep(tmp_path, {"a": {"model.main_input": "flow"},
                             "b": {"model.main_input": "flow", "data.jitter_fraction": 0.3}})
    with pytest.raises(ConfigError, match=r"data.jitter_fraction has no effect: model.main_input is flow"):
        load_sweep(path)
    # where the keys are used they are other experiments
    path = _sweep(tmp_path, {"a": {"model.main_input": "flow"},
                             "b": {"model.main_input": "flow", "data.flow_method": "dis"},
                             "c": {"model.pc_depth": 3}, "d": {}})
    assert [s.name for s in load_sweep(path).settings] == ["a", "b", "c", "d"]


def test_a_resume_takes_a_change_of_an_inert_key_and_says_so():
    saved, new = _values("data.flow_method=tvl1"), _values("data.flow_method=dis")
    assert resume_changes(saved, new) == []
    (note,) = inert_changes(saved, new)
    assert note.startswith("data.flow_method: tvl1 -> dis (no effect: model.main_input is difference")
    flow = _values("model.main_input=flow", "data.flow_method=dis")
    assert resume_changes(_values("model.main_input=flow"), flow) == ["data.flow_method: tvl1 -> dis"]
    # from a difference run to a flow run the flow method is used again: a change of main_input only is listed
    assert resume_changes(_values("data.flow_method=dis"), flow) == ["model.main_input: difference -> flow"]


def test_a_run_warns_of_a_set_inert_key_and_resumes_with_it_changed(tmp_path, caplog):
    from mmnet import synth
    from mmnet.train import prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=3, clips_per_subject=2, seed=0)
    base = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "model.use_pc=false"]
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="mmnet"):
        prepare_run(load_config(None, [*base, "model.pc_depth=3"]), run, progress=False)
    assert "model.pc_depth: 3 has no effect (model.use_pc is false" in caplog.text
    assert yaml.safe_load((run / rf.CONFIG).read_text())["model"]["pc_depth"] == 3  # kept as written
    fold = run / "seed-0" / "fold-sub01"
    fold.mkdir(parents=True)
    (fold / rf.HISTORY).write_text("epoch\n1\n")  # an epoch has finished: the config may not change
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmnet"):
        prepare_run(load_config(None, [*base, "model.pc_depth=4"]), run, progress=False)
    assert f"Resuming '{run}' with model.pc_depth: 3 -> 4 (no effect: model.use_pc is false" in caplog.text
    with pytest.raises(ConfigError, match=r"model.use_ca: true -> false.*--restart \(restart=True from Python\)"):
        prepare_run(load_config(None, [*base, "model.use_ca=false"]), run, progress=False)


def test_pc_depth_0_points_to_use_pc():
    with pytest.raises(ConfigError, match=r"model.pc_depth must be >= 1, got 0 \(use model.use_pc=false for a network "
                                          r"without the PC module\)"):
        load_config(None, ["model.pc_depth=0"])


def test_sweep_summary_writes_overrides_as_the_config_does(tmp_path):
    from mmnet.train.sweep_summary import summarize_sweep

    (row,) = summarize_sweep(tmp_path, ["no_ca"], overrides={"no_ca": {"model.use_ca": False, "data.classes": None}})
    assert row["overrides"] == "model.use_ca=false data.classes=null"


def test_sweep_summary_marks_an_override_without_effect(tmp_path):
    # summary.md showed "model.use_pc=false model.pc_depth=3" as if the depth were a second variable
    from mmnet.train.sweep_summary import summarize_sweep

    from .fake_runs import make_samples, write_run

    settings = {"paper": {}, "no_pc": {"model.use_pc": False, "model.pc_depth": 3}, "deep": {"model.pc_depth": 3}}
    for name, overrides in settings.items():
        run = write_run(tmp_path / name, make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}),
                        lambda seed, epoch, s: s["class_index"])
        config = yaml.safe_load((run / rf.CONFIG).read_text())
        config["model"] = {"use_pc": True, "pc_depth": 2, **{k.split(".")[1]: v for k, v in overrides.items()}}
        (run / rf.CONFIG).write_text(yaml.safe_dump(config))
    rows = summarize_sweep(tmp_path, [*settings, "missing"], overrides=settings)
    md = (tmp_path / "summary.md").read_text()
    assert "| no_pc | model.use_pc=false model.pc_depth=3 (no effect) |" in md
    assert "| deep | model.pc_depth=3 |" in md and "| paper | (base) |" in md  # used where the PC module is
    assert rows[1]["overrides"] == "model.use_pc=false model.pc_depth=3"  # summary.csv: as --set writes them


def test_compare_lists_inert_differences_apart_and_writes_values_as_yaml(tmp_path):
    from mmnet.report.compare import compare_runs, render_compare_markdown

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(i): [(i + k) % 3 for k in range(3)] for i in range(1, 5)})
    runs = [write_run(tmp_path / name, samples, lambda seed, epoch, s: s["class_index"]) for name in "abc"]
    for run, model, method in ((runs[0], {}, "tvl1"), (runs[1], {"use_ca": False}, "dis"),
                               (runs[2], {"main_input": "apex"}, "tvl1")):
        config = yaml.safe_load((run / rf.CONFIG).read_text())
        config["model"] = {"use_ca": True, "main_input": "difference", **model}
        config["data"]["flow_method"] = method
        (run / rf.CONFIG).write_text(yaml.safe_dump(config))
    result = compare_runs(runs, resamples=100)
    first, second = result["comparisons"]
    assert first["config_differences"] == {"model.use_ca": [True, False]}
    assert first["inert_differences"]["data.flow_method"]["values"] == ["tvl1", "dis"]
    text = render_compare_markdown(result)
    assert "(reference → run): model.use_ca: true → false." in text
    assert ("without effect in both runs (the same model trains): data.flow_method: tvl1 → dis (model.main_input "
            "is difference") in text
    assert "model.main_input: difference → apex." in text


def test_compare_sets_apart_a_key_without_effect_in_one_run(tmp_path):
    # `paper: {}` against `no_pc: {model.use_pc: false, model.pc_depth: 3}` read "model.pc_depth: 2 → 3;
    # model.use_pc: true → false", a two-variable ablation, though no_pc's depth has no effect
    from mmnet.report.compare import compare_runs, render_compare_markdown

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(i): [(i + k) % 3 for k in range(3)] for i in range(1, 5)})
    runs = [write_run(tmp_path / name, samples, lambda seed, epoch, s: s["class_index"])
            for name in ("paper", "no_pc", "flow")]
    for run, model in ((runs[0], {}), (runs[1], {"use_pc": False, "pc_depth": 3}),
                       (runs[2], {"main_input": "flow"})):
        config = yaml.safe_load((run / rf.CONFIG).read_text())
        config["model"] = {"use_pc": True, "pc_depth": 2, "main_input": "difference", **model}
        config["data"]["flow_method"] = "dis" if run == runs[2] else "tvl1"
        (run / rf.CONFIG).write_text(yaml.safe_dump(config))
    result = compare_runs(runs, resamples=100)
    no_pc, flow = result["comparisons"]
    assert no_pc["config_differences"] == {"model.use_pc": [True, False]}
    assert no_pc["inert_in_one_differences"]["model.pc_depth"]["no_effect_in"] == str(runs[1])
    # the reference's flow method is the one not read: the difference is the main input alone
    assert flow["config_differences"] == {"model.main_input": ["difference", "flow"]}
    assert flow["inert_in_one_differences"]["data.flow_method"]["no_effect_in"] == str(runs[0])
    text = render_compare_markdown(result)
    assert "(reference → run): model.use_pc: true → false." in text
    assert (f"without effect in one run (the other's value would train the same model there): model.pc_depth: 3 has "
            f"no effect in {runs[1]} (model.use_pc is false: the network has no PC module; {runs[0]} has 2)") in text
    assert f"data.flow_method: tvl1 has no effect in {runs[0]} (model.main_input is difference" in text


def test_a_flow_run_resumes_with_another_jitter_fraction(tmp_path, caplog):
    """The flow path has no jitter: the frames cached (and their digest) are the same whatever data.jitter_fraction."""
    from mmnet import synth
    from mmnet.train import prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=3, clips_per_subject=2, seed=0)
    base = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "model.main_input=flow",
            "data.flow_method=farneback"]
    run = tmp_path / "run"
    prepare_run(load_config(None, [*base, "data.jitter_fraction=1.0"]), run, progress=False)
    fold = run / "seed-0" / "fold-sub01"
    fold.mkdir(parents=True)
    (fold / rf.HISTORY).write_text("epoch\n1\n")
    with caplog.at_level(logging.WARNING, logger="mmnet"):
        prepare_run(load_config(None, base), run, progress=False)
    assert "data.jitter_fraction: 1.0 -> 0.15 (no effect: model.main_input is flow" in caplog.text
