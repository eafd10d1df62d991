"""The demo and its control, reduced: labels permuted across samples must leave nothing to learn."""

import csv
import importlib.util
import json
import shlex
from pathlib import Path

import pytest

from mmnet.cli import main

REDUCED = ["--subjects", "3", "--clips-per-subject", "5", "--no-progress",
           "--set", "train.epochs=2", "--set", "data.image_size=48", "--set", "model.image_size=48"]


def _class_indices(path):
    with open(path) as f:
        return {row["sample_id"]: int(row["class_index"]) for row in csv.DictReader(f)}


@pytest.mark.slow
def test_demo_and_permuted_label_control(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *REDUCED]) == 0
    assert main(["demo", "--out", str(out), "--permute-labels", *REDUCED]) == 0
    printed = capsys.readouterr().out
    assert "UF1" in printed and "report:" in printed

    honest = _class_indices(out / "run" / "samples.csv")
    permuted = _class_indices(out / "run-permuted-labels" / "samples.csv")
    # Same samples and the same class counts, but labels moved between samples.
    assert honest.keys() == permuted.keys()
    assert sorted(honest.values()) == sorted(permuted.values())
    assert any(honest[k] != permuted[k] for k in honest)
    # The permuted labels are what training and scoring used.
    with open(out / "run-permuted-labels" / "pooled_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(int(r["true"]) == permuted[r["sample_id"]] for r in rows)
    report = json.loads((out / "run-permuted-labels" / "report.json").read_text())
    assert report["complete"] is True


TINY = ["--subjects", "2", "--clips-per-subject", "3", "--no-progress", "--set", "train.epochs=1",
        "--set", "data.image_size=32", "--set", "train.batch_size=4"]


@pytest.mark.slow
def test_demo_seeds_with_control_write_a_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seeds", "0", "1", "--with-control", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "| seed | honest UF1 | UAR | Acc % | permuted-label UF1 |" in printed
    # the arithmetic the scores came from, and how to repeat it (the tests measure nothing: the CPU-flag rule's)
    env = json.loads((out / "run" / "env.json").read_text())
    assert (f"arithmetic: {env['precision']}, {env['memory_format']} (CPU flags (MMNET_CALIBRATE=0)); to repeat it "
            f"anywhere: --set train.precision={env['precision']} --set train.memory_format={env['memory_format']}"
            ) in printed
    assert f"summary: {out / 'summary.md'}" in printed
    with open(out / "summary.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["seed", "uf1", "uar", "acc", "control_uf1", "seconds", "control_seconds", "machine"]
    assert [r["seed"] for r in rows] == ["0", "1"]
    for r in rows:
        assert all(0.0 <= float(r[k]) <= 1.0 for k in ("uf1", "uar", "acc", "control_uf1"))
        assert int(r["seconds"]) >= 0 and int(r["control_seconds"]) >= 0 and "threads" in r["machine"]
        assert f", {env['precision']}, {env['memory_format']}, " in r["machine"]
    # each seed's runs are where a single-seed demo puts them, the control beside the honest run
    for base in (out, out / "seed-1"):
        assert (base / "run" / "report.json").is_file() and (base / "run-permuted-labels" / "report.json").is_file()
    md = (out / "summary.md").read_text()
    assert md.count("\n| ") == 3 and "median" in md and "machine:" in md


@pytest.mark.slow  # a tiny LOSO run, then two summaries of it
def test_a_reused_run_shows_its_training_time_in_the_summary(tmp_path, capsys):
    # a seed whose run an earlier command trained showed the seconds its report took to rebuild (about 2 s)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *TINY]) == 0
    dones = sorted((out / "run" / "seed-0").glob("fold-*/done.json"))
    trained = [json.loads(p.read_text())["seconds"] for p in dones]
    assert len(trained) == 2 and sum(trained) > 0
    capsys.readouterr()
    assert main(["demo", "--out", str(out), "--seeds", "0", *TINY]) == 0
    with open(out / "summary.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert int(row["seconds"]) == round(sum(trained))
    assert f"| {round(sum(trained))} (earlier run, reused) |" in (out / "summary.md").read_text()
    # resumed: one fold trains again, the other's recorded seconds are added to this command's
    dones[0].unlink()
    assert main(["demo", "--out", str(out), "--seeds", "0", *TINY]) == 0
    md = (out / "summary.md").read_text()
    assert f"({trained[1]:.0f} s of it by an earlier run) |" in md and "reused" not in md, md


def test_demo_permute_labels_and_with_control_conflict(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--seeds", "0", "--with-control", "--permute-labels"]) != 0
    assert "--with-control" in capsys.readouterr().err


@pytest.mark.slow  # two tiny LOSO runs, ~15 s on 2 cores
def test_demo_says_what_next_and_restart_keeps_the_models(tmp_path, capsys, monkeypatch):
    # the path of a newcomer: the quick-start demo, then the models for `mmnet serve`, which
    # another configuration in the same folder refuses until --restart moves the first run aside
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo-run"
    assert main(["demo", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "chance: a UAR of 0.20 for 5 classes (UF1's chance level depends on" in printed
    assert "--restart --set train.save_models=true" in printed
    save = ["--set", "train.save_models=true"]
    assert main(["demo", "--out", str(out), *TINY, *save]) == 3
    assert "--restart" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), *TINY, *save, "--restart"]) == 0
    printed = capsys.readouterr().out
    assert f"restart: the earlier run in {out / 'run'} was moved to" in printed
    assert len(list(out.glob("run.old-*"))) == 1 and (out / "run" / "report.json").is_file()
    saved = list((out / "run" / "seed-0").glob("fold-*/model/model.safetensors"))
    assert len(saved) == len(list((out / "run" / "seed-0").glob("fold-*")))
    # predict and spot are pointed at the model `mmnet serve` picks, so all three answer alike
    model = max(saved, key=lambda p: (p.stat().st_mtime, str(p))).parent
    assert "next: mmnet serve  (a web page)" in printed
    predict = next(shlex.split(x) for x in printed.splitlines() if x.startswith("  mmnet predict "))
    assert predict[2:4] == ["--checkpoint", str(model)]
    assert main(predict[1:]) == 0  # runs as printed, on a clip of the demo's own data
    if importlib.util.find_spec("fastapi") is not None:
        from mmnet.serve.model_info import find_demo_checkpoint

        assert find_demo_checkpoint(tmp_path) == model


def _fake_demo_run(base):
    """A demo folder as `mmnet demo --set train.save_models=true` leaves it, without training: one fold's model
    (an empty file: only its place matters here), its done.json, samples.csv and the data's clip folders."""
    run = base / "run"
    fold = run / "seed-0" / "fold-casme2_02"
    (fold / "model").mkdir(parents=True)
    (fold / "model" / "model.safetensors").write_bytes(b"")
    (fold / "done.json").write_text(json.dumps({"fold": "casme2/02", "test_subjects": ["02"], "epochs": 1}))
    (run / "samples.csv").write_text("sample_id,dataset,subject,clip,label,class_index\n"
                                     "casme2/01/EP01_01f,casme2,01,EP01_01f,disgust,2\n"
                                     "casme2/02/EP16_01f,casme2,02,EP16_01f,repression,1\n")
    for clip in ("sub01/EP01_01f", "sub02/EP16_01f"):
        (base / "data" / "Cropped" / clip).mkdir(parents=True)
    return run, fold / "model"


def test_next_lines_name_a_real_clip_and_the_recording_synth_writes(tmp_path, monkeypatch, capsys):
    # the closing lines said CLIP and RECORDING, which a newcomer does not have: they are commands to paste as printed
    from mmnet.commands.demo_next import next_steps as _next_steps

    monkeypatch.chdir(tmp_path)
    run, model = _fake_demo_run(tmp_path / "my demo")
    printed = _next_steps({"classes": list("abcde")}, run)
    commands = {line.split()[1]: shlex.split(line) for line in printed.splitlines() if line.startswith("  mmnet ")}
    assert set(commands) == {"predict", "explain", "synth", "spot", "score-spots"}
    clip = str(tmp_path / "my demo" / "data" / "Cropped" / "sub02" / "EP16_01f")  # the fold's test subject
    assert commands["predict"] == ["mmnet", "predict", "--checkpoint", str(model), clip]
    assert commands["explain"][:5] == ["mmnet", "explain", "--checkpoint", str(model), clip]
    assert "subject 02 (annotated: repression), which this model did not train on" in printed
    # the recording spot is given is the file the printed synth command writes (here shorter, for time)
    synth = commands["synth"]
    assert synth[synth.index("--minutes") + 1] == "1" and "mp4" in synth
    synth[synth.index("--minutes") + 1] = "0.02"
    assert main(synth[1:]) == 0
    capsys.readouterr()
    recording = Path(commands["spot"][2])
    assert recording.is_file() and commands["spot"][3:5] == ["--checkpoint", str(model)]
    # once it is there, the synth line is not repeated (its folder is no longer empty)
    again = _next_steps({"classes": list("abcde")}, run)
    assert "mmnet synth" not in again and f"mmnet spot {shlex.quote(str(recording))}" in again
    # the spots are scored against the truth the synth command writes, where the spot command writes them
    score = next(shlex.split(line) for line in again.splitlines() if line.startswith("  mmnet score-spots "))
    assert Path(score[2]) == recording.parents[2] / "spotting-truth.csv" and Path(score[2]).is_file()
    assert Path(score[3]) == Path(commands["spot"][commands["spot"].index("--out") + 1]) / "spotting.csv"


def _clip_dirs_with_predictions(run, predicted: dict[str, int]):
    """Three clips of the test subject 02, and its fold's predictions.csv: the last epoch's ``predicted`` classes."""
    base = run.parent
    rows = [("casme2/02/EP16_01f", "EP16_01f", "repression", 1), ("casme2/02/EP17_01f", "EP17_01f", "happiness", 0),
            ("casme2/02/EP18_01f", "EP18_01f", "disgust", 2)]
    with open(run / "samples.csv", "a") as f:
        f.writelines(f"{sid},casme2,02,{clip},{label},{k}\n" for sid, clip, label, k in rows[1:])
    for _, clip, _, _ in rows[1:]:
        (base / "data" / "Cropped" / "sub02" / clip).mkdir(parents=True)
    fold = run / "seed-0" / "fold-casme2_02"
    lines = ["epoch,sample_id,subject,dataset,true,pred"]
    lines += [f"1,{sid},02,casme2,{k},{k}" for sid, _, _, k in rows]  # the first epoch right: not the one used
    lines += [f"2,{sid},02,casme2,{k},{predicted[sid]}" for sid, _, _, k in rows]
    (fold / "predictions.csv").write_text("\n".join(lines) + "\n")
    return {sid: base / "data" / "Cropped" / "sub02" / clip for sid, clip, _, _ in rows}


def test_the_clip_to_classify_is_one_the_run_classified_right(tmp_path, monkeypatch):
    # the first clip of the test subject was suggested, which the model got wrong: a newcomer took it for a bug
    from mmnet.commands.demo_next import next_steps as _next_steps

    monkeypatch.chdir(tmp_path)
    run, model = _fake_demo_run(tmp_path / "demo")
    clips = _clip_dirs_with_predictions(run, {"casme2/02/EP16_01f": 0, "casme2/02/EP17_01f": 3,
                                              "casme2/02/EP18_01f": 2})
    printed = _next_steps({"classes": list("abcde")}, run)
    predict = next(shlex.split(line) for line in printed.splitlines() if line.startswith("  mmnet predict "))
    assert predict[-1] == str(clips["casme2/02/EP18_01f"])  # the one of the three it classified right
    assert "subject 02 (annotated: disgust), which this model did not train on\n" in printed


def test_with_no_clip_classified_right_the_line_says_so(tmp_path, monkeypatch):
    from mmnet.commands.demo_next import next_steps as _next_steps

    monkeypatch.chdir(tmp_path)
    run, model = _fake_demo_run(tmp_path / "demo")
    clips = _clip_dirs_with_predictions(run, {"casme2/02/EP16_01f": 0, "casme2/02/EP17_01f": 3,
                                              "casme2/02/EP18_01f": 4})
    printed = _next_steps({"classes": list("abcde")}, run)
    predict = next(shlex.split(line) for line in printed.splitlines() if line.startswith("  mmnet predict "))
    assert predict[-1] == str(clips["casme2/02/EP16_01f"])
    assert ("subject 02 (annotated: repression), which this model did not train on (this run classified it "
            "wrongly, as a, and none of subject 02's clips right)") in printed


def test_the_serve_line_pastes_a_model_path_with_a_space(tmp_path, monkeypatch):
    # outside the folder that `mmnet serve` searches, the printed serve command names the model: one argument
    from mmnet.commands.demo_next import next_steps as _next_steps

    monkeypatch.chdir(tmp_path)
    run, model = _fake_demo_run(tmp_path / "mes démos" / "a b")
    printed = _next_steps({"classes": list("abcde")}, run)
    serve = printed[printed.index("next: ") + len("next: "):printed.index("  (a web page)")]
    assert shlex.split(serve) == ["mmnet", "serve", "--checkpoint", str(model)]


def test_next_lines_give_the_verdict_and_warn_of_a_model_that_answers_one_class(tmp_path, monkeypatch):
    # the demo's closing lines said what chance is, not whether the model beat it, and suggested a model
    # that gave every test clip of its fold the same class
    from mmnet.commands.demo_next import next_steps as _next_steps
    from mmnet.commands.demo_summary import write_summary

    monkeypatch.chdir(tmp_path)
    run, model = _fake_demo_run(tmp_path / "demo")
    report = {"classes": list("abcde"), "headline": {
        "n_seeds": 1, "per_seed": {"0": {"uar": 0.61, "uf1": 0.58, "acc": 0.6}},
        "ci": {"subjects": {"per_seed": {"0": {"uar": [0.52, 0.71], "uf1": [0.5, 0.7], "acc": [0.5, 0.7]}},
                            "mean": None, "n_units": {"0": 5}}}}}
    # the demo's 5 subjects are too few for a verdict from the bootstrap over subjects: the line says so
    verdict = ("verdict: too few subjects (5) to judge: the 95% CI of UAR [0.52, 0.71] (UAR 0.61, UF1 0.58; "
               "bootstrap over 5 subjects) lies above chance (0.20), but a bootstrap over fewer than 10 subjects")
    assert verdict in _next_steps(report, run)
    # UF1's chance level is not 1/n (it depends on the mix of predictions): only UAR's is said to be
    chance = next(line for line in _next_steps(report, run).splitlines() if line.startswith("chance: "))
    assert chance.startswith("chance: a UAR of 0.20 for 5 classes (UF1's chance level depends on how the "
                             "predictions spread over the classes: the permuted-label control's UF1 shows it")
    assert "UF1 and UAR of about" not in chance
    rows = "epoch,sample_id,subject,dataset,true,pred\n" + "".join(
        f"{e},casme2/02/EP{k},02,casme2,{k % 5},{k % 5 if e == 1 else 2}\n" for e in (1, 2) for k in range(4))
    (model.parent / "predictions.csv").write_text(rows)
    printed = _next_steps(report, run)
    assert "warning: the model below (fold casme2_02) predicted 'c' for all 4 test clips of its fold" in printed
    row = {"seed": 0, "uf1": 0.58, "uar": 0.61, "acc": 0.6, "seconds": 1, "machine": "m",
           "verdict": "not shown to be above chance: ..."}
    assert "seed 0: not shown to be above chance" in write_summary([row], tmp_path / "out", with_control=False)


def test_an_interrupted_summary_keeps_the_earlier_one_whole(tmp_path, monkeypatch):
    from mmnet import utils
    from mmnet.commands.demo_summary import write_summary

    row = {"seed": 0, "uf1": 0.58, "uar": 0.61, "acc": 0.6, "seconds": 1, "machine": "m", "verdict": "v"}
    write_summary([row], tmp_path, with_control=False)
    before = {n: (tmp_path / n).read_bytes() for n in ("summary.csv", "summary.md")}
    assert before["summary.csv"].startswith(b"seed,uf1,uar,acc,seconds,machine\n0,0.5800,")
    real, written = utils._write_temporary, []

    def interrupted_after_one(path, data):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        return real(path, data)

    monkeypatch.setattr(utils, "_write_temporary", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        write_summary([row, {**row, "seed": 1}], tmp_path, with_control=False)
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_data_of_an_older_generator_is_drawn_again_not_reused(tmp_path, monkeypatch, capsys):
    from mmnet import synth
    from mmnet import train as train_module

    out = tmp_path / "demo"
    preset = {**synth.DEMO_PRESET, "subjects": 2, "clips_per_subject": 3}
    synth.write_dataset(out / "data", **preset, config=synth.DEMO_CONFIG)
    marker = out / "data" / "synth.json"
    meta = json.loads(marker.read_text())
    del meta["generator_version"]  # as written before the number was
    marker.write_text(json.dumps(meta))
    stale_frame = next((out / "data" / "Cropped").rglob("*.jpg"))
    stale_frame.write_bytes(b"drawn by the old generator")

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(train_module, "train_experiment", stop)
    with pytest.raises(Stop):
        main(["demo", "--out", str(out), "--subjects", "2", "--clips-per-subject", "3", "--no-progress"])
    assert json.loads(marker.read_text())["generator_version"] == synth.GENERATOR_VERSION
    assert stale_frame.read_bytes() != b"drawn by the old generator"
    assert f"{out / 'data'} was drawn by synthetic generator version 1" in capsys.readouterr().out


def test_restart_holds_the_run_folder_from_the_move_to_the_new_run(tmp_path, monkeypatch):
    from filelock import FileLock, Timeout

    from mmnet import train as train_module

    out = tmp_path / "demo"
    (out / "run").mkdir(parents=True)
    (out / "run" / "config.yaml").write_text("seeds: [0]\n")  # an earlier run
    seen = []

    class Stop(Exception):
        pass

    def new_run(cfg, run_dir, **kwargs):
        try:
            FileLock(run_dir / ".driver.lock", timeout=0).acquire()
            seen.append("another command took the folder")
        except Timeout:
            seen.append("held")
        seen.append([p.name for p in next(tmp_path.glob("demo/run.old-*")).iterdir()])
        raise Stop

    monkeypatch.setattr(train_module, "train_experiment", new_run)
    with pytest.raises(Stop):
        main(["demo", "--out", str(out), "--subjects", "2", "--clips-per-subject", "3", "--no-progress", "--restart"])
    assert seen == ["held", ["config.yaml"]]  # the moved run keeps no lock file


def test_next_lines_say_which_extra_a_core_install_lacks(tmp_path, monkeypatch):
    # on a core-only install, three of the suggested commands stopped with a missing-extra error
    from mmnet.commands import serve
    from mmnet.commands.demo_next import next_steps as _next_steps
    from mmnet.errors import ConfigError, install_hint
    from mmnet.preprocess import face
    from mmnet.synth import long_writer

    monkeypatch.chdir(tmp_path)
    run, _ = _fake_demo_run(tmp_path / "demo")

    def next_lines(installed: bool) -> list[str]:
        def check():
            if not installed:
                raise ConfigError("missing")

        with monkeypatch.context() as m:
            for module, name in ((serve, "require_serve_extra"), (long_writer, "require_pyav"),
                                 (face, "require_face_extra")):
                m.setattr(module, name, check)
            return _next_steps({"classes": list("abcde")}, run).splitlines()

    lines = next_lines(installed=False)
    nxt = next(line for line in lines if line.startswith("next: mmnet serve"))
    assert f"(a web page; needs the serve extra, not installed: {install_hint('serve')})" in nxt
    for command, extra in (("synth", "video"), ("spot", "face")):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  mmnet {command} "))
        assert lines[at - 1] == f"  # needs the {extra} extra, not installed: {install_hint(extra)}"
    assert not any("needs the" in line for line in lines if line.startswith("  mmnet "))  # notes are comments
    installed = "\n".join(next_lines(installed=True))
    assert "needs the" not in installed and "  (a web page), or these commands" in installed


def test_an_extra_installed_in_part_gets_its_note(tmp_path, monkeypatch):
    # the notes looked for one package per extra: OpenCV without dlib (or fastapi without uvicorn) got none,
    # and the suggested command then stopped with a missing-extra error
    import sys

    from mmnet.commands.demo_next import missing_extra as _missing_extra

    pytest.importorskip("fastapi")
    pytest.importorskip("cv2")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dlib" else find_spec(name, *a))
    assert _missing_extra("face") and "face extra" in _missing_extra("face")[0]
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    monkeypatch.delitem(sys.modules, "mmnet.serve.server", raising=False)
    assert _missing_extra("serve") and "serve extra" in _missing_extra("serve")[0]


@pytest.mark.parametrize("argv, said", [
    # the control's flag alone decides it: --set data.permute_labels=true made the honest run permuted too
    (["--with-control", "--set", "data.permute_labels=true"], "the demo sets data.permute_labels itself: use "
     "--permute-labels (one control run) or --with-control (each seed's control beside it) instead of --set "
     "data.permute_labels=true"),
    (["--set", "data.permute_labels=false"], "instead of --set data.permute_labels=false"),
    # seed 1's clash was found after seed 0 had trained
    (["--seeds", "0", "1", "--set", "train.seed=0"], "--seeds 0 1 and --set train.seed=0 give train.seed different"),
    # named a --seed 0 that nobody typed, and an --out as if it were another spelling of data.root
    (["--set", "seeds=2"], "the demo sets seeds from --seed/--seeds: use --seeds 0 1 instead of --set seeds=2"),
    (["--set", "train.seed=4"], "the demo sets train.seed from --seed/--seeds: use --seed 4 instead of --set "
     "train.seed=4"),
    (["--set", "data.root=elsewhere"], "the demo's data folder is {out}/data (from --out {out}), where it draws its "
     "synthetic set: choose it with --out instead of --set data.root=elsewhere"),
    (["--seeds", "0", "3", "--set", "data.root={out}/data"], "the demo's data folder is {out}/seed-3/data"),
    # named as the generator's amplitude_px, a name the command line does not have
    (["--amplitude", "3", "0.5"], "--amplitude LOW HIGH must be finite pixel counts with 0 <= LOW <= HIGH, got "
     "--amplitude 3 0.5: give the smaller first"),
])
def test_a_set_the_demo_decides_is_refused_before_any_run(tmp_path, monkeypatch, capsys, argv, said):
    from mmnet import train as train_module

    def trained(*args, **kwargs):
        raise AssertionError("a run started before the refusal")

    monkeypatch.setattr(train_module, "train_experiment", trained)
    out = tmp_path / "demo"
    argv = [a.format(out=out) for a in argv]
    assert main(["demo", "--out", str(out), "--subjects", "2", "--clips-per-subject", "3", *argv]) == 3
    assert said.format(out=out) in capsys.readouterr().err
    assert not out.exists()  # no data drawn


def test_the_demo_takes_a_set_that_agrees_with_its_options(tmp_path, monkeypatch):
    from mmnet import train as train_module

    seen = []

    class Stop(Exception):
        pass

    def first_run(cfg, run_dir, **kwargs):
        seen.append((cfg.seeds, cfg.train.seed, Path(cfg.data.root)))
        raise Stop

    monkeypatch.setattr(train_module, "train_experiment", first_run)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop):
        main(["demo", "--out", "demo", "--subjects", "2", "--clips-per-subject", "3", "--no-progress",
              "--set", "train.seed=0", "--set", f"data.root={tmp_path / 'demo' / 'data'}"])
    assert seen == [([0], 0, tmp_path / "demo" / "data")]


def test_the_demo_names_the_arithmetic_its_scores_came_from_and_how_to_force_it():
    from mmnet.commands.demo_summary import arithmetic

    env = {"precision": "bf16", "memory_format": "channels_last", "compute_basis": "calibration", "cpu_routes": [],
           "calibration": {"under_load": []}}
    assert arithmetic(env) == ("arithmetic: bf16, channels_last (this machine's calibration, see `mmnet info`); to "
                               "repeat it anywhere: --set train.precision=bf16 --set train.memory_format=channels_last")
    busy = arithmetic({**env, "calibration": {"under_load": ["load average 10.0 on 2 usable cores"]}})
    assert busy.endswith("; measured on a busy host: a run on a quiet one measures again and may choose otherwise")
    routed = arithmetic({**env, "precision": "fp32", "cpu_routes": ["onednn_linear"]})
    assert "fp32 kernel routes onednn_linear;" in routed and routed.endswith("(the kernel routes then stay off)")
    assert arithmetic({**env, "compute_basis": "config"}) == "arithmetic: bf16, channels_last (as set)"


def _demo_config_and_data(tmp_path, monkeypatch, argv):
    """The configuration, card source and synthetic pixel settings a demo run would use (nothing drawn or trained)."""
    import mmnet.synth
    import mmnet.train

    seen = {}

    class Stop(Exception):
        pass

    def fake_write(root, **kwargs):
        seen["synth"] = kwargs["config"]

    def fake_train(cfg, out, **kwargs):
        seen.update(cfg=cfg, source=kwargs["source"])
        raise Stop

    monkeypatch.setattr(mmnet.synth, "write_dataset", fake_write)
    monkeypatch.setattr(mmnet.train, "train_experiment", fake_train)
    with pytest.raises(Stop):
        main(["demo", "--out", str(tmp_path / "d"), "--no-progress", *argv])
    return seen


def test_the_demo_trains_the_shipped_synth_demo_recipe(tmp_path, monkeypatch):
    # its settings were a list in the demo's code: `mmnet train` had no name for them (seven --set keys)
    from mmnet import synth
    from mmnet.config import load_config

    seen = _demo_config_and_data(tmp_path, monkeypatch, ["--seed", "2"])
    data = tmp_path / "d" / "seed-2" / "data"
    assert seen["cfg"] == load_config("synth_demo", [("data.root", str(data)),
                                                     ("data.cache_dir", str(tmp_path / "d" / "cache")),
                                                     "train.seed=2", "seeds=[2]"])
    recipe = load_config("synth_demo")
    assert (recipe.data.image_size, recipe.train.epochs) == (64, 20)  # the demo's budget, not the paper's 224 px
    assert seen["source"].startswith("recipe synth_demo (shipped with mmnet)")
    assert seen["synth"] == synth.DEMO_CONFIG


def test_the_demo_draws_its_data_at_the_amplitude_asked(tmp_path, monkeypatch, capsys):
    # "make the motion smaller" needed mmnet synth --amplitude and then mmnet train with seven --set keys
    from mmnet.commands.demo import _check_existing_data
    from mmnet.errors import ConfigError
    from mmnet.synth import DEMO_CONFIG, DEMO_PRESET, write_dataset  # before the demo's is replaced

    seen = _demo_config_and_data(tmp_path, monkeypatch, ["--amplitude", "2", "4"])
    assert seen["synth"].amplitude_px == (2.0, 4.0)
    # a set drawn at another amplitude in the same folder is named, not reused
    root = write_dataset(tmp_path / "small", subjects=1, clips_per_subject=1, seed=0, config=seen["synth"])
    with pytest.raises(ConfigError, match=r"amplitude_px \[2\.0, 4\.0\] \(asked: \[8\.0, 12\.0\]\)"):
        _check_existing_data(root, {**DEMO_PRESET, "subjects": 1, "clips_per_subject": 1}, DEMO_CONFIG)
    assert main(["demo", "--spotting", "--amplitude", "2", "4", "--out", str(tmp_path / "s")]) == 3
    assert "mmnet demo --spotting does not take --amplitude" in capsys.readouterr().err
