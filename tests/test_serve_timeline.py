"""The page's timeline shows both scales: the macro scale's curve and threshold beside the micro scale's (a macro
lost to a threshold a turn of the head raised showed no reason), on an axis cut at 3 times the higher threshold
with the peaks above it marked (one spike pressed the thresholds to the floor). Chromium driven by Playwright."""

import numpy as np
import pytest

pytest.importorskip("fastapi")

from mmnet.serve.spotting import check_spot_result, downsample_curve  # noqa: E402


def test_the_servers_curve_carries_the_macro_scales_motion_too(monkeypatch):
    import mmnet.serve.spotting as spotting
    from mmnet.spotting.scores import spot_scores

    monkeypatch.setattr(spotting, "_timeline_png", lambda result: b"")
    n = 300
    micro, macro = np.full(n, 0.1), np.full(n, 0.2)
    micro[100:112] += np.hanning(12) * 5
    macro[200:260] += np.hanning(60) * 3
    result = spot_scores({"micro": micro, "macro": macro}, fps=30.0)
    curve = spotting._result_json(result, {})["curve"]
    assert np.allclose(curve["score"], result.details["micro"]["smoothed"], equal_nan=True)
    assert np.allclose(curve["macro"], result.details["macro"]["smoothed"], equal_nan=True)
    assert len(curve["macro"]) == len(curve["frames"]) == n


def test_a_downsampled_curve_keeps_each_scales_peaks():
    macro = [0.0] * 10_000
    macro[4321] = 7.0
    curve = downsample_curve({"frames": list(range(10_000)), "score": [1.0] * 10_000, "macro": macro}, points=100)
    assert len(curve["macro"]) == len(curve["frames"]) == 100 and max(curve["macro"]) == 7.0


def test_a_macro_curve_of_another_length_is_refused():
    from mmnet.errors import MMNetError

    with pytest.raises(MMNetError, match="'macro'"):
        check_spot_result({"fps": 30.0, "frames": 3, "intervals": [],
                           "curve": {"frames": [0, 1, 2], "score": [1.0, 2.0, 3.0], "macro": [1.0]}})


def test_the_page_draws_both_scales_on_an_axis_cut_above_the_thresholds(tmp_path):
    from tests.browser_helpers import launch_chromium, playwright_or_skip

    pytest.importorskip("uvicorn")
    pytest.importorskip("av")
    sync_api = playwright_or_skip()
    from mmnet.infer import Predictor
    from mmnet.serve import ServeSettings, create_app
    from tests.serve_helpers import LiveServer, fake_spotter, make_checkpoint, mp4_bytes, synth_frames

    inner = fake_spotter()

    def spot(path, **kwargs):
        out = inner(path, **kwargs)
        score = list(out["curve"]["score"])
        score[10] = 32.0  # a hand across the face: one spike 30 times the threshold
        macro = [0.5 + 0.1 * (f % 5) for f in out["curve"]["frames"]]
        return {**out, "curve": {**out["curve"], "score": score, "macro": macro},
                "thresholds": {"micro": 1.0, "macro": 1.5}}

    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path / "model"))
    recording = tmp_path / "face.mp4"
    recording.write_bytes(mp4_bytes(synth_frames(n=30, apex=18, size=(96, 112), seed=2)))
    with LiveServer(create_app(predictor, settings=ServeSettings(), spotter=spot)) as live:
        with sync_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1100, "height": 1200})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.url + "/")
            sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
            page.check("input[name=mode][value=recording]")
            page.set_input_files("#file", str(recording))
            page.wait_for_selector("#timeline rect.interval", timeout=60_000)
            assert page.locator("#timeline path.curve.micro").count() == 1
            assert page.locator("#timeline path.curve.macro").count() == 1
            floor = 190 - 30  # the plot's bottom (charts.js: H - bottom)
            lines = {s: float(page.get_attribute(f"#timeline line.threshold.{s}", "y1")) for s in ("micro", "macro")}
            # the axis reaches 4.5 (3 x 1.5), not 32: the micro threshold is a fifth of the plot above the floor
            assert lines["macro"] < lines["micro"] < floor - 25, lines
            (tip,) = page.locator("#timeline path.clipped.micro title").all_text_contents()
            assert tip == "Frame 10: micro motion 32, above the axis (cut at 4.5)"
            label = page.get_attribute("#timeline", "aria-label")
            assert "micro threshold 1, macro threshold 1.5" in label and "the axis is cut at 4.5" in label, label
            assert "highest 32" in label and "macro-expression motion (blue dash-dotted line)" in label
            # told apart by more than colour: the macro scale's curve dash-dotted, the micro one's solid
            assert page.get_attribute("#timeline path.curve.macro", "stroke-dasharray") == "8 3 2 3"
            assert page.get_attribute("#timeline path.curve.micro", "stroke-dasharray") == "none"
            legend = page.inner_text("#legend")
            assert "macro-expression motion" in legend and "threshold of a macro-expression's motion" in legend
            assert "▲ a peak above the axis" in legend
            browser.close()
        assert errors == [], errors
