"""Fonts for the report's figures: DejaVu Sans (matplotlib's own), then an installed font with the glyphs it lacks.

DejaVu Sans has no Chinese, Japanese or Korean characters: a subject named 张三 was drawn as empty boxes. matplotlib
(3.6 and later) draws each character in the first font of ``font.family`` that has it, so an installed CJK font is
listed after DejaVu Sans; where none has them, the report says so (its tables carry the names in full). The
other figures (``mmnet explain``'s, ``mmnet spot``'s timeline, those ``mmnet serve`` draws) take the same fonts
(``fitted_fonts``) and log the same note once.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["BASE_FAMILY", "FALLBACK_FAMILIES", "GLYPH_WARNING", "figure_fonts", "figure_texts", "fitted_fonts",
           "missing_glyphs_note"]

BASE_FAMILY = "DejaVu Sans"
# fonts with CJK glyphs, in the order tried: Linux packages first (fonts-noto-cjk, fonts-wqy-*, fonts-droid-fallback),
# then those of macOS and Windows
FALLBACK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
                     "Source Han Sans SC", "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                     "Droid Sans Fallback", "Noto Sans SC", "Noto Sans JP", "Noto Sans KR", "PingFang SC",
                     "Hiragino Sans", "Apple SD Gothic Neo", "Microsoft YaHei", "SimHei", "Yu Gothic", "Meiryo",
                     "MS Gothic", "Malgun Gothic", "Arial Unicode MS")
#: matplotlib's warning for each character no font of a text has: the note says it once instead
GLYPH_WARNING = r"Glyph \d+ .*missing from font"

log = logging.getLogger("mmnet.figures")
_noted: set[str] = set()  # the figures whose note was logged: once a process (a server draws many)
_filter_lock = threading.Lock()


def _installed() -> dict[str, str]:
    """Family name -> the file of one of its fonts, for every font matplotlib knows."""
    from matplotlib import font_manager

    return {f.name: f.fname for f in font_manager.fontManager.ttflist}


@lru_cache(maxsize=64)
def _characters(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (none when it cannot be read)."""
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def figure_texts(report: dict) -> list[str]:
    """The names the figures draw: subjects (with their dataset) and classes."""
    rows = [r for entry in report["seeds"].values() for r in entry["last"]["per_subject"]]
    return list(dict.fromkeys([*report["classes"], *report["datasets"], *(str(r["subject"]) for r in rows)]))


def figure_fonts(texts: Iterable[str]) -> tuple[list[str], list[str]]:
    """(``font.family`` for the figures, the texts with a character that no font in it draws).

    The family is DejaVu Sans, then each installed fallback font that draws a character of ``texts`` that those
    before it do not; only fonts that are needed are added, so that figures of Latin names stay as they were."""
    texts = list(texts)
    installed = _installed()
    left = {ord(c) for t in texts for c in t if not c.isascii() and not c.isspace()}
    if left and BASE_FAMILY in installed:
        left -= _characters(installed[BASE_FAMILY])
    family = [BASE_FAMILY]
    for name in FALLBACK_FAMILIES:
        if left and name in installed and (drawn := left & _characters(installed[name])):
            family.append(name)
            left -= drawn
    return family, [t for t in texts if any(ord(c) in left for c in t)]


def missing_glyphs_note(undrawable: list[str], *, figures: str = "the figures",
                        kept: str = "The tables above carry the names in full. ",
                        again: str = "run `mmnet report` again") -> str | None:
    """The note on names the installed fonts cannot draw, or None when every name can be: the report's by default;
    ``figures`` names the figures, ``kept`` says where the names are written in full and ``again`` what to run."""
    if not undrawable:
        return None
    shown = ", ".join(undrawable[:5]) + (", ..." if len(undrawable) > 5 else "")
    return (f"In {figures}, some characters of {len(undrawable)} name(s) ({shown}) are drawn as empty boxes: no "
            f"installed font has their glyphs. {kept}To draw them, install a font with "
            "these characters (e.g. `sudo apt install fonts-noto-cjk`, or Noto Sans CJK from "
            "https://fonts.google.com/noto), remove matplotlib's font cache (~/.cache/matplotlib by default, where "
            f"it has not seen the new font yet) and {again}.")


@contextmanager
def fitted_fonts(fig, figures: str, again: str) -> Iterator[None]:
    """Draws the texts of the matplotlib Figure ``fig`` in the fonts that have their characters (``figure_fonts``)
    while it is saved in the block. Where no installed font has some, matplotlib's warning per character is left
    out, and ``missing_glyphs_note`` (``figures``, ``again``: its words) is logged on ``mmnet.figures`` once a
    process: on stderr for a command, in the log of ``mmnet serve``."""
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if t.get_text()]
    # the words, not whole captions: the note names what is boxed, a file or class name
    family, undrawable = figure_fonts(dict.fromkeys(w for t in texts for w in t.get_text().split()))
    if len(family) > 1:  # only where needed: figures of Latin names stay as they were
        for text in texts:
            text.set_fontfamily(family)
    if undrawable:
        _ignore_glyph_warnings()
    yield
    if undrawable and figures not in _noted:
        _noted.add(figures)
        log.warning(missing_glyphs_note(undrawable, figures=figures, kept="", again=again))


def _ignore_glyph_warnings() -> None:
    """Leaves matplotlib's glyph warnings out for the rest of the process, where the note says it once instead. Not
    ``warnings.catch_warnings()`` around the drawing: that saves and restores the whole filter list, so two figures
    drawn at once (``mmnet serve`` draws in a thread pool) restored each other's and the warnings came back."""
    with _filter_lock:
        if not any(f[0] == "ignore" and f[1] is not None and f[1].pattern == GLYPH_WARNING for f in warnings.filters):
            warnings.filterwarnings("ignore", GLYPH_WARNING, UserWarning)
