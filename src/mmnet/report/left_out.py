"""The samples a run left out on purpose, told apart from those left out for a problem of the data: skipped.csv's
reason for a label the class scheme does not use (mmnet.data.usage.scheme_left_out writes it, e.g. "label 'fear'
is not used by scheme casme2-5class"), counted per label for report.md and report.json."""

from __future__ import annotations

import ast

from ..data.usage import SCHEME_LEFT_OUT

__all__ = ["scheme_exclusions", "exclusions_text"]


def scheme_exclusions(rows) -> tuple[list[tuple[str, str]], dict]:
    """skipped.csv's (sample id, reason) rows: those left out for a problem, in order, and those the scheme leaves
    out, ``{"scheme": name, "what": "label", "counts": {label: n}}`` (most first), {} when none."""
    problems, counts, scheme, what = [], {}, None, None
    for sample_id, reason in rows:
        m = SCHEME_LEFT_OUT.fullmatch(str(reason))
        if m is None:
            problems.append((sample_id, reason))
            continue
        value = ast.literal_eval(m["value"])
        counts[value] = counts.get(value, 0) + 1
        scheme, what = m["scheme"], m["what"]
    if not counts:
        return problems, {}
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return problems, {"scheme": scheme, "what": what, "counts": ordered}


def exclusions_text(excluded: dict) -> str:
    """'3 left out by scheme casme2-5class, which does not use their label (fear 2, sadness 1)', or ''."""
    if not excluded:
        return ""
    n = sum(excluded["counts"].values())
    listed = ", ".join(f"{value} {count}" for value, count in excluded["counts"].items())
    return f"{n} left out by scheme {excluded['scheme']}, which does not use their {excluded['what']} ({listed})"
