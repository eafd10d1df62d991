"""Sweep files (settings x seeds): parsing and checks, and one end-to-end sweep on tiny synthetic data."""

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.recipes import SWEEP_DIR as SWEEPS
from mmnet.report import summarize_run
from mmnet.train.sweep import load_sweep

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.epochs=1", "data.image_size=32", "model.image_size=32", "train.batch_size=4",
        "train.precision=fp32", "train.device=cpu"]


def _write(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def base(tmp_path):
    (tmp_path / "configs").mkdir()
    return _write(tmp_path / "configs" / "base.yaml", {"train": {"epochs": 7, "seed": 10}, "model": {"use_pc": True}})


def test_settings_resolve_in_order_with_common_overrides(tmp_path, base):
    sweep_file = _write(tmp_path / "configs" / "s.yaml", {
        "base": "base.yaml", "config": {"train": {"lr": 0.001}}, "set": ["train.batch_size=8"], "seeds": 3,
        "settings": {"paper": {}, "no_pc": {"model.use_pc": False}, "apex_only": {"model": {"main_input": "apex"}}},
    })
    sweep = load_sweep(sweep_file, ["train.epochs=2"])
    assert [s.name for s in sweep.settings] == ["paper", "no_pc", "apex_only"]
    assert sweep.seeds == [10, 11, 12]  # a count counts up from train.seed, as `mmnet train --seeds`
    for s in sweep.settings:
        assert (s.config.train.epochs, s.config.train.batch_size, s.config.train.lr) == (2, 8, 0.001)
        assert s.config.seeds == [10, 11, 12]
    paper, no_pc, apex = (s.config.model for s in sweep.settings)
    assert (paper.use_pc, paper.main_input) == (True, "difference")
    assert (no_pc.use_pc, no_pc.main_input) == (False, "difference")
    assert (apex.use_pc, apex.main_input) == (True, "apex")
    assert sweep.settings[2].overrides == {"model.main_input": "apex"}

    only = load_sweep(sweep_file, seeds=1, only=["apex_only", "paper"])
    assert [s.name for s in only.settings] == ["paper", "apex_only"] and only.seeds == [10]
    explicit = load_sweep(_write(tmp_path / "e.yaml", {"seeds": [3, 5], "settings": {"a": None}}))
    assert explicit.seeds == [3, 5] and explicit.settings[0].config.model.use_pc


@pytest.mark.parametrize("doc, overrides, message", [
    ({"settings": {"a": {}}, "sets": []}, [], "unknown key"),
    ({"settings": {}}, [], "at least one name"),
    ({"settings": {"bad/name": {}}}, [], "folder name"),
    ({"settings": {"summary.csv": {}}}, [], "other than"),
    ({"settings": {"Summary.CSV": {}}}, [], "other than"),  # the same file on macOS and Windows
    ({"settings": {"no_pc": {}, "paper": {}, "No_PC": {}}}, [], "'no_pc' and 'No_PC' differ only in case"),
    ({"settings": {"a": {"model.use_ca": False}}}, ["model.use_ca=true"], "would overwrite"),
    ({"settings": {"a": {"seeds": [1]}}}, [], "seeds are common"),
    ({"settings": {"a": {"train.seed": 3}}}, [], r"sets train.seed; seeds are common"),  # it would change nothing
    ({"settings": {"a": {"model.use_cb": False}}}, [], "setting 'a': Unknown config key"),
    ({"settings": {"a": {"model.use_ca": "maybe"}}}, [], "model.use_ca must be of type bool"),
    ({"settings": {"a": {}}, "seeds": 0}, [], "seeds must be >= 1"),
    ({"settings": {"a": {}}, "seeds": [1, 1]}, [], "distinct"),
    ({"settings": {"a": {}}, "base": "nowhere.yaml"}, [], "relative to the sweep file"),
    ({"settings": {"a": {}}, "set": "train.epochs=1"}, [], "list of 'section.key=value'"),
    ("- just\n- a list\n", [], "must be a mapping"),
])
def test_bad_sweep_files_are_refused(tmp_path, doc, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_sweep(_write(tmp_path / "s.yaml", doc), overrides)


def test_unknown_only_and_missing_file(tmp_path):
    f = _write(tmp_path / "s.yaml", {"settings": {"a": {}, "b": {}}})
    with pytest.raises(ConfigError, match=r"Unknown setting\(s\) \['c'\].*a, b"):
        load_sweep(f, only=["c"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_sweep(tmp_path / "none.yaml")


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_load(path):
    sweep = load_sweep(path, ["data.root=/data"])
    assert sweep.settings and sweep.seeds
    assert len({yaml.safe_dump(s.overrides) for s in sweep.settings}) == len(sweep.settings)  # settings differ


def test_a_shipped_sweep_is_run_by_its_name_from_anywhere(tmp_path, monkeypatch, capsys):
    # a wheel holds no configs/sweeps/: the sweeps ship in the package, named as the recipes are
    monkeypatch.chdir(tmp_path)
    assert sorted(p.name for p in SWEEPS.glob("*.yaml")) == ["casme2_5class_ablations.yaml"]
    for ref in ("casme2_5class_ablations", "casme2_5class_ablations.yaml",
                "configs/sweeps/casme2_5class_ablations.yaml"):  # the checkout's old path, as the docs said
        assert [s.name for s in load_sweep(ref, ["data.root=/data"]).settings][:2] == ["paper", "no_ca"]
    with pytest.raises(ConfigError, match=r"'nope' is not the name of a shipped sweep.*casme2_5class_ablations"):
        load_sweep("nope")
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "configs/sweeps" not in help_text and "shipped with mmnet: casme2_5class_ablations" in help_text


def test_example_sweep_is_the_paper_and_its_ablations():
    sweep = load_sweep(SWEEPS / "casme2_5class_ablations.yaml", ["data.root=/data"])
    models = {s.name: s.config.model for s in sweep.settings}
    assert len(sweep.seeds) == 5
    assert (models["paper"].use_ca, models["paper"].use_pc, models["paper"].main_input) == (True, True, "difference")
    assert not models["no_ca"].use_ca and not models["no_pc"].use_pc and models["apex_only"].main_input == "apex"
    assert {s.config.data.scheme for s in sweep.settings} == {"casme2-5class"}


@pytest.mark.slow
def test_sweep_end_to_end(tmp_path, capsys, monkeypatch):
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "seeds": 2,
                                              "settings": {"paper": {}, "no_pc": {"model.use_pc": False}}})
    calls = []
    import mmnet.train.executors

    real = mmnet.train.executors.run_tasks

    def spy(tasks, options, **kw):
        calls.append((options.executor, sorted((Path(t.out_dir).name, t.seed, t.fold) for t in tasks)))
        return real(tasks, options, **kw)

    monkeypatch.setattr(mmnet.train.executors, "run_tasks", spy)
    out = tmp_path / "sweep"
    args = ["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    assert main(args) == 0
    printed = capsys.readouterr().out

    # All folds of all settings went to the executor in one call (on Ray: the cluster stays busy).
    assert calls == [("local", sorted((name, seed, f"casme2/{s}") for name in ("paper", "no_pc")
                                      for seed in (0, 1) for s in ("01", "02")))]
    assert len(list((tmp_path / "cache").glob("frames-*.npy"))) == 1  # both settings read one cache
    assert yaml.safe_load((out / "no_pc" / "config.yaml").read_text())["model"]["use_pc"] is False
    assert yaml.safe_load((out / "paper" / "config.yaml").read_text())["model"]["use_pc"] is True
    for name in ("paper", "no_pc"):
        assert (out / name / "report.md").exists()
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["setting"] for r in rows] == ["paper", "no_pc"]
    for r in rows:
        s = summarize_run(out / r["setting"])
        assert r["n_seeds"] == "2" and r["complete"] == "True"
        for m in ("acc", "uf1", "uar"):  # fractions to 6 decimals
            assert float(r[f"{m}_mean"]) == pytest.approx(s["mean"][m], abs=5e-7)
            assert float(r[f"{m}_std"]) == pytest.approx(s["std"][m], abs=5e-7)
            lo, hi = float(r[f"{m}_ci_low"]), float(r[f"{m}_ci_high"])
            assert [lo, hi] == pytest.approx(s["ci"][m], abs=5e-7) and lo <= hi
            assert all(len(r[k].partition(".")[2]) == 6 for k in (f"{m}_mean", f"{m}_ci_low", f"{m}_ci_high"))
    md = (out / "summary.md").read_text()
    assert "| paper | (base) | 2 |" in md and "| no_pc | model.use_pc=false | 2 |" in md
    assert "paper" in printed and "no_pc" in printed and "Acc %" in printed

    # Rerunning continues (nothing left to do) and gives the same summary.
    before = (out / "summary.csv").read_text()
    calls.clear()
    capsys.readouterr()
    assert main(args + ["--json"]) == 0
    assert calls == [("local", [])]
    assert (out / "summary.csv").read_text() == before
    as_json = json.loads(capsys.readouterr().out)  # --json: the summary rows, nothing else on stdout
    assert [r["setting"] for r in as_json] == ["paper", "no_pc"] and as_json[0]["n_seeds"] == 2


def test_ray_options_need_the_ray_executor(tmp_path, capsys):
    f = _write(tmp_path / "s.yaml", {"settings": {"a": {}}})
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--gpus-per-fold", "0.5"]) == 3
    assert "--gpus-per-fold only applies with --executor ray" in capsys.readouterr().err


def test_help_lists_sweep(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "sweep" in capsys.readouterr().out


def test_a_missing_dataset_is_named_before_anything_is_written(tmp_path, capsys):
    # `mmnet sweep S.yaml --root nowhere --out X` left an empty X behind (mmnet train writes nothing)
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {"a": {}, "b": {"model.use_ca": False}}})
    out = tmp_path / "X"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(tmp_path / "nowhere")]) == 3
    assert "nowhere' is missing" in capsys.readouterr().err and not out.exists()
    # the second setting's data is missing: the first is not prepared (its frames cached) meanwhile
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {"a": {"data.root": str(root)}, "b": {
        "data.root": str(tmp_path / "gone")}}})
    assert main(["sweep", str(sweep_file), "--out", str(out), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 3
    assert "gone' is missing" in capsys.readouterr().err and not out.exists() and not (tmp_path / "cache").exists()


def test_a_missing_annotation_file_is_named_before_anything_is_written(tmp_path, capsys):
    # the sweep looked for each setting's root folders only: the first setting was prepared (its frames cached),
    # then the second one's --annotation file was found missing
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY + [f"data.root={root}"], "settings": {
        "a": {}, "b": {"data.annotation": str(tmp_path / "gone.xlsx")}}})
    out = tmp_path / "X"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 3
    assert "gone.xlsx' does not exist" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_a_recipe_named_as_a_path_in_a_sweep_file_is_advised_as_base(tmp_path):
    # the advice was "use --config casme2_5class", which is no fix inside a sweep file
    with pytest.raises(ConfigError, match=r"ships with mmnet: use base: casme2_5class\.") as err:
        load_sweep(_write(tmp_path / "s.yaml", {"base": "../casme2_5class.yaml", "settings": {"a": {}}}), [])
    assert "--config" not in str(err.value)


def test_the_cluster_docs_sweep_example_is_the_shipped_file_and_loads(tmp_path):
    import re

    text = (REPO / "docs" / "cluster.md").read_text()
    block = re.search(r"```yaml\n# src/mmnet/recipes/sweeps/(\S+) .*?\n(.*?)```", text, re.S)
    doc = yaml.safe_load(block.group(2))
    assert doc == yaml.safe_load((SWEEPS / block.group(1)).read_text())
    sweep = load_sweep(_write(tmp_path / block.group(1), block.group(2)), [])  # its base found from anywhere
    assert [s.name for s in sweep.settings] == ["paper", "no_ca", "no_pc", "apex_only"] and len(sweep.seeds) == 5


def test_only_keeps_the_whole_sweep_in_its_record_and_summary(tmp_path, capsys):
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {"paper": {}, "no_pc": {"model.use_pc": False}}})
    out = tmp_path / "sweep"
    args = ["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    assert main(args + ["--only", "no_pc"]) == 0  # the settings not run do not make the exit code 1
    assert "no_pc" in capsys.readouterr().out
    recorded = yaml.safe_load((out / "sweep.yaml").read_text())["settings"]
    assert recorded == {"paper": {}, "no_pc": {"model.use_pc": False}}
    with open(out / "summary.csv", newline="") as f:
        rows = {r["setting"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["paper", "no_pc"]
    assert (rows["paper"]["status"], rows["paper"]["n_seeds"]) == ("not run", "0")
    assert (rows["no_pc"]["status"], rows["no_pc"]["complete"]) == ("complete", "True")
    summary = (out / "summary.md").read_text()
    assert "| paper (NOT RUN) | (base) | 0 | 0 | - | - | - |" in summary and "n/a" not in summary  # no numbers
    assert "±" not in summary.split("| no_pc |")[1].splitlines()[0]  # one seed: no spread to print

    assert main(args + ["--only", "paper"]) == 0  # the other setting's results stay in the summary
    with open(out / "summary.csv", newline="") as f:
        assert [(r["setting"], r["status"]) for r in csv.DictReader(f)] == [("paper", "complete"),
                                                                            ("no_pc", "complete")]
    assert yaml.safe_load((out / "sweep.yaml").read_text())["settings"] == recorded
    capsys.readouterr()
    assert main(args) == 0  # every setting's folds finished: counted over the settings, as `mmnet train` counts
    assert "4/4 folds already finished; rebuilding the reports" in capsys.readouterr().err


def test_a_settings_key_without_effect_is_warned_of_with_the_settings_name(tmp_path, caplog):
    # "model.pc_depth: 3 has no effect (...)" came before the first setting's folds, naming no setting
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {
        "paper": {}, "no_pc": {"model.use_pc": False, "model.pc_depth": 3}}})
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 0
    said = "setting 'no_pc': model.pc_depth: 3 has no effect (model.use_pc is false"
    assert said in caplog.text and f"warning: {said}" in (out / "mmnet.log").read_text()  # the sweep's one log
    assert "| no_pc | model.use_pc=false model.pc_depth=3 (no effect) |" in (out / "summary.md").read_text()


def test_a_failed_fold_still_reports_the_finished_settings_and_the_summary(tmp_path, monkeypatch, capsys):
    from mmnet import synth
    from mmnet.errors import TrainingError
    from mmnet.train import executors

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    real = executors.run_fold

    def broken_fails(task, **kw):
        if Path(task.out_dir).name == "broken":
            raise TrainingError(f"seed {task.seed} fold {task.fold}: the training loss became nan at epoch 1")
        return real(task, **kw)

    monkeypatch.setattr(executors, "run_fold", broken_fails)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {"paper": {}, "broken": {"train.lr": 1.0}}})
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 3
    err = capsys.readouterr().err
    assert "broken seed 0 fold casme2/01: the training loss became nan" in err
    assert "written for: paper" in err and f"mmnet report {out}/SETTING" in err
    assert (out / "paper" / "report.md").exists() and not (out / "broken" / "report.md").exists()
    with open(out / "summary.csv", newline="") as f:
        assert [(r["setting"], r["status"]) for r in csv.DictReader(f)] == [("paper", "complete"),
                                                                            ("broken", "not run")]
    (out / "summary.md").unlink()
    assert main(["report", str(out)]) == 0  # a sweep folder: its summary, not "has no samples.csv"
    printed = capsys.readouterr()
    assert "broken (NOT RUN)" in printed.out and "sweep folder" in printed.out and (out / "summary.md").exists()
    # a script that reads only the JSON is told on stderr, as for a partial run
    assert printed.err.startswith("warning: the sweep is partial: 1 of 2 settings finished; not finished: broken")
    assert main(["report", str(out), "--json", "--strict"]) == 1
    assert "(--strict: exit code 1)" in capsys.readouterr().err


def test_a_bad_setting_is_named_before_any_setting_is_prepared(tmp_path, capsys):
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = _write(tmp_path / "s.yaml", {"set": TINY, "settings": {"a": {}, "bad": {"data.scheme": "bogus"}}})
    out = tmp_path / "X"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 3
    err = capsys.readouterr().err
    assert f"Sweep file '{sweep_file}', setting 'bad': " in err and "Unknown label scheme 'bogus'" in err
    assert not out.exists() and not (tmp_path / "cache").exists()  # setting 'a' was not prepared meanwhile


@pytest.mark.parametrize("engine, executor", [("ray", "ray"), ("submitit", "slurm")])
def test_a_missing_executor_extra_is_said_before_any_run_folder_is_written(tmp_path, monkeypatch, engine, executor):
    import sys

    from mmnet.config import ExecutorConfig
    from mmnet.errors import ExecutorError
    from mmnet.train.sweep import train_sweep

    monkeypatch.setitem(sys.modules, engine, None)  # as if the extra were not installed
    sweep = load_sweep(_write(tmp_path / "s.yaml", {"settings": {"a": {}, "b": {"train.lr": 0.001}}}),
                       [f"data.root={tmp_path / 'data'}"])
    with pytest.raises(ExecutorError, match=r"an optional extra: pip install"):
        train_sweep(sweep, tmp_path / "out", executor=ExecutorConfig(executor=executor), progress=False)
    assert not (tmp_path / "out").exists()


def test_the_summary_says_picking_the_best_setting_selects_on_the_test_subjects(tmp_path):
    # summary.md ranked settings by their LOSO test scores with no word that the best of them is chosen on the
    # test subjects (optimistic, as the paper's epoch choice is)
    from mmnet.train.sweep import format_summary_table, summarize_sweep

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(k): [0, 1, 2] for k in range(1, 4)})
    for name, shift in (("a", 0), ("b", 1)):
        write_run(tmp_path / name, samples, lambda seed, epoch, s, shift=shift: (s["class_index"] + shift) % 3)
    rows = summarize_sweep(tmp_path, ["a", "b"])
    # the CSV's fractions have 6 decimals (a full repr such as 0.41666666666666663 before), '\n' line endings
    text = (tmp_path / "summary.csv").read_bytes().decode()
    assert "\r" not in text
    assert {c: v for c, v in next(csv.DictReader(io.StringIO(text))).items() if c.endswith("_mean")} == {
        f"{m}_mean": f"{rows[0][f'{m}_mean']:.6f}" for m in ("acc", "uf1", "uar")}
    md = (tmp_path / "summary.md").read_text()
    assert "Picking the best setting by these LOSO scores selects on the test subjects" in md
    assert "optimistic, as the paper selection's are" in md
    assert "selects on the test subjects: optimistic" in format_summary_table(rows)
    one = summarize_sweep(tmp_path, ["a"])  # nothing to pick from
    assert "Picking the best" not in (tmp_path / "summary.md").read_text()
    assert "selects on the test subjects" not in format_summary_table(one)


def test_the_summary_gives_each_settings_parameters_and_flops(tmp_path):
    # an ablation's cost was only in each setting's report.md: the summary compared scores alone
    from mmnet import MMNet
    from mmnet.train.sweep import format_summary_table, summarize_sweep

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(k): [0, 1, 2] for k in range(1, 4)})
    for name, model in (("paper", {"num_classes": 5}), ("no_pc", {"num_classes": 5, "use_pc": False})):
        write_run(tmp_path / name, samples, lambda seed, epoch, s: s["class_index"])
        cfg = yaml.safe_load((tmp_path / name / "config.yaml").read_text())
        _write(tmp_path / name / "config.yaml", {**cfg, "model": model})
    rows = summarize_sweep(tmp_path, ["paper", "no_pc", "missing"])
    paper, no_pc, missing = rows
    assert paper["parameters"] == sum(p.numel() for p in MMNet(5).parameters())
    assert no_pc["parameters"] == sum(p.numel() for p in MMNet(5, use_pc=False).parameters()) < paper["parameters"]
    assert paper["gflop"] == pytest.approx(14.42, abs=0.01)  # the paper's 5-class 224 px figure
    assert 0 < no_pc["gflop"] < paper["gflop"]
    assert (missing["parameters"], missing["gflop"]) == (None, None)
    table = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert table[0]["parameters"] == str(paper["parameters"]) and table[2]["gflop"] == ""
    md = (tmp_path / "summary.md").read_text()
    assert "| parameters | GFLOP |" in md and f"| {paper['parameters']:,} | 14.42 |" in md and "FlopCounterMode" in md
    assert f"{no_pc['parameters']:,}" in format_summary_table(rows)
    # the count the folds recorded (report.json) is the one given: a model.factory network is not MMNet
    factory = {"num_classes": 5, "factory": "mynets.plus:build"}
    _write(tmp_path / "paper" / "config.yaml", {**cfg, "model": factory})
    (tmp_path / "paper" / "report.json").write_text(json.dumps(
        {"protocol": {"network": {"trained": [{"name": "mynets.plus:Plus", "parameters": 1234}]}}}))
    (recorded,) = summarize_sweep(tmp_path, ["paper"])
    assert (recorded["parameters"], recorded["gflop"]) == (1234, None)


def test_the_recorded_sweep_file_resolves_to_the_same_settings(tmp_path, base):
    # OUT/sweep.yaml held only source, seeds and settings: read back it failed ("unknown key(s) ['source']"), and
    # without source it resolved to the recipe defaults (224 px, 74 epochs), not the 32 px, 1 epoch sweep that ran
    from mmnet import __version__
    from mmnet.config import config_to_dict

    sweep_file = _write(tmp_path / "configs" / "s.yaml", {
        "base": "base.yaml", "config": {"train": {"lr": 0.002}}, "set": TINY, "seeds": 2,
        "settings": {"paper": {}, "no_pc": {"model.use_pc": False}}})
    given = ["train.batch_size=2", ("data.root", str(tmp_path / "data # copy"))]  # --set, then --root as given
    sweep = load_sweep(sweep_file, given, only=["no_pc"])
    out = tmp_path / "out"
    out.mkdir()
    record = _write(out / "sweep.yaml", sweep.to_dict())
    doc = yaml.safe_load(record.read_text())
    assert doc["base"] == str(base.resolve()) and doc["mmnet_version"] == __version__
    assert doc["source"] == str(sweep_file) and doc["command_line"][0] == "train.batch_size=2"
    again = load_sweep(record)
    assert again.seeds == sweep.seeds == [10, 11]
    assert list(again.overrides) == ["paper", "no_pc"]  # every setting of the file, also after --only
    (no_pc,) = sweep.settings
    assert config_to_dict(again.settings[1].config) == config_to_dict(no_pc.config)
    assert no_pc.config.data.root == str(tmp_path / "data # copy") and no_pc.config.train.epochs == 1
    assert load_sweep(sweep_file, given).settings[0].config == again.settings[0].config
    assert yaml.safe_load(_write(out / "again.yaml", again.to_dict()).read_text())["source"] == str(sweep_file)


def test_the_recorded_sweep_keeps_data_paths_absolute(tmp_path, base, monkeypatch):
    # `--root d` was recorded as data.root=d: read back from another folder, the sweep trained on that folder's ./d
    sweep_file = _write(tmp_path / "configs" / "s.yaml", {
        "base": "base.yaml", "set": ["data.annotation=a.csv"], "config": {"data": {"cache_dir": "c"}},
        "settings": {"paper": {}, "other": {"data.root": "e"}}})
    monkeypatch.chdir(tmp_path)
    sweep = load_sweep(sweep_file, [("data.root", "d")], only=["paper"])  # --root d
    record = _write(tmp_path / "out.yaml", sweep.to_dict())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    paper, other = load_sweep(record).settings
    data = paper.config.data
    assert (data.root, data.annotation, data.cache_dir) == tuple(str(tmp_path / n) for n in ("d", "a.csv", "c"))
    assert other.config.data.root == str(tmp_path / "e")


def test_the_summary_says_what_its_numbers_are(tmp_path):
    # summary.md/csv gave no number of subjects, no word that 3 subjects give a rough interval, no interval method,
    # no selection, no chance level: settings all at chance read as a ranking
    from mmnet.train.sweep import format_summary_table, summarize_sweep

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(k): [0, 1, 2] for k in range(1, 4)})  # 3 subjects, 3 classes: chance 1/3
    write_run(tmp_path / "right", samples, lambda seed, epoch, s: s["class_index"], seeds=(0, 1))
    write_run(tmp_path / "wrong", samples, lambda seed, epoch, s: (s["class_index"] + 1) % 3, seeds=(0, 1))
    rows = summarize_sweep(tmp_path, ["right", "wrong", "later"])
    text = (tmp_path / "summary.csv").read_text()
    header = text.splitlines()[0].split(",")
    assert header[-9:] == ["parameters", "gflop", "n_subjects", "selection", "chance", "ci_rough",  # appended
                           "protocol", "tested_on", "vs_chance"]
    table = {r["setting"]: r for r in csv.DictReader(io.StringIO(text))}
    assert {k: table["right"][k] for k in ("n_subjects", "selection", "chance", "ci_rough")} == {
        "n_subjects": "3", "selection": "last", "chance": "0.333333", "ci_rough": "True"}
    # not run: nothing to describe, its selection included (it read "last", as docs/reports.md says it does not)
    assert (table["later"]["n_subjects"], table["later"]["chance"], table["later"]["selection"]) == ("", "", "")
    md = (tmp_path / "summary.md").read_text()
    assert "Selection `last`: the model after the last epoch" in md
    assert "percentile bootstrap over subjects, 10,000 resamples, random seed 0" in md
    assert "with 2 seeds only one: a rough spread" in md and "With 3 subjects the bootstrap over subjects" in md
    assert "read these intervals as rough" in md and "Chance: UAR 0.3333" in md
    assert "| 3 | [1.0000, 1.0000] (rough) | above chance |" in md
    assert "| 3 | [0.0000, 0.0000] (rough) | at or below chance |" in md
    assert "is not shown to do better than guessing: wrong." in md
    assert "UAR not shown above chance: wrong" in format_summary_table(rows)
    write_run(tmp_path / "wrong2", samples, lambda seed, epoch, s: (s["class_index"] + 2) % 3, seeds=(0, 1))
    summarize_sweep(tmp_path, ["wrong", "wrong2"])
    assert "no setting is shown above chance, so their order ranks nothing" in (tmp_path / "summary.md").read_text()


def test_the_printed_summary_gives_the_subjects_interval_and_chance_as_summary_md(tmp_path):
    # the table printed at the end of a sweep (and by `mmnet report OUT`) had no subjects, interval or chance column
    from mmnet.train.sweep import format_summary_table, summarize_sweep

    from .fake_runs import make_samples, write_run

    samples = make_samples({str(k): [0, 1, 2] for k in range(1, 4)})  # 3 subjects, 3 classes: chance 1/3
    write_run(tmp_path / "right", samples, lambda seed, epoch, s: s["class_index"], seeds=(0, 1))
    write_run(tmp_path / "wrong", samples, lambda seed, epoch, s: (s["class_index"] + 1) % 3, seeds=(0, 1))
    lines = format_summary_table(summarize_sweep(tmp_path, ["right", "wrong", "later"])).splitlines()
    header = next(line for line in lines if "UAR 95 % CI" in line)
    assert header.split() == ["setting", "subjects", "UAR", "95", "%", "CI", "vs", "chance"]
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in lines[lines.index(header) + 2:][:3]}
    assert rows == {"right": "3 [1.0000, 1.0000] (rough) above chance",
                    "wrong": "3 [0.0000, 0.0000] (rough) at or below chance", "later": "(NOT RUN) - - -"}
    assert max(len(line) for line in lines) <= 120  # a terminal's width: the columns split over two tables


def test_the_recorded_sweep_writes_cjk_as_written_and_an_escaped_record_reads_the_same(tmp_path, base):
    # sweep.yaml and its set lines wrote 实验 as "\u5B9E\u9A8C"; a record an earlier mmnet wrote so still reads back
    from mmnet.config import config_to_dict

    sweep_file = _write(tmp_path / "configs" / "s.yaml", {
        "base": "base.yaml", "set": TINY, "settings": {"paper": {}, "no_pc": {"data.annotation": "标注.csv"}}})
    root = tmp_path / "实验 数据"
    sweep = load_sweep(sweep_file, [("data.root", str(root))])
    text = sweep.as_yaml()
    assert f"data.root={root}" in text and "标注.csv" in text and "\\u" not in text
    out = tmp_path / "out"
    out.mkdir()
    escaped = load_sweep(_write(out / "old.yaml", yaml.safe_dump(sweep.to_dict(), sort_keys=False)))
    assert "\\u" in (out / "old.yaml").read_text()
    now = load_sweep(_write(out / "sweep.yaml", text))
    assert [config_to_dict(s.config) for s in now.settings] == [config_to_dict(s.config) for s in escaped.settings]
    assert [s.name for s in now.settings] == ["paper", "no_pc"] and now.settings[0].config.data.root == str(root)
