"""A calibration taken on a busy host (mmnet.train.calibrate_choice), with fake timings and a fake load average:
ties within the rounds' noise go to the CPU-flag rule's choice, and a busy host's record is marked and measured
again by a run on a quiet host instead of being kept for good."""

from __future__ import annotations

from itertools import cycle

import pytest

from mmnet import calibration_cache
from mmnet.train import calibrate as cal_mod
from mmnet.train import calibrate_choice
from mmnet.train.calibrate import OPTIONS, choose, measure

from .test_calibrate import DEFAULTS, FakeBench, FakeClock, _calibration_on  # noqa: F401 - the autouse fixture


class NoisyBench(FakeBench):
    """Each option's steps take its given milliseconds in turn (warm-up first), so its rounds disagree."""

    def __init__(self, clock: FakeClock, rounds: dict[str, list[float]], routes: dict | None = None):
        super().__init__(clock, {o: 0.0 for o in OPTIONS})
        self.rounds = {o: cycle(ms) for o, ms in rounds.items()}
        self.route_ms = {k: cycle(v) for k, v in (routes or {}).items()}

    def step(self, option: str):
        self.ms[option] = next(self.rounds[option])
        return super().step(option)

    def route(self, name: str, on: bool, layout: str):
        seconds = next(self.route_ms[name, on]) / 1e3
        return seconds, seconds * self.threads


def noisy(rounds: dict[str, list[float]], *, defaults: dict | None = None, **kw):
    clock = FakeClock()
    cal = measure(64, budget_s=0.0, bench=NoisyBench(clock, rounds, **kw), clock=clock)  # 2 timed rounds
    if defaults is not None:
        cal.defaults = defaults
    return cal


def steady(fp32_nchw, fp32_cl, bf16_nchw, bf16_cl) -> dict[str, list[float]]:
    # warm-up, then two timed rounds of the same time: no spread
    return {o: [ms] for o, ms in zip(OPTIONS, (fp32_nchw, fp32_cl, bf16_nchw, bf16_cl), strict=True)}


def test_layouts_within_their_rounds_noise_tie_and_the_flag_rules_layout_is_taken():
    rounds = steady(300, 290, 0, 0) | {"bf16/contiguous": [999, 170, 200], "bf16/channels_last": [999, 210, 175]}
    cal = noisy(rounds)
    assert cal.options["bf16/channels_last"]["spread"] == pytest.approx(0.2)
    assert cal.options["bf16/contiguous"]["ms_per_step"] < cal.options["bf16/channels_last"]["ms_per_step"]
    assert choose(cal) == ("bf16", "channels_last")  # 170 against 175 with 20 % noise: a tie, the flag rule's layout
    assert choose(cal, "bf16", "auto") == ("bf16", "channels_last")
    cal.defaults = {**DEFAULTS, "bf16": "contiguous"}  # the tie goes to the rule's layout, whichever it is
    assert choose(cal) == ("bf16", "contiguous")
    # rounds that agree: the faster layout wins as before, even where it is not the flag rule's
    quiet = noisy(steady(300, 290, 0, 0) | {"bf16/contiguous": [999, 170, 171], "bf16/channels_last": [999, 180, 180]})
    assert choose(quiet) == ("bf16", "contiguous")


def test_precisions_tie_only_beyond_bf16s_margin_and_then_the_flag_rules_precision_is_taken():
    noisy_rounds = steady(400, 0, 400, 0) | {"fp32/channels_last": [999, 100, 130],
                                             "bf16/channels_last": [999, 125, 95]}
    cal = noisy(noisy_rounds)  # bf16 5 % faster, rounds 30 % apart: the measurement cannot tell them apart
    assert choose(cal) == ("bf16", "channels_last")
    assert choose(noisy(noisy_rounds, defaults={**DEFAULTS, "precision": "fp32"})) == ("fp32", "channels_last")
    # a quiet machine's rounds agree: bf16 5 % faster is not worth its rounding, as before
    quiet = noisy(steady(400, 0, 400, 0) | {"fp32/channels_last": [999, 100, 101], "bf16/channels_last": [999, 95, 95]})
    assert choose(quiet) == ("fp32", "channels_last")
    # bf16 faster by more than the noise stays bf16
    assert choose(noisy(noisy_rounds | {"bf16/channels_last": [999, 50, 60]})) == ("bf16", "channels_last")


def test_a_kernel_routes_lead_within_its_rounds_noise_leaves_it_off():
    base = steady(300, 290, 250, 240)
    lead = {("onednn_linear", False): [100], ("onednn_linear", True): [80],
            ("pad_weight_grad", False): [100], ("pad_weight_grad", True): [100]}
    assert noisy(base, routes=lead).routes["onednn_linear"]["use"] is True  # 20 % faster, rounds agree
    noisy_lead = lead | {("onednn_linear", True): [80, 120, 80, 130]}  # 80 ms best, but its rounds 50-60 % apart
    routes = noisy(base, routes=noisy_lead).routes
    assert routes["onednn_linear"]["use"] is False and routes["onednn_linear"]["spread"] >= 0.5


def test_a_busy_hosts_record_is_marked_and_measured_again_on_a_quiet_host(monkeypatch):
    load = {"now": (10.0, 2)}
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: load["now"])
    calls = []

    def fake_measure(image_size, *, budget_s):
        calls.append(load["now"][0])
        return noisy(steady(300, 290, 181, 173))

    monkeypatch.setattr(cal_mod, "measure", fake_measure)
    busy = cal_mod.calibrate(64, announce=False)
    assert busy.under_load == ["load average 10.0 on 2 usable cores"] and busy.busy_streak == 1
    assert cal_mod.calibrate(64, announce=False) is busy and calls == [10.0]  # the next fold of this run: kept

    def next_run():
        monkeypatch.setattr(calibration_cache, "MEMO", {})
        return cal_mod.calibrate(64, announce=False)

    assert next_run().under_load and calls == [10.0]  # still busy: measuring again would be as noisy
    load["now"] = (0.8, 2)
    quiet = next_run()
    assert calls == [10.0, 0.8] and quiet.under_load == [] and quiet.busy_streak == 0
    assert next_run().measured_at == quiet.measured_at and calls == [10.0, 0.8]  # a quiet record stands


def test_a_host_that_is_busy_on_every_measurement_stops_being_measured_again(monkeypatch):
    # e.g. a CPU quota: the load average looks quiet, the process never gets its threads' CPU time
    calls = []

    def fake_measure(image_size, *, budget_s):
        calls.append(image_size)
        clock = FakeClock()
        bench = FakeBench(clock, dict(zip(OPTIONS, (300, 290, 181, 173), strict=True)),
                          cpu={o: 0.01 for o in OPTIONS})
        return measure(64, budget_s=0.0, bench=bench, clock=clock)

    monkeypatch.setattr(cal_mod, "measure", fake_measure)
    streaks = []
    for _ in range(calibrate_choice.MAX_BUSY_STREAK + 2):
        monkeypatch.setattr(calibration_cache, "MEMO", {})
        cal = cal_mod.calibrate(64, announce=False)
        streaks.append(cal.busy_streak)
    assert "of its threads' CPU time" in cal.under_load[0]
    assert streaks == [1, 2, 3, 3, 3] and len(calls) == calibrate_choice.MAX_BUSY_STREAK
    cal_mod.calibrate(64, force=True, announce=False)  # `mmnet info --calibrate` measures anyway
    assert len(calls) == calibrate_choice.MAX_BUSY_STREAK + 1


def test_rounds_that_disagree_over_a_tie_on_a_quiet_host_do_not_mark_the_record_for_measuring_again():
    # the tie goes to the flag rule's choice, which measuring again would not change: no busy mark, no re-measuring
    rounds = steady(300, 290, 0, 0) | {"bf16/contiguous": [999, 170, 200], "bf16/channels_last": [999, 210, 175]}
    cal = noisy(rounds)
    assert cal.under_load == [] and choose(cal) == ("bf16", "channels_last")
    assert not calibrate_choice.measure_again(cal)
    assert noisy(steady(300, 290, 181, 173)).under_load == []  # the Zen 4's quiet figures: settled


def test_the_load_average_counts_against_the_usable_cores(monkeypatch):
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (2.9, 2))
    assert calibrate_choice.busy_now() is None  # this process's own 2 threads and a little more
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (3.5, 2))
    assert calibrate_choice.busy_now() == "load average 3.5 on 2 usable cores"
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (3.5, 16))
    assert calibrate_choice.busy_now() is None


def test_info_says_a_record_was_measured_on_a_busy_host(monkeypatch, capsys):
    from mmnet.cli import main

    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (10.0, 2))
    monkeypatch.setattr(cal_mod, "measure", lambda image_size, *, budget_s: noisy(steady(300, 290, 181, 173)))
    assert main(["info", "--calibrate", "--image-size", "64"]) == 0
    out = capsys.readouterr().out
    assert "measured on a busy host (load average 10.0 on 2 usable cores): a run on a quiet host measures it" in out
    assert "(best of 2, rounds 0% apart;" in out


def test_a_busy_record_that_could_not_be_replaced_is_used_not_measured_on_every_run(monkeypatch):
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (10.0, 2))
    calls = []
    monkeypatch.setattr(cal_mod, "measure", lambda image_size, *, budget_s: calls.append(1) or noisy(steady(
        300, 290, 181, 173)))
    busy = cal_mod.calibrate(64, announce=False)
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (0.5, 2))
    monkeypatch.setattr(cal_mod, "not_keepable", lambda path: "its cache file is another user's")
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    assert cal_mod.calibrate(64, announce=False).measured_at == busy.measured_at and calls == [1]
