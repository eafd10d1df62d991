"""CSV text as spreadsheet programs in any locale save it: its separator, and what to say when it is not UTF-8.

Excel saves "CSV" with ';' (or tabs) where the decimal separator is a comma (German, French, ...), and in the
Windows code page of the locale (cp1252, GBK, Shift-JIS) unless "CSV UTF-8" is chosen.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

from .case_keys import fold_case

__all__ = ["SEPARATORS", "SAVE_AS_CSV_UTF8", "NotUtf8Error", "csv_delimiter", "csv_dict_reader", "csv_error_detail",
           "declared_separator", "normalise_header", "not_utf8_detail", "read_utf8", "utf16_bom"]

SEPARATORS = (",", ";", "\t")

#: How to fix a CSV in another encoding, for the end of an error message.
SAVE_AS_CSV_UTF8 = "save it as 'CSV UTF-8' (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')"

_BOM = b"\xef\xbb\xbf"


def normalise_header(name: object) -> str:
    """'Onset Frame' / 'OnsetFrame' / ' onset_frame ' -> 'onsetframe' (column lookup key)."""
    return fold_case(re.sub(r"[\s_\-]+", "", str(name or "")))


def _header_cells_found(lines: list[str], separator: str, keys: set[str]) -> int:
    """The most of ``keys`` that one line of ``lines``, split by ``separator``, holds as cells."""
    try:
        return max((len(keys & {normalise_header(c) for c in row}) for row in csv.reader(lines, delimiter=separator)),
                   default=0)
    except csv.Error:  # a field over csv's size limit: not this separator's table
        return 0


def csv_delimiter(text: str, header: Iterable[str] = ()) -> str:
    """The separator of a CSV file, from its first lines: ',', ';' or tab.

    With ``header`` (column names the table is read by, compared as ``normalise_header``): the separator that splits
    some line into the most of those names (a title row may stand above the header). Counting alone fails a ';' file
    whose free-text cells hold more commas than the lines hold separators. Without ``header``, or when no separator
    finds one of them: the separator written most often (',' on a tie, and when none is). An Excel 'sep=;' first
    line says it outright (``declared_separator``)."""
    declared = declared_separator(text)
    if declared:
        return declared
    keys = {normalise_header(h) for h in header}
    candidates = SEPARATORS
    if keys:
        lines = text.splitlines()
        found = {s: _header_cells_found(lines, s, keys) for s in SEPARATORS}
        best = max(found.values())
        candidates = tuple(s for s in SEPARATORS if found[s] == best) if best else SEPARATORS
    return max(candidates, key=text.count)


# Encodings Excel writes a plain "CSV" in, per locale, and the characters text in each is mostly made of
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff5e"
_LEGACY = (
    ("gb18030", "GB18030/GBK (Chinese Windows)", re.compile(f"[{_CJK}]")),
    ("cp932", "Shift-JIS (Japanese Windows)", re.compile(f"[{_CJK}\u3040-\u30ff]")),
)


def _plausible(text: str, script: re.Pattern) -> bool:
    others = re.findall(r"[^\x00-\x7f]", text)
    return bool(others) and sum(bool(script.match(c)) for c in others) >= 0.8 * len(others)


def _western(raw: bytes) -> bool:
    """cp1252 decodes nearly any bytes; Western European text has its accented letters mostly alone between ASCII
    ones ('Müller'), where a double-byte encoding's text decodes to runs ('ÕÅÈý' for GBK's 张三)."""
    try:
        runs = [len(r) for r in re.findall(r"[^\x00-\x7f]+", raw.decode("cp1252"))]
    except UnicodeDecodeError:
        return False
    return bool(runs) and runs.count(1) >= 0.8 * len(runs)


def _likely_encodings(raw: bytes) -> list[str]:
    if _western(raw):  # lone bytes over 127: never GBK's Chinese (two such bytes each), seldom Shift-JIS's
        return ["Windows-1252/Latin-1 (Western European Windows)"]
    names = []
    for codec, name, script in _LEGACY:
        try:
            if _plausible(raw.decode(codec), script):
                names.append(name)
        except UnicodeDecodeError:
            pass
    return names


def not_utf8_detail(raw: bytes, exc: UnicodeDecodeError) -> str:
    """'line 3, byte 57; possibly Shift-JIS (Japanese Windows)': where the first byte that is not UTF-8 is in ``raw``
    (the file's bytes, a UTF-8 BOM included, ``exc`` from decoding them after it), and a guess at the encoding."""
    start = exc.start + (len(_BOM) if raw.startswith(_BOM) else 0)
    # lines end in \r\n (Windows), \n or a lone \r (a classic Mac export, as Excel for Mac's "CSV (Macintosh)")
    line = len(re.findall(rb"\r\n|\r|\n", raw[:start])) + 1
    names = _likely_encodings(raw)
    if re.search(rb"\r(?!\n)", raw) and not re.search(rb"(?<!\r)\n", raw):  # lone CRs: Mac OS Roman's line ends
        names = ["Mac OS Roman (classic Mac, Excel for Mac's 'CSV (Macintosh)')", *names]
    guess = f"possibly {' or '.join(names)}" if names else "an encoding other than UTF-8"
    return f"line {line}, byte {start}; {guess}"


class NotUtf8Error(ValueError):
    """A file that is not UTF-8 text; ``detail`` as ``not_utf8_detail`` gives it, for the caller's message."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def utf16_bom(head: bytes) -> bool:
    """Whether a file's first bytes are a UTF-16 byte order mark: Excel's "Unicode Text", or an ELAN or other export
    saved as UTF-16."""
    return head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and not head.startswith(codecs.BOM_UTF32_LE)


def read_utf8(path: Path) -> str:
    """The text of a UTF-8 file, with or without a BOM (newlines as written), or of UTF-16 text that starts with
    its BOM (``utf16_bom``: what it is cannot be mistaken); NotUtf8Error for another encoding, UTF-16 without a
    BOM among them, OSError as reading raises it."""
    raw = Path(path).read_bytes()
    if utf16_bom(raw):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotUtf8Error(f"UTF-16 by its byte order mark, but byte {exc.start + 2} does not decode as "
                               "UTF-16") from None
    try:
        text = raw.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8Error(not_utf8_detail(raw, exc)) from None
    if "\x00" in text:  # valid UTF-8, but no text: UTF-16 without its BOM, or a binary file
        start = raw.index(b"\x00")
        line = raw[:start].count(b"\n") + 1
        raise NotUtf8Error(f"line {line}, byte {start}: a NUL byte, as UTF-16 text without a byte order mark or a "
                           "binary file holds")
    return text


def csv_error_detail(exc: csv.Error, after: int) -> str:
    """What the csv module's error ``exc`` means, for the caller's message; ``after``: the last line of the last row
    read whole (a ``DictReader``'s ``line_num``; 0 before any). A cell past csv's size limit is, in a table of short
    cells, a quote never closed: the reader ran on to the end of the file or the limit."""
    if "field larger than field limit" in str(exc):
        return (f"a cell runs past {csv.field_size_limit()} characters ({exc}): most likely a quote (\") in the rows "
                f"after line {after} is never closed, which makes the rest of the file one cell; close the quote or "
                "remove it")
    return f"after line {after}: {exc}"


# Excel's first line naming the separator ('sep=;'), which Excel itself reads and hides, and which other programs
# write for it: quoted, or followed by empty cells when a spreadsheet saved it again
_SEP_LINE = re.compile(r'\ufeff?"?sep=([,;\t|])"?[,;\t|]*[ \t]*(\r\n|\n|\r|$)', re.IGNORECASE)


def declared_separator(text: str) -> str | None:
    """The separator an Excel 'sep=;' first line of ``text`` declares, None without such a line."""
    found = _SEP_LINE.match(text)
    return found.group(1) if found else None


def csv_dict_reader(text: str, columns: Iterable[str]) -> csv.DictReader:
    """A DictReader over CSV ``text`` whose first line is its header, separated by what splits that line into the
    most of ``columns`` (``csv_delimiter``). An Excel 'sep=;' line above the header gives the separator and is
    skipped; the reader's ``line_num`` still counts it, so a row's line is the file's."""
    declared = declared_separator(text)
    separator = declared or csv_delimiter(text.partition("\n")[0], columns)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    if declared:
        next(reader.reader)
    return reader
