"""`mmnet explain --cmap NAME` draws the attention maps (Grad-CAM, CA stages) in that colour map, viridis by default,
and records it in the PNG."""

from __future__ import annotations

from matplotlib.axes import Axes
from PIL import Image

from mmnet.cli import main

from .test_inference import synthetic_clip, write_frames


def _explain(checkpoint, clip, out, monkeypatch, *cmap: str) -> tuple[str, list[str]]:
    """The colour map the PNG records, and those of the maps drawn in colour (frames and motion are grey)."""
    drawn, imshow = [], Axes.imshow

    def record(self, image, *args, **kw):
        drawn.append(kw.get("cmap"))
        return imshow(self, image, *args, **kw)

    args = ["explain", "--checkpoint", str(checkpoint), str(clip), "--apex", "4", "--out", str(out), "--dpi", "30"]
    with monkeypatch.context() as patch:
        patch.setattr(Axes, "imshow", record)
        assert main([*args, *cmap]) == 0
    with Image.open(out) as im:
        recorded = im.text["mmnet.colour_map"]
    return recorded, [c if isinstance(c, str) or c is None else c.name for c in drawn if c not in (None, "gray")]


def test_the_colour_map_given_is_drawn_and_recorded(checkpoint, tmp_path, monkeypatch, capsys):
    write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    default = _explain(checkpoint, tmp_path / "clip", tmp_path / "default.png", monkeypatch)
    magma = _explain(checkpoint, tmp_path / "clip", tmp_path / "magma.png", monkeypatch, "--cmap", "magma")
    assert default[0] == "viridis" and len(default[1]) >= 5 and set(default[1]) == {"viridis"}  # Grad-CAM, 4 stages
    assert magma[0] == "magma" and len(magma[1]) == len(default[1]) and set(magma[1]) == {"magma"}
