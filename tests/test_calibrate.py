"""The measured choice of precision and memory format on CPU (mmnet.train.calibrate), with fake timings:
the choice, the step budget, the cache, the config's precedence and the fallback to the CPU-flag rule."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import pytest
import torch

from mmnet import calibration_cache, progress
from mmnet.config import TrainConfig
from mmnet.train import calibrate as cal_mod
from mmnet.train import calibrate_choice
from mmnet.train.calibrate import OPTIONS, Calibration, choose, measure, plan_training

DEFAULTS = {"precision": "bf16", "fp32": "channels_last", "bf16": "channels_last"}


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeBench:
    """Steps that 'take' the given seconds on a fake clock; no model runs."""

    batch, threads = 4, 2

    def __init__(self, clock: FakeClock, ms: dict[str, float], *, finite: bool = True, gap: float = 0.01,
                 screen: float = 0.5, fails: tuple[str, ...] = (), cpu: dict[str, float] | None = None):
        self.clock, self.ms, self.finite, self.gap, self.ratio, self.fails = clock, ms, finite, gap, screen, fails
        self.cpu = cpu or {}
        self.calls: list[str] = []

    def screen(self) -> float:
        return self.ratio

    def logit_gap(self) -> tuple[float, float]:
        return self.gap, 2.0

    def step(self, option: str) -> tuple[float, float, bool]:
        self.calls.append(option)
        if option in self.fails:
            raise RuntimeError("no kernel")
        seconds = self.ms[option] / 1e3
        self.clock.now += seconds
        cpu = self.cpu.get(option, seconds * self.threads)  # default: a quiet host, both threads busy
        return seconds, cpu, self.finite or not option.startswith("bf16/")


def fake(ms: tuple[float, float, float, float], **kw) -> tuple[Calibration, FakeBench]:
    clock = FakeClock()
    bench = FakeBench(clock, dict(zip(OPTIONS, ms, strict=True)), **kw)
    return measure(64, budget_s=10.0, bench=bench, clock=clock), bench


@pytest.fixture(autouse=True)
def _calibration_on(monkeypatch, tmp_path):
    monkeypatch.setenv("MMNET_CALIBRATE", "1")
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    monkeypatch.setattr(cal_mod, "_FAILED", {})
    # a quiet host with 2 usable cores, and the CPU-flag rule of an AVX-512 BF16 CPU: no test reads the real machine's
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (0.5, 2))
    monkeypatch.setattr(cal_mod, "flag_defaults", lambda: dict(DEFAULTS))


# order of OPTIONS: fp32/contiguous, fp32/channels_last, bf16/contiguous, bf16/channels_last
def test_bf16_faster_is_chosen_with_its_fastest_layout():
    cal, _ = fake((100, 90, 60, 40))
    assert choose(cal) == ("bf16", "channels_last")
    assert cal.bf16_check["ok"] and cal.options["bf16/channels_last"]["ms_per_step"] == 40.0
    assert cal.options["bf16/channels_last"]["img_per_s"] == pytest.approx(100.0)


def test_bf16_slower_or_barely_faster_keeps_fp32():
    assert choose(fake((100, 90, 300, 250))[0]) == ("fp32", "channels_last")
    assert choose(fake((100, 90, 85, 95))[0]) == ("fp32", "channels_last")  # 5.6 % faster: not worth bf16


def test_bf16_with_non_finite_loss_or_far_logits_is_rejected():
    cal, _ = fake((100, 90, 30, 20), finite=False)
    assert choose(cal) == ("fp32", "channels_last")
    assert not cal.bf16_check["ok"] and "not finite" in cal.options["bf16/channels_last"]["status"]
    cal, bench = fake((100, 90, 30, 20), gap=1.0)  # scale 2: allowed 0.2
    assert choose(cal) == ("fp32", "channels_last") and "logits differ" in cal.options["bf16/contiguous"]["status"]
    assert not [c for c in bench.calls if c.startswith("bf16/")]  # rejected before any bf16 step


def test_emulated_bf16_is_screened_out_without_a_training_step():
    cal, bench = fake((100, 120, 900, 1000), screen=8.0)
    assert choose(cal) == ("fp32", "contiguous")
    assert set(bench.calls) == {"fp32/contiguous", "fp32/channels_last"}
    assert "emulated" in cal.options["bf16/channels_last"]["status"]


def test_busy_host_is_judged_by_cpu_time():
    # neighbours stretched the wall times (fp32/channels_last got the quiet moment); CPU time says otherwise
    clock = FakeClock()
    bench = FakeBench(clock, dict(zip(OPTIONS, (300, 100, 400, 400), strict=True)), screen=8.0,
                      cpu={"fp32/contiguous": 0.1, "fp32/channels_last": 0.16})
    cal = measure(64, budget_s=10.0, bench=bench, clock=clock)
    assert cal.metric == "cpu" and cal.cpu_share < 0.6
    assert cal.options["fp32/contiguous"]["ms_per_step"] == 50.0  # CPU time / 2 threads
    assert cal.options["fp32/contiguous"]["wall_ms"] == 300.0
    assert choose(cal) == ("fp32", "contiguous")
    quiet, _ = fake((300, 100, 400, 400), screen=8.0)
    assert quiet.metric == "wall" and choose(quiet) == ("fp32", "channels_last")


def test_layout_follows_the_measurement():
    assert choose(fake((100, 140, 300, 300))[0]) == ("fp32", "contiguous")
    assert choose(fake((140, 100, 300, 300))[0]) == ("fp32", "channels_last")
    assert choose(fake((100, 90, 40, 60))[0]) == ("bf16", "contiguous")


def test_what_the_config_fixes_is_kept():
    cal, _ = fake((100, 90, 40, 60))
    assert choose(cal, "fp32", "auto") == ("fp32", "channels_last")
    assert choose(cal, "auto", "channels_last") == ("bf16", "channels_last")
    assert choose(cal, "bf16", "auto") == ("bf16", "contiguous")
    rejected, _ = fake((100, 90, 40, 60), finite=False)
    assert choose(rejected, "bf16", "auto") is None  # nothing measured applies: the caller falls back


def test_step_count_follows_the_time_budget_and_a_failing_option_is_skipped():
    fast, bench = fake((10, 10, 10, 10))
    assert {e["steps"] for e in fast.options.values()} == {cal_mod.MAX_ROUNDS}
    slow, _ = fake((2000, 2000, 2000, 2000))  # warm-up alone spends the budget: the minimum of 2 rounds
    assert {e["steps"] for e in slow.options.values()} == {cal_mod.MIN_ROUNDS}
    very_slow, _ = fake((5000, 5000, 5000, 5000))  # a single round could not show its noise: best of 2 still
    assert {e["steps"] for e in very_slow.options.values()} == {cal_mod.MIN_ROUNDS} == {2}
    cal, _ = fake((100, 90, 60, 40), fails=("bf16/channels_last",))
    assert cal.options["bf16/channels_last"]["status"].startswith("failed: RuntimeError")
    assert choose(cal) == ("bf16", "contiguous")


def _count_measures(monkeypatch, ms=(100, 90, 60, 40)) -> list[int]:
    calls = []

    def fake_measure(image_size, *, budget_s):
        calls.append(image_size)
        return fake(ms)[0]

    monkeypatch.setattr(cal_mod, "measure", fake_measure)
    return calls


def test_cache_hit_miss_and_corrupt_file(monkeypatch, caplog):
    calls = _count_measures(monkeypatch)
    first = cal_mod.calibrate(64, announce=False)
    files = list(cal_mod.calibration_folder(None).glob("*.json"))
    assert calls == [64] and len(files) == 1
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    assert cal_mod.calibrate(72, announce=False).options == first.options  # same size bucket: cached
    assert calls == [64]
    cal_mod.calibrate(224, announce=False)  # another bucket: measured
    assert calls == [64, 224]
    files[0].write_text('{"version": 1, "key": ')  # damaged
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        cal_mod.calibrate(64, announce=False)
    assert calls == [64, 224, 64] and "damaged" in caplog.text
    for garbage in ('[1, 2]', '{"version": 1}', json.dumps({**json.loads(files[0].read_text()), "options": {"x": 1}})):
        files[0].write_text(garbage)
        monkeypatch.setattr(calibration_cache, "MEMO", {})
        cal_mod.calibrate(64, announce=False)
    assert calls == [64, 224, 64, 64, 64, 64]
    data = json.loads(files[0].read_text())  # written again, readable
    data["key"]["torch_threads"] = 999  # measured on another setup: not used
    files[0].write_text(json.dumps(data))
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    cal_mod.calibrate(64, announce=False)
    assert calls == [64, 224, 64, 64, 64, 64, 64]


def test_runs_started_together_measure_once_the_others_wait_for_its_record(monkeypatch):
    # two first runs on a shared host: measuring at once on the same cores took 140 s each and chose differently
    measuring, release, waiting = threading.Event(), threading.Event(), threading.Event()
    calls, lines = [], []

    def slow_measure(image_size, *, budget_s):
        calls.append(image_size)
        measuring.set()
        assert release.wait(10)
        return fake((100, 90, 60, 40))[0]

    def write_line(line, bar=None):
        lines.append(line)
        if line.startswith("waiting for another mmnet process measuring this machine"):
            waiting.set()

    monkeypatch.setattr(cal_mod, "measure", slow_measure)
    monkeypatch.setattr(progress, "write_line", write_line)
    monkeypatch.setattr(cal_mod, "remember", lambda path, cal: None)  # the second reads the file, as a process would
    results = {}
    first = threading.Thread(target=lambda: results.update(first=cal_mod.calibrate(64)))
    second = threading.Thread(target=lambda: results.update(second=cal_mod.calibrate(64)))
    try:
        first.start()
        assert measuring.wait(10)
        second.start()
        assert waiting.wait(10), lines
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert calls == [64] and results["second"].summary() == results["first"].summary()
    # the estimate says what a busy host does to it (MAX_ROUNDS bounds the timed rounds, not the steps)
    assert any("~8 s on a quiet machine, minutes on a busy one" in line for line in lines)


def test_a_cache_of_another_user_is_named_unreadable_and_one_that_cannot_be_written_is_not_measured(
        monkeypatch, caplog):
    calls = _count_measures(monkeypatch)
    cal_mod.calibrate(64, announce=False)
    [path] = cal_mod.calibration_folder(None).glob("*.json")
    read_text = Path.read_text

    def permission_denied(self, *args, **kwargs):  # the tests run as root: chmod 000 would not stop them
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", permission_denied)
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        cal_mod.calibrate(64, announce=False)  # the folder is writable: measured again, and cached for the next run
    assert calls == [64, 64] and "damaged" not in caplog.text
    assert f"calibration cache '{path}' is unreadable (permission denied" in caplog.text
    assert "MMNET_CACHE_DIR set to a writable folder of your own" in caplog.text
    folder, os_open = str(path.parent), os.open

    def read_only_folder(file, flags, *args, **kwargs):  # the lock, the probe and the cache file alike
        if str(file).startswith(folder) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(13, "Permission denied", str(file))
        return os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_folder)
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    caplog.clear()
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        plan = plan_training(TrainConfig(device="cpu"), 64)  # no lock either: neither blocked nor crashed
    assert calls == [64, 64] and plan.basis == f"CPU flags (calibration skipped: its cache folder '{folder}' is not " \
                                               "writable (Permission denied))"  # env.json: the reason, whole
    assert f"'{folder}' is not writable" in caplog.text and "damaged" not in caplog.text
    assert "MMNET_CACHE_DIR set to a writable folder" in caplog.text and "MMNET_CALIBRATE=0" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        assert plan_training(TrainConfig(device="cpu"), 64).basis == plan.basis  # the next fold: said once
    assert caplog.text == "" and calls == [64, 64]
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        cal_mod.calibrate(64, force=True, announce=False)  # `mmnet info --calibrate` asks for it: measured
    assert calls == [64, 64, 64] and "used for this process only" in caplog.text


def test_another_users_record_in_a_sticky_folder_is_not_measured_on_every_run(monkeypatch, caplog):
    # a shared 1777 cache holding another user's record (mode 600): it can be neither read nor replaced, so every run
    # measured (26-38 s), then failed to cache the result
    calls = _count_measures(monkeypatch)
    folder = cal_mod.calibration_folder(None)
    cal_mod.calibrate(64, announce=False)
    [path] = folder.glob("*.json")
    folder.chmod(0o1777)
    theirs = path.stat().st_uid + 1
    real_stat, read_text = Path.stat, Path.read_text

    def owned_by_another_user(self, *args, **kwargs):
        st = real_stat(self, *args, **kwargs)
        return os.stat_result((st[0], st[1], st[2], st[3], theirs, *st[5:])) if self in (path, folder) else st

    def permission_denied(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", owned_by_another_user)
    monkeypatch.setattr(Path, "read_text", permission_denied)
    monkeypatch.setattr(cal_mod, "_overrides_sticky_bit", lambda: False)  # root without CAP_FOWNER, or any user
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        plan = plan_training(TrainConfig(device="cpu"), 64)
    assert calls == [64] and "used for this process only" not in caplog.text
    assert "is unreadable (permission denied" in caplog.text and "not measured" in caplog.text
    assert plan.basis == f"CPU flags (calibration skipped: its cache file '{path}' is another user's, in a shared " \
                         "folder (sticky bit): not replaceable)"
    monkeypatch.setattr(cal_mod, "_overrides_sticky_bit", lambda: True)  # root may replace it: measured and cached
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    cal_mod.calibrate(64, announce=False)
    assert calls == [64, 64]


def test_a_cached_calibration_is_read_without_waiting_for_the_lock(monkeypatch):
    # 3 processes x 300 folds each printed "waiting for another mmnet process measuring..." for a cached result
    from filelock import FileLock

    calls = _count_measures(monkeypatch)
    cal_mod.calibrate(64, announce=False)
    [path] = cal_mod.calibration_folder(None).glob("*.json")
    monkeypatch.setattr(progress, "write_line", lambda line, bar=None: pytest.fail(f"waited: {line}"))
    with FileLock(path.with_suffix(".lock"), timeout=0):  # another process measures another size, say
        monkeypatch.setattr(calibration_cache, "MEMO", {})
        assert cal_mod.calibrate(64).key["size_bucket"] == cal_mod.size_bucket(64)  # from the file
        assert cal_mod.calibrate(64).key["size_bucket"] == cal_mod.size_bucket(64)  # from memory
    assert calls == [64]


def test_a_cap_on_onednns_instruction_set_is_another_machine(monkeypatch):
    # ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 on an AMX Xeon: oneDNN's bf16 convolutions without AMX, 10x slower
    calls = _count_measures(monkeypatch)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    cal_mod.calibrate(64, announce=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx512_core_bf16")
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    capped = cal_mod.calibrate(64, announce=False)
    assert calls == [64, 64] and capped.key["onednn_max_cpu_isa"] == "AVX512_CORE_BF16"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    assert cal_mod.calibrate(64, announce=False).key["onednn_max_cpu_isa"] == ""  # the first one, from its cache
    assert calls == [64, 64]


def test_plan_training_uses_the_measurement_and_records_it(monkeypatch):
    from mmnet.runtime import describe_machine

    calls = _count_measures(monkeypatch)
    plan = plan_training(TrainConfig(device="cpu"), 64)
    assert (plan.precision, plan.memory_format, plan.basis) == ("bf16", torch.channels_last, "calibration")
    env = describe_machine(plan)
    assert env["compute_basis"] == "calibration" and env["memory_format"] == "channels_last"
    assert env["calibration"]["options"]["bf16/channels_last"]["ms_per_step"] == 40.0
    # the config's explicit choice wins over the measurement
    plan = plan_training(TrainConfig(device="cpu", precision="fp32"), 64)
    assert (plan.precision, plan.memory_format) == ("fp32", torch.channels_last)
    plan = plan_training(TrainConfig(device="cpu", precision="fp32", memory_format="contiguous"), 64)
    assert (plan.precision, plan.memory_format, plan.basis) == ("fp32", torch.contiguous_format, "config")
    assert calls == [64]


def test_switched_off_or_failing_calibration_falls_back_to_the_flag_rule(monkeypatch, caplog):
    calls = _count_measures(monkeypatch)
    monkeypatch.setenv("MMNET_CALIBRATE", "0")
    plan = plan_training(TrainConfig(device="cpu"), 64)
    assert calls == [] and plan.basis == "CPU flags (MMNET_CALIBRATE=0)" and plan.calibration is None

    def broken(image_size, *, budget_s):
        raise RuntimeError("oneDNN says no")

    monkeypatch.setenv("MMNET_CALIBRATE", "1")
    monkeypatch.setattr(cal_mod, "measure", broken)
    with caplog.at_level(logging.WARNING, "mmnet.train"):
        plan = plan_training(TrainConfig(device="cpu"), 64)
    assert "calibration failed: RuntimeError: oneDNN says no" in plan.basis
    assert "oneDNN says no" in caplog.text and plan.precision in ("fp32", "bf16")
    monkeypatch.setattr(cal_mod, "measure", lambda *a, **k: pytest.fail("measured again in the same process"))
    assert "oneDNN says no" in plan_training(TrainConfig(device="cpu"), 64).basis  # the next fold: no second try


def test_info_says_when_trainings_will_not_measure_for_want_of_a_writable_cache(monkeypatch, capsys):
    # it said "the first CPU training ... measures it", which a cache folder that cannot be written rules out
    from mmnet.cli import main

    monkeypatch.setattr(cal_mod, "not_keepable", lambda path: f"its cache folder '{path.parent}' is not writable")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "is not writable, so trainings choose from the CPU flags without measuring; set MMNET_CACHE_DIR" in out
    assert "measures it" not in out


def test_info_shows_and_reruns_the_calibration(monkeypatch, capsys):
    from mmnet.cli import main

    calls = _count_measures(monkeypatch)
    assert main(["info"]) == 0
    assert "none yet" in capsys.readouterr().out
    assert main(["info", "--calibrate", "--image-size", "64"]) == 0
    out = capsys.readouterr().out
    assert calls == [64] and "64 px (bucket 49-80px, batch 4)" in out and "bf16/channels_last" in out
    assert "40.0 ms/step" in out
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["calibrations"][0]["choice"] == ["bf16", "channels_last"]


@pytest.mark.slow
def test_real_calibration_runs_at_a_small_size(monkeypatch):
    monkeypatch.setattr(cal_mod, "MIN_ROUNDS", 1)
    monkeypatch.setattr(cal_mod, "calibration_batch", lambda size: 2)
    rng = torch.get_rng_state()
    cal = measure(32, budget_s=0.0)
    assert {o for o, e in cal.options.items() if e["status"] == "ok"} >= {"fp32/contiguous", "fp32/channels_last"}
    assert all(e["steps"] == 1 for e in cal.options.values() if e["status"] == "ok")
    assert choose(cal) is not None and cal.batch == 2 and 0 < cal.cpu_share
    assert set(cal.routes) == {"onednn_linear", "pad_weight_grad"}  # the fp32 kernel routes, timed both ways
    assert all(e["plain_ms"] > 0 and e["route_ms"] > 0 and isinstance(e["use"], bool) for e in cal.routes.values())
    assert torch.equal(torch.get_rng_state(), rng)  # the run's random stream is untouched


def test_a_cuda_training_plan_turns_cudnn_autotuning_on_and_a_cpu_one_leaves_it(monkeypatch):
    # a run's convolution shapes are fixed: cuDNN times its algorithms once per shape and keeps the fastest
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.setattr(cal_mod, "plan_compute", lambda name, precision, memory_format, **kw: name)
    assert plan_training(TrainConfig(device="cpu", precision="fp32", memory_format="contiguous"), 64) == "cpu"
    assert torch.backends.cudnn.benchmark is False
    assert plan_training(TrainConfig(device="cuda"), 64) == "cuda"
    assert torch.backends.cudnn.benchmark is True
