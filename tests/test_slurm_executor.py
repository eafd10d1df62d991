"""The SLURM executor. Fold jobs run through submitit's local executor (each job a process here, the same
pickles, signals and requeue as on a cluster): same numbers as the local loop, a killed job's fold is
submitted again and resumes, a preempted job is requeued and resumes, a Python error is reported and not
retried, a rerun submits nothing that is finished or still queued. The sbatch side (the array, the options)
runs against stand-ins for sbatch/sacct/srun on PATH."""

import copy
import json
import os
import sys
import time
from pathlib import Path

import pytest
import torch

from mmnet import run_folder as rf
from mmnet.config import ExecutorConfig, load_config, slurm_minutes
from mmnet.errors import ConfigError, ExecutorError
from mmnet.train import fold_tasks, prepare_run, run_experiment, run_tasks
from mmnet.train.faults import CRASH_ENV
from mmnet.train.slurm_executor import CLUSTER_ENV, PREEMPT_ENV, slurm_parameters

SLURM = ExecutorConfig(executor="slurm")
# CPU, fp32, one torch thread on both sides (a fold job uses --cpus-per-fold threads, default 1).
# state_every_s=0: a resume state after every epoch, which the tests wait for before they kill or preempt a fold
TINY = ["train.epochs=2", "data.image_size=32", "model.image_size=32", "train.batch_size=4",
        "train.precision=fp32", "train.device=cpu", "train.state_every_s=0"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


@pytest.fixture(scope="module")
def local_run(synth_root, tmp_path_factory):
    """The reference: the same experiment with the local executor, one thread."""
    tmp = tmp_path_factory.mktemp("local")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = run_experiment(_cfg(synth_root, tmp), tmp / "run", progress=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run", report


@pytest.fixture
def local_cluster(monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv(CLUSTER_ENV, "local")


def _cfg(root, tmp, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp / 'cache'}", *TINY, *extra])


def _fold_files(run: Path, name: str) -> dict[str, str]:
    return {str(p.relative_to(run)): p.read_text() for p in sorted(run.glob(f"seed-*/fold-*/{name}"))}


@pytest.mark.slow
def test_slurm_jobs_equal_local_and_survive_preemption_and_a_killed_job(local_cluster, synth_root, local_run,
                                                                          tmp_path, monkeypatch, capsys):
    cfg = _cfg(synth_root, tmp_path)
    run = prepare_run(cfg, tmp_path / "run", progress=False)
    first, second = fold_tasks(run)
    preempted, killed = tmp_path / "preempted", tmp_path / "killed"

    monkeypatch.setenv(PREEMPT_ENV, str(preempted))  # the job signals itself as SLURM does before preemption
    run_tasks([first], SLURM, progress=False)
    monkeypatch.delenv(PREEMPT_ENV)
    assert preempted.exists(), "no job was preempted: the requeue path was not exercised"
    log = "".join(p.read_text() for p in (tmp_path / "run" / rf.SLURM_LOGS).glob("*_log.*"))
    assert "this job is preempted" in log and "Requeued job" in log  # submitit's checkpoint + requeue

    monkeypatch.setenv(CRASH_ENV, str(killed))  # the job process dies (os._exit) after its first epoch
    run_tasks([second], SLURM, progress=False)
    assert killed.exists(), "no job was killed: the resubmission path was not exercised"
    assert "ended without a result" in capsys.readouterr().err  # ... and the fold was submitted again

    reference, ref_report = local_run
    assert _fold_files(tmp_path / "run", "predictions.csv") == _fold_files(reference, "predictions.csv")
    assert not list((tmp_path / "run").glob("seed-*/fold-*/state.pt"))  # both resumed and finished
    jobs = json.loads((tmp_path / "run" / rf.SLURM_JOBS).read_text())
    assert sorted(jobs) == sorted(str(t.fold_dir.relative_to(t.out_dir)) for t in (first, second))

    submitted = []  # a rerun of the same command submits nothing: every fold is done
    monkeypatch.setattr("mmnet.train.executors.run_tasks",
                        lambda tasks, *a, **kw: submitted.extend(tasks) or run_tasks(tasks, *a, **kw))
    report = run_experiment(cfg, tmp_path / "run", progress=False, executor=SLURM)
    assert submitted == [] and report["complete"]
    assert report["headline"]["per_seed"] == ref_report["headline"]["per_seed"]


@pytest.mark.slow
def test_failing_fold_is_reported_not_retried_and_others_finish(local_cluster, synth_root, tmp_path, capsys):
    run = prepare_run(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "run", progress=False)
    tasks = fold_tasks(run)
    tasks[0].config = copy.deepcopy(tasks[0].config)
    tasks[0].config.model.num_classes = 1  # a deterministic error in the job: reported, not retried
    with pytest.raises(ExecutorError, match=r"1 of 2 fold\(s\) failed on SLURM") as info:
        run_tasks(tasks, SLURM, progress=False)
    message = str(info.value)
    assert "model.num_classes must be an integer >= 2" in message  # the job's own message comes through
    assert f"  - {tasks[0].label}\n" in message and "rerun the same command" in message
    assert "_log.err" in message  # where the job's full log is
    assert (tasks[1].fold_dir / "done.json").exists()
    assert len(list((tmp_path / "run" / rf.SLURM_LOGS).glob("*_submitted.pkl"))) == 2  # one job per fold, no retry
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("[fold ")]
    assert sorted(x[:10] for x in lines) == ["[fold 1/2]", "[fold 2/2]"]
    assert any(f"FAILED {tasks[0].label}: ConfigError" in x for x in lines)
    assert any(f"{tasks[1].label}: 1 epoch in " in x and "test acc" in x for x in lines)


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch, sacct, squeue, srun and scancel stand-ins: sbatch keeps each script and answers with a new job id."""
    submitit = pytest.importorskip("submitit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "sbatch": 'n=$(cat "$D/next" 2>/dev/null || echo 7000); echo $((n + 1)) > "$D/next"\n'
                  'cp "$1" "$D/sbatch-$n.sh"; echo "Submitted batch job $n"',
        # sacct-N.txt answers the N-th call where it exists (a job's states over time), else sacct.txt
        "sacct": 'n=$(( $(cat "$D/sacct-n" 2>/dev/null || echo 0) + 1 )); echo $n > "$D/sacct-n"\n'
                 'f="$D/sacct-$n.txt"; [ -f "$f" ] || f="$D/sacct.txt"\n'
                 'cat "$f" 2>/dev/null || echo "JobID|State|NodeList"',
        # squeue.txt (squeue-N.txt for the N-th call): "JOBID STATE" lines of the jobs the controller knows;
        # squeue-down: the controller is unreachable
        "squeue": 'echo "$@" >> "$D/squeue-calls"; [ -f "$D/squeue-down" ] && '
                  '{ echo "squeue: error: Unable to contact slurm controller" >&2; exit 1; }\n'
                  'ids=$(echo "$@" | sed -n "s/.*-j \\([^ ]*\\).*/\\1/p" | tr , " ")\n'
                  'f="$D/squeue-$(wc -l < "$D/squeue-calls").txt"; [ -f "$f" ] || f="$D/squeue.txt"\n'
                  'out=$(for id in $ids; do grep "^${id}[_ ]" "$f" 2>/dev/null; done)\n'
                  '[ -n "$out" ] || { echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; }\n'
                  'echo "$out"',
        "srun": "exit 1", "scancel": 'echo "$@" >> "$D/cancelled"',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/bash\nD={tmp_path}\n{body}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    # a watcher of this test's own: the shared one still lists earlier tests' jobs, and sacct is then asked about
    # their array, whose answer refreshes this test's jobs too (hiding a job submitit stops asking about)
    monkeypatch.setattr(submitit.SlurmJob, "watcher", type(submitit.SlurmJob.watcher)())
    return tmp_path


@pytest.fixture(autouse=True)
def _fresh_slurm_memory(monkeypatch):
    """Each test's job ids start at 7000: what an earlier test's squeue said of 7000_0 (kept a minute, per process)
    must not answer for this test's job, nor an earlier test's submitit job stand in for it."""
    from mmnet.train import slurm_executor, slurm_jobs, slurm_state

    monkeypatch.setattr(slurm_state, "_said", {})
    monkeypatch.setattr(slurm_state, "_rechecked", [float("-inf")])
    live: dict = {}
    monkeypatch.setattr(slurm_jobs, "LIVE", live)
    monkeypatch.setattr(slurm_executor, "LIVE", live)  # imported by name there


def test_array_job_options_no_wait_and_a_rerun_follows_queued_jobs(fake_slurm, synth_root, tmp_path, capsys):
    from mmnet.cli import main

    out = tmp_path / "run"
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(out), "--no-progress",
            "--executor", "slurm", "--slurm-partition", "gpu", "--slurm-time", "1:30:00", "--cpus-per-fold", "4",
            "--slurm-mem", "16G", "--slurm-param", "account=proj", "--slurm-param", "qos=normal",
            "--slurm-array-parallelism", "1", "--no-wait"]
    args += [x for s in [f"data.cache_dir={tmp_path / 'cache'}", *TINY] for x in ("--set", s)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2 fold job(s) submitted (7000)" in err and "--no-wait" in err and f"mmnet report {out}" in err
    script = (tmp_path / "sbatch-7000.sh").read_text()
    for line in ("--partition=gpu", "--time=90", "--cpus-per-task=4", "--mem=16G", "--account=proj", "--qos=normal",
                 "--array=0-1%1", "--job-name=mmnet-run", "--signal=USR2@90", f"--output={out}/slurm-logs/%A_%a_0"):
        assert f"#SBATCH {line}" in script, line
    assert "gpus-per-node" not in script  # CPU folds ask for no GPU
    # the thread pools follow --cpus-per-fold, not the login shell's OMP_NUM_THREADS; srun gets the CPUs too
    assert "export OMP_NUM_THREADS=4 MKL_NUM_THREADS=4 OPENBLAS_NUM_THREADS=4\n" in script
    assert "srun --unbuffered" in script and "--cpus-per-task 4 " in script.split("srun --unbuffered")[1]
    assert len(list((out / rf.SLURM_LOGS).glob("7000_*_submitted.pkl"))) == 2  # the folds' pickles, for the jobs
    jobs = json.loads((out / rf.SLURM_JOBS).read_text())
    assert sorted(j["job_id"] for j in jobs.values()) == ["7000_0", "7000_1"]
    assert not (out / "report.md").exists()

    # Both still queued or running: the same command submits nothing.
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_0|RUNNING|n1\n7000_1|PENDING|\n")
    assert main(args) == 0
    assert "0 fold job(s) submitted, 2 still queued or running" in capsys.readouterr().err
    assert not (tmp_path / "sbatch-7001.sh").exists()

    # One job failed without finishing its fold: only that fold goes again, as a single job.
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_0|NODE_FAIL|n1\n7000_1|RUNNING|n2\n")
    assert main(args) == 0
    assert "1 fold job(s) submitted (7001), 1 still queued or running" in capsys.readouterr().err
    assert "--array" not in (tmp_path / "sbatch-7001.sh").read_text()
    records = json.loads((out / rf.SLURM_JOBS).read_text())
    assert sorted((j["job_id"], j["previous"]) for j in records.values()) == [("7000_1", []), ("7001", ["7000_0"])]


def test_a_sweep_is_one_array_job(fake_slurm, synth_root, tmp_path, capsys):
    import yaml

    from mmnet.cli import main

    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump({"set": [f"data.cache_dir={tmp_path / 'cache'}", *TINY], "seeds": 1,
                                          "settings": {"paper": {}, "no_pc": {"model.use_pc": False}}}))
    out = tmp_path / "ablations"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(synth_root), "--no-progress",
                 "--executor", "slurm", "--no-wait"]) == 0
    assert "4 fold job(s) submitted (7000)" in capsys.readouterr().err
    script = (tmp_path / "sbatch-7000.sh").read_text()
    assert "#SBATCH --array=0-3%" in script and "#SBATCH --job-name=mmnet-ablations" in script
    assert len(list((out / rf.SLURM_LOGS).glob("7000_*_submitted.pkl"))) == 4  # one log folder for the sweep
    for setting in ("paper", "no_pc"):
        assert len(json.loads((out / setting / rf.SLURM_JOBS).read_text())) == 2
    assert not (out / "summary.md").exists()


def test_no_slurm_and_no_submitit_are_explained(fake_slurm, synth_root, tmp_path, monkeypatch):
    run = prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no srun: not a SLURM machine
    with pytest.raises(ExecutorError, match="No SLURM on this machine"):
        run_tasks(fold_tasks(run), SLURM, progress=False)
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if the extra were not installed
    with pytest.raises(ExecutorError, match=r'pip install -e "\.\[slurm\]"'):
        run_tasks([], SLURM)


def test_options_are_checked_before_anything_is_submitted(synth_root, tmp_path):
    assert [slurm_minutes(t) for t in ("90", "30:30", "4:00:00", "1-12", "1-0:30", "2-00:00:01")] == [
        90, 31, 240, 2160, 1470, 2881]
    for bad in ("", "4h", "0", "1:2:3:4"):
        with pytest.raises(ConfigError, match="slurm-time"):
            ExecutorConfig(executor="slurm", slurm_time=bad)
    with pytest.raises(ConfigError, match="--slurm-partition only applies with --executor slurm"):
        ExecutorConfig(executor="ray", slurm_partition="gpu")
    with pytest.raises(ConfigError, match="--no-wait only applies with --executor slurm"):
        ExecutorConfig(no_wait=True)
    with pytest.raises(ConfigError, match="--transport only applies with --executor ray"):
        ExecutorConfig(executor="slurm", transport="shared-fs")
    with pytest.raises(ConfigError, match="--cpus-per-fold only applies with --executor ray or --executor slurm"):
        ExecutorConfig(cpus_per_fold=2)
    with pytest.raises(ConfigError, match="array-parallelism"):
        ExecutorConfig(executor="slurm", slurm_array_parallelism=0)
    assert slurm_parameters(["account=proj", "--qos=normal", "exclusive", "mail_type=END"]) == {
        "account": "proj", "qos": "normal", "exclusive": True, "mail-type": "END"}
    with pytest.raises(ConfigError, match="use --slurm-time"):
        slurm_parameters(["time=10"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        slurm_parameters(["account="])


def test_resource_rules_under_slurm(synth_root, tmp_path):
    from mmnet.train.slurm_options import gpus_and_device, whole

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    task.config = copy.deepcopy(task.config)
    assert gpus_and_device(task, None) == (0, "cpu")
    task.config.train.device = "cuda"
    assert gpus_and_device(task, None) == (1, "cuda")  # the GPU SLURM made visible
    with pytest.raises(ConfigError, match="no GPU requested"):
        gpus_and_device(task, 0)
    with pytest.raises(ConfigError, match="whole GPUs"):
        gpus_and_device(task, 0.5)
    task.config.train.device = "cuda:1"
    with pytest.raises(ConfigError, match="SLURM assigns each fold its GPU"):
        gpus_and_device(task, 1)
    with pytest.raises(ConfigError, match="whole number"):
        whole("--cpus-per-fold", 1.5, 1, "SLURM gives whole CPUs")


def test_a_fold_gets_one_gpu_and_knows_it(synth_root, tmp_path):
    from mmnet.train.slurm_options import gpu_request, gpus_and_device

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    task.config = copy.deepcopy(task.config)
    task.config.train.device = "auto"
    # a GPU asked for: the fold trains on "cuda", never on the CPU by auto's choice where no GPU is visible
    assert gpus_and_device(task, 1) == (1, "cuda")
    assert gpus_and_device(task, None, "a100") == (1, "cuda")
    with pytest.raises(ConfigError, match="a fold trains on one GPU"):
        gpus_and_device(task, 2)
    task.config.train.device = "cpu"
    with pytest.raises(ConfigError, match="held idle"):
        gpus_and_device(task, 1)
    assert gpu_request(1, "a100") == (None, {"gres": "gpu:a100:1"}) and gpu_request(1, None) == (1, {})
    with pytest.raises(ConfigError, match="not a GPU type"):
        gpu_request(1, "a100;rm")
    # sbatch options that would give a job GPUs its fold does not use
    for key in ("gres=gpu:1", "gpus=1", "gpus-per-task=1", "gpus_per_node=1", "cpus-per-gpu=4", "mem-per-gpu=8G"):
        with pytest.raises(ConfigError, match="set by mmnet; use --"):
            slurm_parameters([key])
    with pytest.raises(ConfigError, match="--gpus-per-fold"):
        slurm_parameters(["gres=gpu:a100:1"])


def test_a_gpu_fold_on_a_node_without_a_visible_gpu_stops_instead_of_training_on_the_cpu(synth_root, tmp_path,
                                                                                         monkeypatch):
    pytest.importorskip("submitit")
    from mmnet.train import slurm_fold_job

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(slurm_fold_job, "run_fold", lambda *a, **kw: pytest.fail("trained without its GPU"))
    with pytest.raises(ExecutorError, match=f"{task.label}: its job on node .* asked for a GPU"):
        slurm_fold_job.FoldJob(1, 0)(task, "cuda")


def test_memory_below_the_estimate_is_said_before_submitting(synth_root, tmp_path):
    from mmnet.train.slurm_options import memory_bytes, memory_warning

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    assert memory_bytes("16G") == 16 * 2 ** 30 and memory_bytes("16000") == 16000 * 2 ** 20
    assert memory_bytes("512MB") == 512 * 2 ** 20 and memory_bytes("lots") is None
    line = memory_warning([task], ["cpu"], "1G")
    assert line is not None and "--slurm-mem 1G is less than" in line and task.label in line
    assert "OUT_OF_MEMORY" in line and "--slurm-mem 2G or more" in line
    assert memory_warning([task], ["cpu"], "64G") is None
    assert memory_warning([task], ["cuda"], "1G") is None  # the estimate is for folds on the CPU
    assert memory_warning([task], ["cpu"], None) is None


def _submitted_without_waiting(synth_root, tmp_path):
    """A run whose two fold jobs (7000_0 running, 7000_1 pending) were submitted with --no-wait: (out, args)."""
    from mmnet.cli import main

    out = tmp_path / "run"
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(out), "--no-progress",
            "--executor", "slurm", "--no-wait"]
    args += [x for s in [f"data.cache_dir={tmp_path / 'cache'}", *TINY] for x in ("--set", s)]
    assert main(args) == 0
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_0|RUNNING|n1\n7000_1|PENDING|\n")
    return out, args


def test_a_rerun_with_another_config_cancels_the_old_jobs_instead_of_following_them(fake_slurm, synth_root,
                                                                                    tmp_path, capsys):
    from mmnet.cli import main

    out, args = _submitted_without_waiting(synth_root, tmp_path)
    capsys.readouterr()
    # No epoch finished: the config may change, but the queued jobs hold the old one pickled.
    assert main(args + ["--set", "train.epochs=1"]) == 0
    err = capsys.readouterr().err
    assert "cancelled 2 queued or running job(s)" in err and "another configuration" in err
    assert "2 fold job(s) submitted (7001)" in err
    assert (tmp_path / "cancelled").read_text().split() == ["7000_0", "7000_1"]
    jobs = json.loads((out / rf.SLURM_JOBS).read_text())
    assert sorted(j["job_id"] for j in jobs.values()) == ["7001_0", "7001_1"]
    # The same config again: the new jobs are followed, nothing cancelled or submitted.
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7001_0|RUNNING|n1\n7001_1|PENDING|\n")
    assert main(args + ["--set", "train.epochs=1"]) == 0
    assert "0 fold job(s) submitted, 2 still queued or running" in capsys.readouterr().err
    assert (tmp_path / "cancelled").read_text().split() == ["7000_0", "7000_1"]
    # What a resume may change (here train.tensorboard) leaves the running folds alone, and so does a record
    # without a digest (submitted by an earlier mmnet): nothing says its job differs.
    assert main(args + ["--set", "train.epochs=1", "--tensorboard"]) == 0
    assert "0 fold job(s) submitted, 2 still queued or running" in capsys.readouterr().err
    (out / rf.SLURM_JOBS).write_text(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "config"}
                                                 for k, v in jobs.items()}))
    assert main(args + ["--set", "train.epochs=1"]) == 0
    assert "0 fold job(s) submitted, 2 still queued or running" in capsys.readouterr().err
    assert (tmp_path / "cancelled").read_text().split() == ["7000_0", "7000_1"]


def test_restart_cancels_the_old_runs_jobs_or_refuses_naming_them(fake_slurm, synth_root, tmp_path, capsys):
    from mmnet.cli import main

    out, args = _submitted_without_waiting(synth_root, tmp_path)
    scancel = tmp_path / "bin" / "scancel"
    working = scancel.read_text()
    scancel.write_text("#!/bin/bash\necho 'scancel: error: Access/permission denied' >&2\nexit 1\n")
    capsys.readouterr()
    assert main(args + ["--restart"]) == 3  # the old jobs would write into the new run: nothing is moved
    err = capsys.readouterr().err
    assert "Could not cancel the SLURM job(s) 7000_0, 7000_1" in err and "scancel 7000_0 7000_1" in err
    assert not list(tmp_path.glob("run.old-*")) and (out / rf.SLURM_JOBS).exists()

    scancel.write_text(working)
    assert main(args + ["--restart"]) == 0
    err = capsys.readouterr().err
    assert f"cancelled 2 SLURM job(s) of the run in {out} still queued or running (7000_0, 7000_1)" in err
    assert (tmp_path / "cancelled").read_text().split() == ["7000_0", "7000_1"]
    assert len(list(tmp_path.glob("run.old-*"))) == 1 and "2 fold job(s) submitted (7001)" in err


def test_a_job_lost_after_its_fold_finished_is_not_submitted_again(synth_root, tmp_path):
    pytest.importorskip("submitit")
    from submitit.core.utils import UncompletedJobError

    from mmnet.train.fold import run_fold
    from mmnet.train.slurm_collect import collect

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "run", progress=False))[0]
    done = run_fold(task, progress=False)

    class Lost:  # the job died (node failure) after the fold wrote done.json
        job_id, state = "7000_0", "NODE_FAIL"

        def done(self):
            return True

        def exception(self):
            return UncompletedJobError("no result")

    resubmitted = []
    assert collect([task], {0: Lost()}, resubmitted.append, 3, False, 0, poll=0, cluster="local") == [done]
    assert resubmitted == []


def test_a_missing_submitit_is_said_before_the_run_folder_is_written(synth_root, tmp_path, monkeypatch):
    from mmnet.train import train_experiment

    monkeypatch.setitem(sys.modules, "submitit", None)  # as if the extra were not installed
    with pytest.raises(ExecutorError, match=r'needs submitit, an optional extra: pip install .*-e "\.\[slurm\]"'):
        train_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", executor=SLURM, progress=False)
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()  # nothing prepared nor measured


def test_a_rerun_never_submits_a_fold_whose_job_sacct_does_not_know_yet(fake_slurm, synth_root, tmp_path, capsys):
    from mmnet.cli import main

    out, args = _submitted_without_waiting(synth_root, tmp_path)
    (tmp_path / "sacct.txt").unlink()  # no accounting (or slurmdbd behind): sacct knows neither job
    (tmp_path / "squeue.txt").write_text("7000_0 RUNNING\n")  # the controller still runs 7000_0; 7000_1 is gone
    capsys.readouterr()
    assert main(args) == 0
    assert "1 fold job(s) submitted (7001), 1 still queued or running" in capsys.readouterr().err
    assert (tmp_path / "squeue-calls").read_text().splitlines() == ["-h -r -o %i %T -j 7000"]  # one call for both
    assert sorted(j["job_id"] for j in json.loads((out / rf.SLURM_JOBS).read_text()).values()) == ["7000_0", "7001"]
    (tmp_path / "squeue-down").touch()  # nobody can tell: both count as alive
    assert main(args) == 0
    assert "0 fold job(s) submitted, 2 still queued or running" in capsys.readouterr().err
    assert not (tmp_path / "sbatch-7002.sh").exists()


def test_waiting_follows_suspended_jobs_and_never_resubmits_cancelled_or_out_of_memory_ones(fake_slurm, synth_root,
                                                                                           tmp_path, monkeypatch,
                                                                                           capsys):
    import submitit

    from mmnet.train.slurm_collect import collect

    monkeypatch.setattr(submitit.SlurmJob, "_results_timeout_s", 0)  # no result comes: no wait for one
    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    logs = tmp_path / "logs"
    jobs = {i: submitit.SlurmJob(folder=logs, job_id=f"7000_{i}") for i in range(3)}
    # sacct over time: first all three held or suspended (alive: waited for), then each ends without a result
    (tmp_path / "sacct-1.txt").write_text("JobID|State|NodeList\n7000_0|SUSPENDED|n1\n7000_1|REQUEUE_HOLD|\n"
                                          "7000_2|CONFIGURING|n2\n")
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_0|CANCELLED by 1234|n1\n"
                                        "7000_1|OUT_OF_MEMORY|n3\n7000_2|NODE_FAIL|n2\n")
    submitted = []
    with pytest.raises(ExecutorError, match=r"3 of 3 fold\(s\) failed on SLURM") as info:
        collect([task] * 3, jobs, lambda ids: submitted.extend(ids) or {}, 0, False, 0, poll=0.2)
    message = str(info.value)
    assert submitted == []  # none while alive; cancelled and out of memory never; node failure: max_retries=0
    assert "SLURM job 7000_0 ended without a result (state CANCELLED)" in message and "not submitted again" in message
    err = capsys.readouterr().err
    assert f"{task.label}: SLURM job 7000_0 was cancelled (CANCELLED); not submitted again" in err
    assert f"{task.label}: SLURM job 7000_1 ran out of memory; not submitted again" in err and "--slurm-mem" in err
    assert f"FAILED {task.label}: job lost" in err
    assert int((tmp_path / "sacct-n").read_text()) >= 2  # the held states were read, then the ends


def test_a_stopped_driver_leaves_the_jobs_running_and_ctrl_c_cancels_them(synth_root, tmp_path, capsys):
    pytest.importorskip("submitit")
    from mmnet.errors import Terminated
    from mmnet.train.slurm_collect import collect

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]

    class Running:  # a job still running when the driver is stopped
        job_id, cancelled = "7000_0", False
        paths = type("Paths", (), {"result_pickle": tmp_path / "no-result.pkl"})

        def __init__(self, stop):
            self.stop = stop

        def get_info(self, mode="standard"):
            raise self.stop  # the signal arrives while the driver waits

        def cancel(self, check=True):
            self.cancelled = True

    job = Running(Terminated())  # SIGTERM: a kill, or the driver's own batch job at its time limit
    with pytest.raises(Terminated):
        collect([task], {0: job}, None, 3, False, 0, poll=0)
    assert not job.cancelled
    err = capsys.readouterr().err
    assert "SLURM: 1 fold job(s) left running (7000_0); rerun the same command to follow them" in err
    job = Running(KeyboardInterrupt())  # Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        collect([task], {0: job}, None, 3, False, 0, poll=0)
    assert job.cancelled and "SLURM: cancelled 1 fold job(s) (7000_0)" in capsys.readouterr().err


def test_a_fold_job_uses_no_more_threads_than_its_cpu_mask(synth_root, tmp_path, monkeypatch, capsys):
    pytest.importorskip("submitit")
    from mmnet.train import slurm_fold_job

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    seen = {}

    def fake_run_fold(task, **kw):
        seen.update(threads=torch.get_num_threads(), omp=slurm_fold_job.os.environ["OMP_NUM_THREADS"], **kw)
        return {}

    monkeypatch.setattr(slurm_fold_job, "run_fold", fake_run_fold)
    monkeypatch.setattr(slurm_fold_job.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    env = {"OMP_NUM_THREADS": "64", "MKL_NUM_THREADS": "64", "OPENBLAS_NUM_THREADS": "64",  # the login shell's
           "SLURM_ARRAY_JOB_ID": "7000", "SLURM_ARRAY_TASK_ID": "3", "SLURM_JOB_ID": "7004"}
    for name, value in env.items():  # set here so that they are restored after the test
        monkeypatch.setenv(name, value)
    threads = torch.get_num_threads()
    try:
        slurm_fold_job.FoldJob(8, 0)(task, "cpu")  # --cpus-per-fold 8, but the job may run on 2 CPUs
    finally:
        torch.set_num_threads(threads)
    assert seen["threads"] == 2 and seen["omp"] == "2"
    assert seen["record_extra"]["slurm_job"] == "7000_3 (id 7004)" and seen["record_extra"]["host"]
    assert f"{task.label}: on {seen['record_extra']['host']}, SLURM job 7000_3 (id 7004), 2 torch thread(s)" \
        in capsys.readouterr().err


def test_preemptions_are_always_requeued_and_only_time_limits_without_progress_count(synth_root, tmp_path):
    pytest.importorskip("submitit")
    from mmnet.train.slurm_fold_job import FoldJob

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    job = FoldJob(1, max_requeues=1, minutes=60)
    job.started = time.time()  # signalled soon after the start: a preemption
    assert all(job.checkpoint(task, "cpu") is not None for _ in range(5))
    state = task.fold_dir / rf.STATE
    state.parent.mkdir(parents=True, exist_ok=True)
    job.started = time.time() - 59 * 60  # signalled near the time limit
    for stamp in (1, 2, 3):  # each piece saved a new epoch: requeued however often
        state.write_bytes(b"x")
        os.utime(state, ns=(stamp * 10 ** 9, stamp * 10 ** 9))
        assert job.checkpoint(task, "cpu") is not None
    assert job.checkpoint(task, "cpu") is not None  # a first time limit without a new epoch: max_requeues=1
    assert job.checkpoint(task, "cpu") is None  # a second time limit in a row without a new epoch: stopped


def test_with_no_retries_a_fold_that_saves_epochs_still_goes_past_its_time_limits(synth_root, tmp_path):
    pytest.importorskip("submitit")
    from mmnet.train.slurm_fold_job import FoldJob

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    job = FoldJob(1, max_requeues=0, minutes=60)
    state = task.fold_dir / rf.STATE
    state.parent.mkdir(parents=True, exist_ok=True)
    job.started = time.time() - 59 * 60  # signalled near the time limit
    for stamp in (1, 2, 3):  # each piece saved a new epoch: requeued, --max-retries 0 notwithstanding
        state.write_bytes(b"x")
        os.utime(state, ns=(stamp * 10 ** 9, stamp * 10 ** 9))
        assert job.checkpoint(task, "cpu") is not None
    assert job.checkpoint(task, "cpu") is None  # a time limit without a new epoch: stopped at once


def test_folds_beyond_the_clusters_max_array_size_go_in_several_arrays(fake_slurm, synth_root, tmp_path, capsys):
    from mmnet.cli import main

    scontrol = tmp_path / "bin" / "scontrol"
    scontrol.write_text("#!/bin/bash\necho 'MaxArraySize            = 3'\necho 'MaxJobCount             = 10000'\n")
    scontrol.chmod(0o755)
    out = tmp_path / "run"
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(out), "--no-progress",
            "--executor", "slurm", "--no-wait", "--seeds", "2"]
    args += [x for s in [f"data.cache_dir={tmp_path / 'cache'}", *TINY] for x in ("--set", s)]
    assert main(args) == 0
    assert "4 fold job(s) submitted (7000, 7001)" in capsys.readouterr().err
    for job in ("7000", "7001"):  # indices 0..2 at most; no hidden limit of 256 (or any) at once
        assert "#SBATCH --array=0-1%2\n" in (tmp_path / f"sbatch-{job}.sh").read_text()
    jobs = json.loads((out / rf.SLURM_JOBS).read_text())
    assert sorted(j["job_id"] for j in jobs.values()) == ["7000_0", "7000_1", "7001_0", "7001_1"]


def test_gpu_model_and_setup_lines_reach_the_job_script(fake_slurm, synth_root, tmp_path, capsys):
    from mmnet.cli import main

    out = tmp_path / "run"
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(out), "--no-progress",
            "--executor", "slurm", "--no-wait", "--gpus-per-fold", "1", "--slurm-gpu-type", "a100",
            "--slurm-setup", "module load cuda/12.1"]
    args += [x for s in [f"data.cache_dir={tmp_path / 'cache'}", *TINY, "train.device=auto"] for x in ("--set", s)]
    assert main(args) == 0
    script = (tmp_path / "sbatch-7000.sh").read_text()
    assert "#SBATCH --gres=gpu:a100:1\n" in script and "gpus-per-node" not in script
    assert script.index("module load cuda/12.1\n") < script.index("export OMP_NUM_THREADS=1") < script.index("srun ")
    capsys.readouterr()
    assert main(args + ["--gpus-per-fold", "2"]) == 3
    assert "a fold trains on one GPU" in capsys.readouterr().err
    assert main(args + ["--slurm-param", "gres=gpu:2"]) == 3
    assert "--slurm-param gres is set by mmnet; use --gpus-per-fold" in capsys.readouterr().err


def test_the_login_node_does_not_measure_what_the_jobs_measure(fake_slurm, synth_root, tmp_path, monkeypatch):
    from mmnet.train import train_experiment

    def measured(*args, **kwargs):
        raise AssertionError("calibrated on the submitting machine")

    monkeypatch.setattr("mmnet.train.prepare.plan_training", measured)
    assert train_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False,
                            executor=ExecutorConfig(executor="slurm", no_wait=True)) is None
    assert json.loads((tmp_path / "run" / rf.ENV).read_text())["mmnet_version"]  # env.json written all the same


def test_epochs_longer_than_a_jobs_time_are_said_before_submitting(synth_root, tmp_path):
    from mmnet.train.slurm_options import epoch_warning

    tasks = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))
    assert epoch_warning(tasks, 5) is None  # nothing finished: nothing known
    done = tasks[0].fold_dir
    done.mkdir(parents=True)
    (done / rf.PREDICTIONS).write_text("")
    (done / rf.DONE).write_text(json.dumps({"epochs": 2, "seconds": 600.0}))  # 300 s per epoch
    line = epoch_warning(tasks[1:], 5)  # 5 minutes: 210 s before the stop signal
    assert line is not None and str(done) in line and "took 300 s" in line and "has 210 s" in line
    assert epoch_warning(tasks[1:], 10) is None


def test_waiting_without_accounting_asks_the_controller(fake_slurm, synth_root, tmp_path, monkeypatch, capsys):
    import submitit

    from mmnet.train import slurm_state
    from mmnet.train.slurm_collect import collect

    monkeypatch.setattr(slurm_state, "_SQUEUE_EVERY_S", 0.0)  # every poll asks (once a minute on a cluster)
    monkeypatch.setattr(submitit.SlurmJob, "_results_timeout_s", 0)  # no result comes: no wait for one
    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    job = submitit.SlurmJob(folder=tmp_path / "logs", job_id="7000_0")
    # sacct knows nothing; the controller runs the job, suspends it, then no longer lists it (it died)
    (tmp_path / "squeue-1.txt").write_text("7000_0 RUNNING\n")
    (tmp_path / "squeue-2.txt").write_text("7000_0 SUSPENDED\n7000_1 RUNNING\n")
    submitted = []
    assert collect([task], {0: job}, lambda ids: submitted.extend(ids) or {}, 1, False, 0, poll=0.05) == [None]
    assert submitted == [0] and len((tmp_path / "squeue-calls").read_text().splitlines()) >= 3
    err = capsys.readouterr().err
    assert f"{task.label}: SLURM job 7000_0 ended without a result (gone: neither sacct nor squeue lists it); " \
           "submitted again (1/1)" in err


def test_a_fold_job_pickled_by_an_earlier_mmnet_can_still_be_requeued(synth_root, tmp_path):
    pytest.importorskip("submitit")
    from mmnet.train.slurm_fold_job import FoldJob

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    job = object.__new__(FoldJob)  # a job queued before this mmnet: only the attributes it had then
    job.__dict__.update(threads=1, max_requeues=3, requeues=0, crash_marker=None, preempt_marker=None, version="x")
    assert job.checkpoint(task, "cpu") is not None


def test_a_completed_job_whose_result_shows_late_is_collected_and_only_then_counted_lost(fake_slurm, synth_root,
                                                                                          tmp_path, monkeypatch):
    import threading

    import submitit
    from submitit.core.utils import cloudpickle_dump

    from mmnet.train.slurm_collect import collect

    monkeypatch.setattr(submitit.SlurmJob, "_results_timeout_s", 2)  # submitit's wait for a result (15 s)
    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    job = submitit.SlurmJob(folder=tmp_path / "logs", job_id="7000_0")
    job.paths.folder.mkdir(parents=True, exist_ok=True)
    # sacct says COMPLETED before the node's result.pkl is visible here (NFS): the result shows a moment later
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_0|COMPLETED|n1\n")
    record = {"epochs": 2, "test_acc": 0.5}
    late = threading.Timer(0.3, cloudpickle_dump, (("success", record), job.paths.result_pickle))
    late.start()
    submitted = []
    try:
        assert collect([task], {0: job}, lambda ids: submitted.extend(ids) or {}, 0, False, 0, poll=0.05) == [record]
    finally:
        late.cancel()
    assert submitted == []  # not submitted again, not failed as lost with --max-retries 0
    # a result that never shows: lost, but only after that wait
    job = submitit.SlurmJob(folder=tmp_path / "logs", job_id="7000_1")
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n7000_1|COMPLETED|n1\n")
    start = time.monotonic()
    with pytest.raises(ExecutorError, match=r"ended without a result 1 times \(last state COMPLETED\)"):
        collect([task], {0: job}, lambda ids: submitted.extend(ids) or {}, 0, False, 0, poll=0.05)
    assert time.monotonic() - start >= 2 and submitted == []


def test_preemptions_that_cancel_the_job_are_submitted_again_uncounted_while_the_fold_saves_epochs(
        fake_slurm, synth_root, tmp_path, capsys):
    from types import SimpleNamespace

    from mmnet.train.slurm_collect import collect

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    state = task.fold_dir / rf.STATE
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_bytes(b"x")
    (tmp_path / "logs").mkdir()
    saved = iter(range(1, 1000))  # bounded: a regression fails fast instead of spinning

    class Preempted:  # PreemptMode=CANCEL: sacct says PREEMPTED, squeue no longer lists the job
        _results_timeout_s = 0

        def __init__(self, n: int, saves: bool):
            self.job_id, self.saves = f"{7000 + n}_0", saves
            self.paths = SimpleNamespace(result_pickle=tmp_path / "logs" / f"{n}_result.pkl", stderr=f"{n}.err")

        def get_info(self, mode="standard"):
            if self.saves:  # the job saved an epoch before it was preempted
                stamp = next(saved) * 10 ** 9
                os.utime(state, ns=(stamp, stamp))
            return {"State": "PREEMPTED"}

    submitted = []

    def submit(ids):  # four more attempts that save epochs, then two that do not
        submitted.extend(ids)
        return {0: Preempted(len(submitted), saves=len(submitted) < 4)}

    with pytest.raises(ExecutorError, match=r"ended without a result 2 times \(last state PREEMPTED\)"):
        collect([task], {0: Preempted(0, saves=True)}, submit, 1, False, 0, poll=0)
    assert len(submitted) == 5  # 4 preemptions after saved epochs (uncounted), then 1 retry of max_retries=1
    err = capsys.readouterr().err
    assert err.count("was preempted after saving an epoch; submitted again (not counted as a retry)") == 4
    assert "SLURM job 7004_0 ended without a result (PREEMPTED); submitted again (1/1)" in err
