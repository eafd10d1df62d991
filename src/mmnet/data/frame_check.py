"""Frames that exist but cannot be used: empty, not an image, truncated, of another size than the
rest of their clip, or two files for one frame number.

``frame_issues`` is the one check `mmnet check-data` and `mmnet train` run (through
``mmnet.data.usage``'s rule: an error makes the sample a problem). It is quick by default: the
header and size of each frame are read with PIL's ``Image.open`` (no decode), and the end of a
JPEG or PNG file is checked for its end marker (a truncated copy has none). ``deep=True`` decodes
every frame fully (what building the frame cache does anyway).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..images import pixels_refused
from .sample import Issue, Sample

__all__ = ["probe_frame", "frame_issues", "check_frame_files", "frame_errors_line"]

_JPEG_END = b"\xff\xd9"
_PNG_END = b"IEND\xaeB`\x82"


def probe_frame(path: Path, *, deep: bool = False) -> tuple[tuple[int, int] | None, str | None]:
    """(width, height) of an image file, or None and what is wrong with it."""
    from PIL import Image, UnidentifiedImageError

    try:
        size = path.stat().st_size
        if size == 0:
            return None, "is empty (0 bytes)"
        with Image.open(path) as im:
            dims, fmt = im.size, im.format
            if deep:
                im.load()
        if fmt in ("JPEG", "PNG"):
            with open(path, "rb") as f:
                f.seek(max(0, size - 64))
                tail = f.read()
            if (_JPEG_END if fmt == "JPEG" else _PNG_END) not in tail:
                return None, f"is truncated (no {fmt} end marker)"
        return dims, None
    except UnidentifiedImageError:
        return None, "is not an image (text or damaged data under an image name)"
    except Image.DecompressionBombError as exc:
        return None, f"{pixels_refused(exc)}: crop it to the face or resize it"
    except (OSError, ValueError, SyntaxError) as exc:
        return None, f"cannot be decoded ({exc})"


def check_frame_files(load, scheme, *, deep: bool = False) -> None:
    """Add ``frame_issues`` of every sample the scheme would use to ``load.issues``."""
    for s in load.samples:
        if scheme.class_of(s) is not None:
            load.issues.extend(frame_issues(s, deep=deep))


def frame_issues(sample: Sample, *, deep: bool = False) -> list[Issue]:
    """Problems of a sample's frame files (see the module docstring); errors make the sample unusable."""
    out: list[Issue] = []
    sid = sample.sample_id
    sizes: dict[int, tuple[int, int]] = {}
    for n, path in sample.frames:
        dims, problem = probe_frame(path, deep=deep)
        if problem:
            out.append(Issue(sid, "frame_unreadable", f"frame {n} '{path.name}' {problem}; replace or re-extract it",
                             "error"))
        else:
            sizes[n] = dims
    if len(set(sizes.values())) > 1:
        common, _ = Counter(sizes.values()).most_common(1)[0]
        odd = {n: d for n, d in sizes.items() if d != common}
        shown = ", ".join(f"{n} ({w}x{h})" for n, (w, h) in list(odd.items())[:5]) + (" ..." if len(odd) > 5 else "")
        out.append(Issue(sid, "frame_size", f"{len(odd)} frame(s) differ in size from the clip's "
                         f"{common[0]}x{common[1]}: {shown}; they would be stretched. Re-extract them", "error"))
    return out


def frame_errors_line(errors: list[Issue], skipped_csv: Path, limit: int = 3) -> str:
    """``check_frame_files``'s errors in one warning: the first ``limit`` (sample, file), and where all are listed."""
    shown = "; ".join(f"{i.sample_id}: {i.message}" for i in errors[:limit])
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return (f"{len(errors)} frame file error(s), each leaving its sample unusable: {shown}{more}. `mmnet check-data` "
            f"lists every problem; with data.on_bad_sample=skip the samples left out are in {skipped_csv}")
