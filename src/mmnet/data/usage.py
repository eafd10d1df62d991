"""Which annotated samples training uses, and why each other one is left out.

One rule for `mmnet check-data` and `mmnet train` (``train/prepare.py``), so that check-data's
"N of M samples used for training" is what training does:

- a label the scheme leaves out on purpose (e.g. 'fear' in casme2-5class): left out, listed;
- a blank label, or one the scheme does not know (a typo): a problem; when no sample has one, the
  source is missing (a coding file without the column, a labels file not in the root): one problem
  saying which file to add, its samples left out with that reason;
- a sample with any error-severity issue (apex unknown, onset after apex, apex outside
  onset..offset, a duplicate row with another label, no usable frames ...): a problem, except an
  onset/apex frame missing on disk under ``data.on_bad_sample=nearest`` (the nearest frame is used),
  unless onset and apex then fall on one frame (no motion left: a problem nearest cannot fix);
- a table row that did not become a sample (no subject, no onset, an over-long cell): a problem;
- a sample the protocol's list does not name (the composite's part samples not in combined_3class_gt.csv): left
  out, listed.

Problems stop training under ``on_bad_sample`` "error" and "nearest", naming every one; with
"skip" they are left out. Everything left out goes to the run's skipped.csv with its reason.
Frames that turn out undecodable when the cache is built are handled later, by the same option.
Skipping never changes the classes trained: when it leaves a class of the scheme without a sample, or fewer
than two classes, training stops naming the class and its samples left out (``classes_left``); nor the datasets of a
composite: one whose every listed sample has a problem stops training too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from .cache import UnusableSample, frame_windows
from .common import DatasetLoad
from .label_maps import TABLE_SCHEME, is_label_map
from .sample import Sample
from .schemes import LabelScheme

__all__ = ["Usage", "plan_usage", "describe_problems", "describe_samples", "compact_reason", "classes_left",
           "emptied_classes", "scheme_left_out", "SCHEME_LEFT_OUT", "NEAREST_FIXES"]

#: Issues that ``data.on_bad_sample=nearest`` resolves (the nearest frame on disk is used).
NEAREST_FIXES = frozenset({"onset_not_on_disk", "apex_not_on_disk"})
#: Why the problems left under ``nearest`` stop training (check-data and training say it alike).
NEAREST_CANNOT = ("data.on_bad_sample=nearest cannot fix them (it only replaces an onset or apex frame missing on "
                  "disk, and not when onset and apex then fall on one frame)")

#: Where a scheme's field comes from when a dataset's copy can lack it altogether, by (dataset, scheme field).
_SOURCES = {
    ("casme2", "objective_class"): "this coding file has no Objective Classes column; add "
                                   "CASME2-ObjectiveClasses.xlsx to the root",
    ("samm-long", "label"): "no micro-expression has a label: put SAMM_Micro_FACS_Codes_v2.xlsx in the root "
                            "(the labels of micro intervals come from it)",
}


@dataclass
class Usage:
    """What training does with every annotated sample.

    Attributes:
        used: (sample, class index) pairs training will use, in annotation order.
        left_out: (sample id, reason) for every other sample or table row, in annotation order.
        problems: the problems among ``left_out`` (stop training unless on_bad_sample=skip); a missing source of
            labels is one problem, keyed by the dataset, for all its samples.
    """

    annotated: int = 0  # samples and table rows considered
    used: list[tuple[Sample, int]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def blocking(self, on_bad_sample: str) -> list[tuple[str, str]]:
        """The problems that stop training under ``on_bad_sample``."""
        return [] if on_bad_sample == "skip" else self.problems


def plan_usage(load: DatasetLoad, scheme: LabelScheme, on_bad_sample: str) -> Usage:
    """Apply the rules above to a loaded dataset."""
    out = Usage()
    errors: dict[str, list] = {}
    for issue in load.errors:
        errors.setdefault(issue.sample_id, []).append(issue)
    index = {c: i for i, c in enumerate(scheme.classes)}
    samples = load.samples + load.excluded
    known = {s.sample_id for s in samples}

    def problem(sid: str, reason: str) -> None:
        out.left_out.append((sid, reason))
        out.problems.append((sid, reason))

    for sid, issues in errors.items():  # table rows that never became a sample
        if sid not in known:
            problem(sid, "; ".join(f"[{i.check}] {i.message}" for i in issues))
    out.annotated = len(samples) + len(out.problems)
    what = "objective class" if scheme.field != "label" else "label"
    if samples and not any(scheme.key(s) for s in samples):  # a missing column or file, not blank cells
        dataset = samples[0].dataset
        reason = _SOURCES.get((dataset, scheme.field),
                              f"no sample has a {what}: is it the right annotation file for scheme {scheme.name}?")
        out.left_out += [(s.sample_id, reason) for s in samples]
        out.problems.append((dataset, f"{reason} ({len(samples)} samples)"))
        out.left_out += load.unlisted
        return out
    for s in samples:
        key = scheme.key(s)
        if key not in scheme.mapping:
            if key == "":
                problem(s.sample_id, f"no {what}: it cannot be trained on; fill in the cell")
            else:
                problem(s.sample_id, f"{what} {key!r} is unknown to scheme {scheme.name} (known: "
                                     f"{', '.join(sorted(scheme.mapping))}); check the spelling")
            continue
        cls = scheme.mapping[key]
        if cls is None:
            out.left_out.append((s.sample_id, scheme_left_out(what, key, scheme.name)))
            continue
        bad = [i for i in errors.get(s.sample_id, [])
               if not (on_bad_sample == "nearest" and s.frames and i.check in NEAREST_FIXES)]
        if not s.frames and not bad:
            bad_text = "no usable frames on disk"
        else:
            bad_text = "; ".join(f"[{i.check}] {i.message}" for i in bad)
        if not bad_text and on_bad_sample == "nearest":
            bad_text = _nearest_no_motion(s)
        if bad_text:
            problem(s.sample_id, bad_text)
            continue
        out.used.append((s, index[cls]))
    out.left_out += load.unlisted
    return out


def scheme_left_out(what: str, key: str, scheme: str) -> str:
    """skipped.csv's reason for a sample whose label the scheme leaves out on purpose (mmnet.report.left_out reads
    it back with ``SCHEME_LEFT_OUT``, to count these apart from the data's problems)."""
    return f"{what} {key!r} is not used by scheme {scheme}"


#: ``scheme_left_out``'s reason read back; the scheme is the rest of the line (a label map's name holds spaces)
SCHEME_LEFT_OUT = re.compile(r"(?P<what>label|objective class) (?P<value>'[^']*'|\"[^\"]*\") is not used by scheme "
                             r"(?P<scheme>.+)")


def _nearest_no_motion(sample: Sample) -> str:
    """Why the nearest frames on disk leave ``sample`` without motion (onset and apex on one frame), or ""."""
    try:
        frame_windows(sample, 0.0, clamp=True)
    except UnusableSample as exc:
        return exc.problem.removeprefix(f"{sample.sample_id}: ")
    return ""


_LISTED = "`mmnet check-data` lists every one"  # where the samples a refusal leaves unnamed are


def describe_problems(problems: list[tuple[str, str]], limit: int | None = 20) -> str:
    """The problems as indented lines, at most ``limit`` of them (None: every one)."""
    lines = [f"  - {sid}: {reason}" for sid, reason in problems[:limit]]
    if limit is not None and len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more ({_LISTED})")
    return "\n".join(lines)


def _dropped(load: DatasetLoad, scheme: LabelScheme, left_out: Sequence[tuple[str, str]]) -> list[tuple]:
    """(sample id, reason, sample) of each sample of a scheme's class left out for a problem."""
    by_id = {s.sample_id: s for s in load.samples + load.excluded}
    unlisted = {sid for sid, _ in load.unlisted}  # the protocol's choice, not a problem skipped
    return [(sid, why, by_id[sid]) for sid, why in left_out
            if sid in by_id and sid not in unlisted and scheme.class_of(by_id[sid]) is not None]


def emptied_classes(load: DatasetLoad, scheme: LabelScheme, kept: Sequence[int],
                    left_out: Sequence[tuple[str, str]]) -> list[str]:
    """The scheme's classes whose every annotated sample is among the problems ``left_out`` (``classes_left``'s
    refusal; the class coverage warning is for classes no sample is annotated with)."""
    return _emptied(scheme, kept, _dropped(load, scheme, left_out))


def _emptied(scheme: LabelScheme, kept: Collection[int], dropped: list) -> list[str]:
    indices = set(kept)  # once: rebuilt per class it read every kept sample again
    held = {c for i, c in enumerate(scheme.classes) if i in indices}
    return [c for c in scheme.classes if c not in held and any(scheme.class_of(s) == c for *_, s in dropped)]




def compact_reason(reason: str, examples: int = 2) -> str:
    """A sample's reason (``plan_usage``'s "[check] message; [check] message ...") with each kind of problem said
    once: how many, the first ``examples`` of them and the remedy they share (a clip of 500 broken frames in a
    line, not 500)."""
    kinds: dict[str, list[str]] = {}
    for part in re.split(r"; (?=\[\w+\] )", reason):
        check, _, message = part.partition("] ") if part.startswith("[") else ("", "", part)
        kinds.setdefault(check[1:], []).append(message)
    said = []
    for check, messages in kinds.items():
        tag = f"[{check}] " if check else ""
        remedies = {m.rpartition("; ")[2] if "; " in m else None for m in messages}
        remedy = remedies.pop() if len(messages) > 1 and len(remedies) == 1 else None
        if remedy is None:
            said.append(tag + "; ".join(messages[:examples]) + (f"; and {len(messages) - examples} more"
                                                                  if len(messages) > examples else ""))
            continue
        shown = ", ".join(m.rpartition("; ")[0] for m in messages[:examples])
        more = f", and {len(messages) - examples} more" if len(messages) > examples else ""
        noun = "frame files" if check == "frame_unreadable" else "problems"
        them = re.sub(r"\bit$", "them", remedy)  # "replace or re-extract it", said of them all
        said.append(f"{tag}{len(messages)} {noun}, e.g. {shown}{more}; {them}")
    return "; ".join(said)


def describe_samples(lost: list[tuple[str, str, Sample]], limit: int = 10, listed: str = _LISTED) -> str:
    """Samples left out, one line each (their table row, their problems compacted by ``compact_reason``), at
    most ``limit`` of them; ``listed`` says where the others are."""
    lines = []
    for sid, why, sample in lost[:limit]:
        row = sample.extra.get("row")
        lines.append(f"  - {sid}{f' (row {row})' if row is not None else ''}: {compact_reason(why)}")
    if len(lost) > limit:
        lines.append(f"  ... and {len(lost) - limit} more ({listed})")
    return "\n".join(lines)


def classes_left(load: DatasetLoad, scheme: LabelScheme, kept: Sequence[int],
                 left_out: Sequence[tuple[str, str]], listed: str = _LISTED, dataset: str = "") -> str | None:
    """Why training cannot go on with the samples kept (their class indices ``kept``) once the problems in
    ``left_out`` (sample id, reason) were skipped: a class of the scheme whose every annotated sample was left out
    for a problem, or fewer than two classes with a sample (MMNet needs two, as ``label_maps.one_class`` says); the
    class, the file, the samples (``describe_samples``; ``listed`` says where those it leaves out are listed) and
    what to do. None when neither. A class that no sample is annotated with is ``class_coverage``'s warning, not
    this. ``dataset``: the configured dataset's name, said when no sample names one (none annotated)."""
    by_id = {s.sample_id: s for s in load.samples + load.excluded}
    dropped = _dropped(load, scheme, left_out)
    if why := _parts_left(load, dropped, listed):
        return why
    indices = set(kept)  # once: rebuilt per class it read every kept sample again
    held = [c for i, c in enumerate(scheme.classes) if i in indices]
    emptied = _emptied(scheme, indices, dropped)  # (the samples left out, gathered once)
    if not emptied and len(held) >= 2:
        return None
    two = ("no class has a usable sample left" if not held else f"only {held[0]} has usable samples left: MMNet needs "
           "two classes or more" if len(held) == 1 else "")
    if not emptied:
        datasets = "+".join(sorted({s.dataset for s in by_id.values()})) or dataset
        return (f"scheme {scheme.name} of dataset {datasets}: {two}. Check the labels, or choose a scheme with two "
                "classes or more that the data holds (data.scheme / --scheme).")
    lost = [(sid, why, s) for sid, why, s in dropped if scheme.class_of(s) in emptied]
    rows = sorted({r for *_, s in dropped if scheme.class_of(s) in emptied and (r := s.extra.get("row")) is not None})
    where = (f", row(s) {', '.join(map(str, rows[:20]))}{' ...' if len(rows) > 20 else ''}" if rows else "") + (
        f" of '{load.annotation}'" if load.annotation is not None else "")
    them = "it" if len(emptied) == 1 else "them"
    these = "this sample" if len(lost) == 1 else "these samples"
    if two:
        cost = f"{two[0].upper()}{two[1:]}. "
        fix = f"Fix {these} (the files or cells named) so that {'it' if len(emptied) == 1 else 'they'} can be used."
    else:
        one = len(emptied) == 1
        cost = (f"Training anyway would give the model {'a class' if one else 'classes'} it never sees, and the "
                f"report's UF1 and UAR, averaged over all {len(scheme.classes)} classes, would count "
                f"{'its' if one else 'their'} F1 and recall as 0. ")
        fix = f"Fix {these} (the files or cells named), or train without {them}: {_without(scheme, emptied)}."
    return (f"class(es) {', '.join(emptied)} of scheme {scheme.name} have no usable sample left: every one of their "
            f"{len(lost)} annotated sample(s){where} has a problem, and data.on_bad_sample=skip leaves them out:\n"
            f"{describe_samples(lost, listed=listed)}\n{cost}{fix}")


def _parts_left(load: DatasetLoad, dropped: list[tuple], listed: str) -> str | None:
    """A part of a composite (a dataset its list names) whose every listed sample has a problem: skipping them would
    leave the whole dataset out of the protocol (its scores, its LODO fold) without a word."""
    if load.listed_rows is None:
        return None
    lost = {sid for sid, *_ in dropped}
    parts = sorted({s.dataset for s in load.samples + load.excluded})
    gone = [p for p in parts if all(s.sample_id in lost for s in load.samples + load.excluded if s.dataset == p)]
    if not gone:
        return None
    samples = [d for d in dropped if d[2].dataset in gone]
    them = "it" if len(gone) == 1 else "them"
    return (f"dataset(s) {', '.join(gone)} of the composite have no usable sample left: every one of their "
            f"{len(samples)} listed sample(s) has a problem, and data.on_bad_sample=skip leaves them out:\n"
            f"{describe_samples(samples, listed=listed)}\nTraining anyway would leave {them} out of the protocol "
            "(no per-dataset scores, no LODO fold). Fix these samples, or remove the list's rows of the part to leave "
            "it out on purpose.")


def _without(scheme: LabelScheme, emptied: list[str]) -> str:
    """How to train without the classes ``emptied``: the scheme's label map with their labels left out (``-``), to
    copy; for a built-in scheme that a label map cannot restate (AU-based classes, relabelled samples), another
    scheme."""
    one = len(emptied) == 1
    them, their = ("it", "its") if one else ("them", "their")
    if scheme.name != TABLE_SCHEME and not is_label_map(scheme.name) and (
            scheme.field != "label" or scheme.relabelled is not None
            or any("," in k or "=" in k for k in scheme.mapping)):
        return (f"choose a scheme without {them} (data.scheme / --scheme; docs/datasets.md lists each scheme's "
                f"classes), or a label map in data.scheme that maps {their} labels to -")
    pairs = ", ".join(f"{k}={'-' if c is None or c in emptied else c}" for k, c in scheme.mapping.items())
    return f"a label map leaving {their} labels out, --scheme '{pairs}'"
