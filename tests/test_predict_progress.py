"""`mmnet predict` over many clips into a pipe or a file: plain progress lines on stderr while the list is worked
through (the results come at the end on stdout), none with --no-progress; a stop before any clip finished says
that nothing was printed."""

import pytest

from mmnet.cli import main
from mmnet.errors import Terminated


def test_count_lines_say_the_clips_done_and_the_time_left(capsys, monkeypatch):
    import mmnet.progress as progress
    from mmnet.progress import CountProgress

    clock = iter(range(0, 1000, 10))  # 10 s between readings of the clock
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    counted = CountProgress(20)
    for done in (1, 3, 4, 5, 20):
        counted.reached(done)
    counted.close()
    assert capsys.readouterr().err.splitlines() == [
        "classified 3/20 clips, 10 s so far, about 57 s left",  # the first line once 10 % are done
        "classified 4/20 clips, 20 s so far, about 1m20s left",
        "classified 20/20 clips, 30 s so far",
    ]
    quiet = CountProgress(20, progress=False)
    quiet.reached(20)
    one = CountProgress(1)  # one clip: its answer is the progress
    one.reached(1)
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    pytest.importorskip("av")
    from tests.serve_helpers import make_checkpoint, mp4_bytes, synth_frames

    root = tmp_path_factory.mktemp("predict-progress")
    video = mp4_bytes(synth_frames())
    paths = []
    for i in range(3):
        (root / f"c{i}.mp4").write_bytes(video)
        paths.append(str(root / f"c{i}.mp4"))
    return str(make_checkpoint(root / "model")), paths


def test_a_list_of_clips_says_its_progress_on_stderr_unless_told_not_to(clips, capsys):
    checkpoint, paths = clips
    assert main(["predict", "--checkpoint", checkpoint, *paths, "--batch-size", "1"]) == 0
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("classified ")]
    assert [line.split(",")[0] for line in lines] == ["classified 1/3 clips", "classified 2/3 clips",
                                                      "classified 3/3 clips"], err
    assert "left" in lines[0] and "left" not in lines[-1] and "classified" not in out
    assert main(["predict", "--checkpoint", checkpoint, *paths, "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "classified " not in err and "c2.mp4" in out


@pytest.mark.parametrize("stop,line", [(KeyboardInterrupt, "interrupted: "), (Terminated, "stopped (SIGTERM): ")])
@pytest.mark.parametrize("many", [True, False])
def test_a_stop_before_any_clip_finished_does_not_point_above(clips, capsys, monkeypatch, stop, line, many):
    from mmnet.infer import Predictor

    def stopped(self, requests, **kwargs):
        exc = stop()
        exc.partial = []
        raise exc

    monkeypatch.setattr(Predictor, "predict_clips", stopped)
    checkpoint, paths = clips
    assert main(["predict", "--checkpoint", checkpoint, *(paths if many else paths[:1])]) in (130, 143)
    out, err = capsys.readouterr()
    assert out == "" and "printed above" not in err
    assert f"{line}no clip was classified before it, so none is printed; a rerun classifies the " \
           f"{'list' if many else 'clip'}\n" in err


def test_every_public_name_of_progress_is_exported():
    import inspect

    import mmnet.progress as progress

    public = {name for name, obj in vars(progress).items() if not name.startswith("_")
              and (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == progress.__name__}
    assert public <= set(progress.__all__)
