"""A contact sheet of a synthetic set: per class, the onset, the apex and their amplified difference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetNotFoundError
from ..shell_words import shell_quote
from .dataset import CLASS_MIX, CODING_FILE, ClipAnnotation

__all__ = ["read_annotations", "contact_sheet"]


def read_annotations(root: str | Path) -> list[ClipAnnotation]:
    """Read back the coding file of a synthetic set (only the columns this generator writes)."""
    from openpyxl import load_workbook

    path = Path(root) / CODING_FILE
    if not path.is_file():
        raise DatasetNotFoundError(f"'{path}' does not exist; write a synthetic set first: "
                                   f"mmnet synth {shell_quote(root)}")
    ws = load_workbook(path, read_only=True)["Sheet1"]
    rows = []
    for values in ws.iter_rows(min_row=2, values_only=True):
        subject, clip, _, onset, apex, offset, _, aus, label = values[:9]
        rows.append(ClipAnnotation(str(subject), str(clip), int(onset), int(apex), int(offset), str(aus), str(label)))
    return rows


def contact_sheet(
    root: str | Path, out_png: str | Path, *, gain: float = 8.0, per_class: int = 1, scale: float = 1.0
) -> Path:
    """Draw onset | apex | (apex - onset) x gain for the first ``per_class`` clips of each class.

    The difference is shown signed around mid-grey, so the direction of the motion stays visible.
    ``scale`` shrinks the tiles (after taking the difference), e.g. 0.6 for a smaller file.
    """
    from PIL import Image, ImageDraw

    def read_rgb(path: Path) -> np.ndarray:
        if not path.is_file():
            raise DatasetNotFoundError(f"Frame '{path}' listed in {CODING_FILE} does not exist.")
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    root = Path(root)
    rows = read_annotations(root)
    # Class i is shown on subject i (when it has such clips), so the sheet also shows different faces.
    subjects = sorted({r.subject for r in rows})
    picked = []
    for i, c in enumerate(CLASS_MIX):
        of_class = sorted((r for r in rows if r.label == c), key=lambda r: r.subject != subjects[i % len(subjects)])
        picked += of_class[:per_class]
    tiles = []
    for r in picked:
        folder = root / "Cropped" / f"sub{r.subject}" / r.clip
        onset = read_rgb(folder / f"reg_img{r.onset}.jpg").astype(np.float32)
        apex = read_rgb(folder / f"reg_img{r.apex}.jpg").astype(np.float32)
        diff = np.clip(128 + gain * (apex - onset).mean(axis=-1, keepdims=True), 0, 255).repeat(3, axis=-1)
        images = [Image.fromarray(x.astype(np.uint8)) for x in (onset, apex, diff)]
        if scale != 1.0:
            size = (round(images[0].width * scale), round(images[0].height * scale))
            images = [im.resize(size, Image.BILINEAR) for im in images]
        tiles.append((r, images))
    if not tiles:
        raise DatasetNotFoundError(f"'{root / CODING_FILE}' lists no clips")
    w, h = tiles[0][1][0].size
    label_h, pad = 28, 4
    sheet = Image.new("RGB", (3 * w + 4 * pad, len(tiles) * (h + label_h + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (r, images) in enumerate(tiles):
        y = pad + i * (h + label_h + pad)
        names = (f"onset #{r.onset}", f"apex #{r.apex}", f"difference x{gain:g}")
        for j, (image, name) in enumerate(zip(images, names)):
            x = pad + j * (w + pad)
            sheet.paste(image, (x, y + label_h))
            draw.text((x + 2, y + 2), f"{r.label} (AU {r.aus})" if j == 0 else name, fill=(0, 0, 0))
            if j == 0:
                draw.text((x + 2, y + 14), f"sub{r.subject}/{r.clip}, {name}", fill=(0, 0, 0))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png)
    return out_png
