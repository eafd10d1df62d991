"""`mmnet compare`: score tables with intervals, paired tests, and refusals of runs that cannot be paired."""

import json

import pytest
import yaml

from mmnet.cli import main
from mmnet.report import compute_report
from mmnet.report.bootstrap import METRICS, paired_sign_flip
from mmnet.report.compare import CompareError, compare_runs, render_compare_markdown

from .fake_runs import make_samples, write_run

SUBJECTS = {str(i): [(i + k) % 3 for k in range(6)] for i in range(1, 11)}  # 10 subjects x 6 samples


def _good(seed, epoch, s):
    """Wrong on every 4th sample (by clip number and subject)."""
    k = int(s["clip"][2:]) + int(s["subject"])
    return s["class_index"] if k % 4 else (s["class_index"] + 1) % 3


def _worse(seed, epoch, s):
    """Wrong where _good is, and on every 3rd sample too."""
    k = int(s["clip"][2:]) + int(s["subject"])
    return s["class_index"] if k % 4 and k % 3 else (s["class_index"] + 2) % 3


@pytest.fixture
def two_runs(tmp_path):
    samples = make_samples(SUBJECTS)
    a = write_run(tmp_path / "a", samples, _good)
    b = write_run(tmp_path / "b", samples, _worse, seeds=(0, 1))
    return a, b, samples


def test_table_and_paired_tests(two_runs):
    a, b, samples = two_runs
    r = compare_runs([a, b], resamples=1000)
    ra, rb = (compute_report(p, resamples=1000) for p in (a, b))
    assert [row["mean"]["uf1"] for row in r["runs"]] == pytest.approx([ra["headline"]["mean"]["uf1"],
                                                                        rb["headline"]["mean"]["uf1"]])
    assert r["runs"][0]["ci"] == ra["headline"]["ci"]["subjects"]["per_seed"]["0"]
    assert r["runs"][1]["ci"] == rb["headline"]["ci"]["subjects"]["mean"]
    c = r["comparisons"][0]
    boot = c["paired_bootstrap"]
    assert boot["uf1"]["difference"] == pytest.approx(rb["headline"]["mean"]["uf1"] - ra["headline"]["mean"]["uf1"])
    lo, hi = boot["uf1"]["ci"]
    assert hi < 0  # b is worse on every subject: the interval excludes 0
    # McNemar: b is wrong wherever a is, and on the k % 3 == 0 samples where a is right.
    ks = [int(s["clip"][2:]) + int(s["subject"]) for s in samples]
    only_a = sum(1 for k in ks if k % 4 and not k % 3)
    (t,) = c["mcnemar"]  # a has one seed: one pair
    assert (t["reference_only_correct"], t["run_only_correct"], t["n"]) == (only_a, 0, len(samples))
    assert t["p_value"] == pytest.approx(2 / 2**only_a)
    assert c["config_differences"] == {"seeds": [[0], [0, 1]]}
    # 10 subjects: the interval is not rough; the sign-flip test scores all 2**10 arrangements, and only the
    # real one and its mirror are as far from 0 in accuracy (b is worse on every subject)
    assert boot["few_subjects"] is None
    flip = c["sign_flip"]
    # b has 2 seeds: every arrangement is scored, but swapping within every pair of seeds is no one rearrangement
    # of the data: not exact (it said "exact" while the docs said approximate with several seeds)
    assert flip["all_arrangements"] and not flip["exact"]
    assert flip["arrangements"] == 1024 and flip["acc"]["p_value"] == pytest.approx(2 / 1024)
    assert flip["acc"]["difference"] == pytest.approx(boot["acc"]["difference"])
    md = render_compare_markdown(r)
    assert "| UF1 |" in md and "McNemar" in md and "(reference)" in md and "1000 resamples" in md
    assert "(all 1,024 arrangements; approximate with several seeds per run:" in md and ", exact)" not in md


def test_the_run_table_gives_each_runs_parameters(two_runs):
    # an ablation's cost (a no-PC network is a third of MMNet's size) was only in each run's report.md
    a, b, _ = two_runs
    for done in b.glob("seed-*/fold-*/done.json"):
        json_done = json.loads(done.read_text())
        done.write_text(json.dumps({**json_done, "network": "mmnet.model.mmnet:MMNet", "parameters": 2829943}))
    r = compare_runs([a, b], resamples=100)
    assert [row["parameters"] for row in r["runs"]] == [None, 2829943]  # a's folds record no network
    md = render_compare_markdown(r)
    assert "| UAR [95 % CI] | parameters |" in md and md.count(" | 2,829,943 |") == 1
    assert next(line for line in md.splitlines() if line.startswith(f"| {a} ")).endswith(" | - | LOSO: casme2 |")


def test_says_what_the_tests_compare_and_names_unpaired_seeds(two_runs):
    # one seed each: the tests compare two trained instances, not recipes; McNemar's zip of seeds silently
    # dropped b's seed 1, and its p-value treats the samples of one subject as independent
    a, b, _ = two_runs
    r = compare_runs([a, b], resamples=200)
    c = r["comparisons"][0]
    assert c["mcnemar_unpaired_seeds"] == {"reference": [], "run": ["1"]}
    md = render_compare_markdown(r)
    assert f"Not in McNemar (no seed of the other run to pair with): {b} seed(s) 1." in md
    assert "not whether their recipes do" in md
    assert "McNemar is sample-level" in md and "anti-conservative" in md
    assert (f"- {a}, {b} have fewer than 3 seeds, and the tests compare these trained instances on these "
            "subjects, not their recipes") in md
    assert "anti-conservative" in r["method"]["mcnemar"]


def test_a_run_against_itself_shows_no_difference(two_runs):
    a, _, _ = two_runs
    other = a.parent / "a_again"
    other.symlink_to(a, target_is_directory=True)
    c = compare_runs([a, other], resamples=500)["comparisons"][0]
    for m in ("acc", "uf1", "uar"):
        assert c["paired_bootstrap"][m]["difference"] == 0 and c["paired_bootstrap"][m]["ci"] == [0, 0]
    assert c["mcnemar"][0]["p_value"] == 1.0 and c["config_differences"] == {}
    assert all(c["sign_flip"][m]["p_value"] == 1.0 and c["sign_flip"][m]["difference"] == 0 for m in METRICS)


def test_refuses_different_samples_and_names_them(tmp_path, two_runs):
    a, _, _ = two_runs
    fewer = write_run(tmp_path / "fewer", make_samples({k: v for k, v in SUBJECTS.items() if k != "3"}), _good)
    with pytest.raises(CompareError, match=r"scored samples differ \(6 sample\(s\) only in .*a seed 0, e\.g\. "
                                           r"\['casme2/3/EP00'"):
        compare_runs([a, fewer], resamples=200)
    partial = write_run(tmp_path / "partial", make_samples(SUBJECTS), _good, unfinished=("10",))
    with pytest.raises(CompareError, match="scored samples differ"):
        compare_runs([a, partial], resamples=200)


def test_refuses_other_labels_scheme_or_classes(tmp_path, two_runs):
    a, _, _ = two_runs
    relabelled = {k: [(c + 1) % 3 for c in v] if k == "2" else v for k, v in SUBJECTS.items()}
    other = write_run(tmp_path / "relabelled", make_samples(relabelled), _good)
    with pytest.raises(CompareError, match=r"sample 'casme2/2/EP00' has true 'surprise \(2\)' in .* but "
                                           r"'negative \(0\)' in .*relabelled seed 0 \(6 such sample"):
        compare_runs([a, other], resamples=200)
    moved = make_samples({**SUBJECTS, "2": []})  # subject 2's samples under subject 11: same ids, other subject
    moved += [{**r, "subject": "11"} for r in make_samples({"2": SUBJECTS["2"]})]
    with pytest.raises(CompareError, match=r"sample 'casme2/2/EP00' has subject '2' in .* but '11' in"):
        compare_runs([a, write_run(tmp_path / "moved", moved, _good)], resamples=200)
    scheme = write_run(tmp_path / "scheme", make_samples(SUBJECTS), _good)
    cfg = yaml.safe_load((scheme / "config.yaml").read_text())
    cfg["data"]["scheme"] = "casme2-5class"
    (scheme / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(CompareError, match=r"data\.scheme differs: 'test-3class' in .*, 'casme2-5class' in"):
        compare_runs([a, scheme], resamples=200)
    named = write_run(tmp_path / "named", make_samples(SUBJECTS), _good, classes=["neg", "pos", "sur"])
    with pytest.raises(CompareError, match="classes differ"):
        compare_runs([a, named], resamples=200)


def test_cli_compare(two_runs, capsys):
    a, b, _ = two_runs
    assert main(["compare", str(a), str(b), "--resamples", "300"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Run comparison") and f"## {b} vs {a}" in out
    assert main(["compare", str(a), str(b), "--json", "--resamples", "300"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["reference"] == str(a) and r["comparisons"][0]["run"] == str(b)
    with pytest.raises(SystemExit) as one_run:  # a missing argument: the usage, exit 2
        main(["compare", str(a)])
    assert one_run.value.code == 2 and "at least two run folders" in capsys.readouterr().err
    assert main(["compare", str(a), str(a.parent / "missing")]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_input_data_note_compares_decoded_frames_where_recorded(two_runs):
    """The same frames in another folder are the same input data; other frames get the note."""
    a, b, _ = two_runs

    def set_env(run, **values):
        env = json.loads((run / "env.json").read_text())
        (run / "env.json").write_text(json.dumps({**env, **values}))

    set_env(a, dataset_fingerprint="path-a", frames_digest="pixels")
    set_env(b, dataset_fingerprint="path-b", frames_digest="pixels")
    assert not any("differ" in n for n in compare_runs([a, b], resamples=200)["notes"])
    set_env(b, frames_digest="other pixels")
    assert any("decoded frames differ" in n for n in compare_runs([a, b], resamples=200)["notes"])
    set_env(b, frames_digest=None)  # a run from before the digest: its fingerprint is all there is
    assert any("fingerprints differ" in n for n in compare_runs([a, b], resamples=200)["notes"])


def test_one_run_given_twice_by_different_paths_is_refused(two_runs, monkeypatch):
    # 'run1 run1/' was caught, 'run1 /abs/path/to/run1' was compared with itself
    a, _, _ = two_runs
    monkeypatch.chdir(a.parent)
    with pytest.raises(CompareError, match=r"a run folder is given twice: \['a', '.*/a/'\] are the same folder"):
        compare_runs(["a", str(a) + "/"], resamples=100)


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_a_console_encoding_without_the_arrow_or_the_path_prints_escapes(tmp_path, encoding):
    # Windows encodes a redirected stdout as cp1252, strictly: "→" and a path with "Ł" ended in a traceback
    import os
    import subprocess
    import sys
    from pathlib import Path

    import mmnet

    samples = make_samples(SUBJECTS)
    a = write_run(tmp_path / "Łódź a", samples, _good)
    b = write_run(tmp_path / "Łódź b", samples, _worse, seeds=(0, 1))
    env = {**os.environ, "PYTHONPATH": str(Path(mmnet.__file__).parents[1]), "PYTHONIOENCODING": encoding}
    env.pop("PYTHONUTF8", None)
    p = subprocess.run([sys.executable, "-m", "mmnet", "compare", str(a), str(b), "--resamples", "100"],
                       capture_output=True, env=env, timeout=300)
    err = p.stderr.decode(encoding)
    assert p.returncode == 0 and "Traceback" not in err, err
    out = p.stdout.decode(encoding)  # the console's own encoding, whatever it lacks escaped
    assert "(reference \\u2192 run)" in out and "\\u0141" in out and "d\\u017a a" in out
    p = subprocess.run([sys.executable, "-m", "mmnet", "compare", str(a), str(tmp_path / "Łódź missing")],
                       capture_output=True, env=env, timeout=300)
    err = p.stderr.decode(encoding)  # stderr too: the one-line error names the path
    assert p.returncode == 3 and err.startswith("error: ") and "Traceback" not in err, err


def test_few_subjects_make_the_bootstrap_interval_rough_and_the_sign_flip_test_says_how_few(tmp_path, capsys):
    # 3 subjects: the bootstrap gave p <= 0.0002 from 10 distinct resamples; swapping the runs' predictions on
    # sets of 3 subjects gives 8 arrangements, so no p-value below 2/8
    samples = make_samples({k: SUBJECTS[k] for k in ("1", "2", "3")})
    a = write_run(tmp_path / "a", samples, _good)
    b = write_run(tmp_path / "b", samples, _worse)
    r = compare_runs([a, b], resamples=1000)
    c = r["comparisons"][0]
    boot, flip = c["paired_bootstrap"], c["sign_flip"]
    assert all("p_value" not in boot[m] for m in METRICS) and boot["uf1"]["ci"][1] < 0
    assert "3 subjects (fewer than 10)" in boot["few_subjects"]
    assert "only 10 distinct resamples: its interval is rough" in boot["few_subjects"]
    assert flip["exact"] and flip["all_arrangements"] and flip["arrangements"] == 8 and flip["p_floor"] == 0.25
    assert flip["acc"]["p_value"] == 0.25 and all(flip[m]["p_value"] >= 0.25 for m in METRICS)
    md = render_compare_markdown(r)
    assert "| metric | difference | 95 % CI (bootstrap, approximate) | p (sign-flip) |" in md
    acc_row = next(line for line in md.splitlines() if line.startswith("| Acc % |"))
    assert acc_row.endswith("(rough) | 0.25 |") and "≤" not in acc_row
    assert "(all 8 arrangements, exact)" in md  # one seed in each run
    assert "With 3 subjects (fewer than 10) the paired bootstrap over subjects takes only 10 distinct" in md
    assert "cannot give a p-value below 0.25" in md
    assert main(["compare", str(a), str(b), "--json", "--resamples", "300"]) == 0
    out = json.loads(capsys.readouterr().out)["comparisons"][0]
    assert "p_value" not in out["paired_bootstrap"]["uf1"] and out["paired_bootstrap"]["few_subjects"]
    assert out["sign_flip"]["uf1"]["p_value"] >= 0.25


def test_the_comparisons_p_value_is_the_sign_flip_tests_and_the_note_names_the_primary_test(two_runs):
    # the paired bootstrap's p-value (shown from 10 subjects) rejected a true null 7-11 % of the time at the 5 %
    # level with 10-26 subjects, the sign-flip test's 5 %: only the latter is shown. And with one run against the
    # reference, three metrics and two tests gave p-values with no word on multiple comparisons
    a, b, _ = two_runs
    r = compare_runs([a, b], resamples=300)
    boot, flip = r["comparisons"][0]["paired_bootstrap"], r["comparisons"][0]["sign_flip"]
    assert all("p_value" not in boot[m] and "ci" in boot[m] for m in METRICS)
    md = render_compare_markdown(r)
    assert "p, bootstrap" not in md and "≤ 0.0" not in md
    uar_row = next(line for line in md.splitlines() if line.startswith("| UAR |"))
    assert uar_row.endswith(f"| {flip['uar']['p_value']:.4f} |") and uar_row.count("|") == 5
    assert ("- the p-values are not corrected for multiple comparisons (three metrics, the sign-flip test and "
            "McNemar's): the primary test is UAR with the sign-flip test over subjects, the others are secondary"
            in md)
    assert r["method"]["primary"] == "UAR with the sign-flip test over subjects"
    again = a.parent / "a_again"
    again.symlink_to(a, target_is_directory=True)
    three = render_compare_markdown(compare_runs([a, b, again], resamples=100))
    assert "McNemar's, for 2 runs each tested against the reference): the primary test is UAR" in three


def test_sign_flip_is_every_swap_of_the_runs_on_sets_of_subjects(tmp_path):
    """Exact: the p-value is the share of the 2**n swaps, counted by brute force; above 16 subjects, random flips."""
    import itertools

    import pandas as pd

    from mmnet.report.metrics import accuracy

    def pooled(run):  # seed 0's predictions after the last epoch (3)
        tables = [pd.read_csv(f, dtype={"subject": str}) for f in sorted(run.glob("seed-0/*/predictions.csv"))]
        return pd.concat(tables).query("epoch == 3").reset_index(drop=True)

    subjects = {k: SUBJECTS[k] for k in ("1", "2", "3", "4")}
    samples = make_samples(subjects)
    mixed = write_run(tmp_path / "mixed", samples, lambda seed, e, s: _good(seed, e, s) if s["subject"] in ("1", "2")
                      else _worse(seed, e, s))
    worse = write_run(tmp_path / "worse", samples, lambda seed, e, s: _worse(seed, e, s) if s["subject"] in ("1", "2")
                      else _good(seed, e, s))
    fa, fb = pooled(mixed), pooled(worse)
    test = paired_sign_flip([fa], [fb], 3)
    observed = accuracy(fa["true"], fa["pred"]) - accuracy(fb["true"], fb["pred"])
    as_far = 0
    for swapped in itertools.product([False, True], repeat=len(subjects)):
        on = fa["subject"].isin([s for s, flip in zip(subjects, swapped) if flip]).to_numpy()
        pa = fa["pred"].where(~on, fb["pred"])
        pb = fb["pred"].where(~on, fa["pred"])
        d = accuracy(fa["true"], pa) - accuracy(fb["true"], pb)
        as_far += abs(d) >= abs(observed) - 1e-12
    assert test["acc"]["difference"] == pytest.approx(observed)
    assert test["acc"]["p_value"] == as_far / 16 and test["arrangements"] == 16
    many = make_samples({str(i): [(i + k) % 3 for k in range(6)] for i in range(1, 21)})
    a = pooled(write_run(tmp_path / "a20", many, _good))
    b = pooled(write_run(tmp_path / "b20", many, _worse))
    test = paired_sign_flip([b], [a], 3, flips=500)
    assert not test["exact"] and test["flips"] == 500 and test["p_floor"] == 1 / 501
    assert test["acc"]["p_value"] == pytest.approx(1 / 501)  # b worse on every subject: no flip as far


def _record(run, env=None, **done_values):
    """Add values to a fake run's env.json and to every fold's done.json."""
    path = run / "env.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **(env or {})}))
    for done in run.glob("seed-*/fold-*/done.json"):
        done.write_text(json.dumps({**json.loads(done.read_text()), **done_values}))


def test_differences_are_in_the_settings_the_runs_used(two_runs):
    # config.yaml alone listed train.device 'auto' -> 'cpu' (and precision, memory format) for runs that trained
    # alike, and missed the torch threads, torch version and CPU capability the runs did differ in
    a, b, _ = two_runs
    used = {"device": "cpu", "precision": "bf16", "memory_format": "channels_last"}
    for run, train in ((a, dict.fromkeys(used, "auto")), (b, used)):  # b sets explicitly what a's "auto" chose
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        cfg["train"].update(train)
        (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    _record(a, {**used, "torch_threads": 1, "cpu_capability": "AVX512", "frames_digest": "pixels",
                "labels_digest": "labels-1"}, **used, torch_threads=1)
    _record(b, {**used, "torch_threads": 2, "torch_version": "2.y", "cpu_capability": "AVX2",
                "labels_digest": "labels-2"}, **used, torch_threads=2)
    c = compare_runs([a, b], resamples=100)["comparisons"][0]
    # b records no frames digest (an older run): unknown is not a difference
    assert c["config_differences"] == {"seeds": [[0], [0, 1]], "torch_threads": [1, 2],
                                       "torch_version": ["2.x", "2.y"], "cpu_capability": ["AVX512", "AVX2"],
                                       "labels_digest": ["labels-1", "labels-2"]}
    one_fold = next(b.glob("seed-1/fold-*/done.json"))
    one_fold.write_text(json.dumps({**json.loads(one_fold.read_text()), "torch_threads": 1}))
    r = compare_runs([a, b], resamples=100)
    assert r["comparisons"][0]["config_differences"]["torch_threads"] == [1, [1, 2]]  # the folds differ
    assert "torch_threads: 1 → [1, 2]" in render_compare_markdown(r)


def test_with_several_seeds_the_sign_flip_test_tests_the_difference_shown(tmp_path):
    """The table's difference is the mean over seeds of each seed's score; the sign-flip test tests that one (it
    tested the seed-averaged confusion matrices: '+0.0258 ... p 1.0000 (Δ -0.0016)'), counted here by brute force:
    every set of subjects swapped in every pair of seeds."""
    import itertools

    import pandas as pd

    from mmnet.report.metrics import uf1

    def seeds(run):  # each seed's predictions after the last epoch (3)
        return [pd.concat([pd.read_csv(f, dtype={"subject": str}) for f in sorted(run.glob(f"seed-{k}/*/"
                                                                                             "predictions.csv"))])
                .query("epoch == 3").sort_values("sample_id").reset_index(drop=True) for k in (0, 1)]

    samples = make_samples({k: SUBJECTS[k] for k in ("1", "2", "3", "4", "5")})
    a = write_run(tmp_path / "a", samples, lambda seed, e, s: (_good if seed else _worse)(seed, e, s), seeds=(0, 1))
    b = write_run(tmp_path / "b", samples, lambda seed, e, s: (_worse if s["subject"] in "12" else _good)(seed, e, s)
                  if seed else _good(seed, e, s), seeds=(0, 1))
    r = compare_runs([b, a], resamples=200)
    c = r["comparisons"][0]
    boot, flip = c["paired_bootstrap"], c["sign_flip"]
    assert flip["uf1"]["difference"] == pytest.approx(boot["uf1"]["difference"], abs=1e-12)
    fa, fb = seeds(a), seeds(b)
    subjects = sorted(fa[0]["subject"].unique())

    def statistic(swapped):
        total = 0.0
        for x, y in itertools.product(fa, fb):
            on = x["subject"].isin(swapped)
            px, py = x["pred"].where(~on, y["pred"]), y["pred"].where(~on, x["pred"])
            total += uf1(x["true"], px, 3) - uf1(y["true"], py, 3)
        return total / (len(fa) * len(fb))

    observed = statistic(())
    assert observed == pytest.approx(flip["uf1"]["difference"], abs=1e-12)
    arrangements = [statistic(chosen) for n in range(len(subjects) + 1)
                    for chosen in itertools.combinations(subjects, n)]
    share = sum(abs(d) >= abs(observed) - 1e-12 for d in arrangements) / len(arrangements)
    assert flip["all_arrangements"] and not flip["exact"] and flip["uf1"]["p_value"] == pytest.approx(share)
    row = next(line for line in render_compare_markdown(r).splitlines() if line.startswith("| UF1 |"))
    assert "Δ" not in row and "sign_flip.<metric>.difference" in r["method"]["sign_flip"]


def test_an_older_runs_config_is_read_as_that_mmnet_behaved_not_as_differences(two_runs):
    # a config.yaml written before train.compile (and other keys) existed listed "train.compile: False -> None",
    # ... as differences between runs that trained alike
    a, b, _ = two_runs
    cfg = yaml.safe_load((b.joinpath("config.yaml")).read_text())
    cfg["train"].update(compile=False, final_fit=False, tensorboard=True, state_every_s=60.0)
    cfg.setdefault("data", {})["permute_labels"] = False
    cfg["spotting"] = {"preset": None, "overrides": []}
    (b / "config.yaml").write_text(yaml.safe_dump(cfg))
    differences = compare_runs([a, b], resamples=100)["comparisons"][0]["config_differences"]
    assert differences == {"seeds": [[0], [0, 1]]}, differences


def test_a_comparison_records_the_mmnet_version_command_and_time_it_was_made(two_runs, capsys):
    # a pasted comparison table could not be traced to the mmnet, command or date that made it
    import re

    from mmnet.version import __version__

    a, b, _ = two_runs
    assert main(["compare", str(a), str(b), "--json", "--resamples", "300"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["mmnet_version"] == __version__
    assert r["command"] == f"mmnet compare {a} {b} --resamples 300"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["created_at"])
    md = render_compare_markdown(r)
    assert f"Made by mmnet {__version__} on {r['created_at']}: `{r['command']}`." in md.splitlines()[2]
