"""What MMNet gives a class is a score (an uncalibrated softmax output), and every text a person reads calls it so:
the `mmnet explain` figure's title and heading, its printed line, `mmnet spot`'s table; the JSON keeps its keys."""

from types import SimpleNamespace

from matplotlib.figure import Figure

from mmnet.cli import main
from mmnet.commands.spot_table import format_text
from mmnet.infer import Predictor, explain_clip, load_clip
from mmnet.infer.explain import draw_explanation
from mmnet.spotting.intervals import Interval

from .test_inference import make_checkpoint, synthetic_clip, write_frames

MAKE_CHECKPOINT = make_checkpoint  # conftest's checkpoint fixture: 64-pixel faces, trained-like statistics


def test_the_explain_figure_and_its_printed_line_call_the_class_output_a_score(checkpoint, tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    e = explain_clip(Predictor.from_checkpoint(checkpoint), load_clip(clip))
    fig = Figure()
    draw_explanation(fig, e)
    title = fig.get_suptitle()
    assert title.endswith(f"predicted {e.label} (score {e.probabilities[e.label]:.2f})")
    heading = " ".join(fig.subfigs[0].get_suptitle().split())  # the Grad-CAM deletion check
    assert f"lowers the score of {e.target_class} by" in heading
    for text in (title, heading):
        assert "probab" not in text.lower() and "p(" not in text
    assert main(["explain", "--checkpoint", str(checkpoint), str(clip), "--out", str(tmp_path / "f.png"),
                 "--dpi", "30"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f": {e.label} (score {e.probabilities[e.label]:.3f}), onset" in first and "p =" not in first


def test_the_spot_table_calls_the_class_output_a_score():
    result = SimpleNamespace(source="rec.mp4", fps=30.0, frames=300, gaps=[], curves=None,
                             intervals=[Interval(144, 144, 152, "micro", score=0.257, label="disgust",
                                                 probabilities={"disgust": 0.8667, "others": 0.1333})])
    text = format_text(result)
    assert text.splitlines()[2].split()[-2:] == ["disgust", "0.87"]
    assert "class: MMNet's class of a micro-expression and its score (an uncalibrated softmax output)" in text
    assert "probab" not in text.lower()
