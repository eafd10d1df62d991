"""Synthetic annotation workbooks saved byte for byte the same for the same seed.

openpyxl stamps ``docProps/core.xml`` with the time of saving (``dcterms:modified``, whatever the workbook's
``properties.modified`` says) and :mod:`zipfile` stamps every entry with the clock, so two runs of
``mmnet synth`` gave annotation files with different sha256, while run folders record that digest to tell data
sets apart. The saved archive is rewritten with one fixed time in both places.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from pathlib import Path

__all__ = ["save_workbook"]

_CORE = "docProps/core.xml"
_MODIFIED = re.compile(r"(<dcterms:modified\b[^>]*>)[^<]*(</dcterms:modified>)")


def save_workbook(wb, path: str | Path, when: datetime.datetime) -> None:
    """Save an openpyxl workbook to ``path`` with ``when`` as its created and modified time and as every zip
    entry's date, so that the same content gives the same bytes."""
    wb.properties.created = wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == _CORE:
                text, n = _MODIFIED.subn(lambda m: m.group(1) + stamp + m.group(2), data.decode("utf-8"))
                if n != 1:  # another openpyxl: better to say so than to write a file that differs run to run
                    raise RuntimeError(f"{_CORE} of the saved workbook has {n} dcterms:modified elements, not 1")
                data = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type, entry.external_attr, entry.create_system = info.compress_type, info.external_attr, 3
            dst.writestr(entry, data)
    Path(path).write_bytes(out.getvalue())
