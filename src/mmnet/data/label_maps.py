"""Label schemes written in the configuration, for a lab's own labels (docs/datasets.md, "Your own dataset").

Two forms, both recorded in a run's config.yaml, so that its Reproduce command rebuilds the same scheme:

- a label map as ``data.scheme``: ``"happiness=positive, disgust=negative, repression=negative, surprise=surprise,
  others=-"``: each annotated label to a class, ``-`` (or nothing after ``=``) to leave a label out on purpose. The
  classes are the map's targets in the order first written (the logit order), or ``data.classes`` when it lists the
  same classes in another order. A map fits any dataset.
- the ``table`` dataset's default scheme ``"table"``: each label its own class, the classes listed in
  ``data.classes`` (``mmnet.train.resolve_config`` fills them from the table's emotion column: its labels, sorted).

A label the scheme does not know is a problem named per sample (``mmnet.data.usage``), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError
from ..typed_separators import ascii_separators, separator_note
from .case_keys import fold_words

__all__ = ["TABLE_DATASET", "TABLE_SCHEME", "is_label_map", "label_map_scheme", "table_scheme", "one_class"]

#: The dataset of a lab's own clips (mmnet.data.table): its labels are its own vocabulary, any scheme may read them.
TABLE_DATASET = "table"
#: The ``table`` dataset's default scheme: each annotated label its own class (data.classes).
TABLE_SCHEME = "table"

_EXAMPLE = "'happiness=positive, disgust=negative, surprise=surprise, others=-'"


def is_label_map(name: str) -> bool:
    """Whether a ``data.scheme`` value is a label map (``label=class, ...``) rather than a scheme's name; the
    full-width '＝' a Chinese or Japanese input method types is '=' (``ascii_separators``)."""
    return "=" in ascii_separators(name)


def label_map_scheme(text: str, classes: Iterable[str] | None = None) -> dict:
    """The fields of the ``LabelScheme`` a label map written as ``data.scheme`` describes (see the module docstring);
    ``schemes`` builds it (this module stays below it)."""
    mapping: dict[str, str | None] = {}
    order: list[str] = []
    spelled: dict[str, str] = {}  # a class's key -> its first spelling
    # '，' and '＝' (full-width, as Chinese and Japanese input methods type them) separate as ',' and '=' do
    for item in (part.strip() for part in ascii_separators(text).split(",")):
        if not item:
            continue
        label, sep, target = (s.strip() for s in item.partition("="))
        if not sep or not label:
            raise ConfigError(f"data.scheme label map {text!r}: {item!r} is not label=class; "
                              f"{separator_note(text)}write it as {_EXAMPLE} (label=- leaves a label out).")
        key = fold_words(label)  # labels are compared in lower case, single-spaced, as loaders read them (Sample.label)
        cls = None if target in ("", "-") else target
        if cls is not None and "=" in cls:
            # 'a=b=c': one pair's '=' too many, or a comma missing between two pairs
            raise ConfigError(f"data.scheme label map {text!r}: class {cls!r} (of label {label!r}) contains '=': a "
                              "class name holds no '=' or comma (of any width, '，' and '＝' included); "
                              f"{separator_note(text)}separate the pairs with commas, as in {_EXAMPLE}.")
        if cls is not None and (same := spelled.setdefault(fold_words(cls), cls)) != cls:
            # classes are compared as labels are: two spellings would train two classes of one name
            raise ConfigError(f"data.scheme label map {text!r}: class {same!r} is also written {cls!r}; write each "
                              "class one way (classes are compared in lower case).")
        if key in mapping and mapping[key] != cls:
            raise ConfigError(f"data.scheme label map {text!r}: label {label!r} is mapped twice ({mapping[key]!r} and "
                              f"{cls!r}); keep one.")
        mapping[key] = cls
        if cls is not None and cls not in order:
            order.append(cls)
    if not order:
        raise ConfigError(f"data.scheme label map {text!r} maps no label to a class; write it as {_EXAMPLE}.")
    if classes is not None and list(classes) != order:
        if sorted(classes) != sorted(order):
            raise ConfigError(f"data.classes {list(classes)} differs from the classes of the label map in data.scheme "
                              f"({order}): list the same classes (their order is the logit order), or leave "
                              "data.classes unset.")
        order = list(classes)
    return {"name": text, "classes": tuple(order), "mapping": mapping, "source": "label map given in data.scheme"}


def table_scheme(classes: Iterable[str] | None, dataset: str) -> dict:
    """The fields of the ``table`` dataset's default scheme: each label in ``classes`` (data.classes) its own class."""
    if not classes:
        raise ConfigError(
            f"label scheme {TABLE_SCHEME!r} of dataset {dataset!r} takes its classes from data.classes, which is not "
            "set: list the emotion labels to train on (--set 'data.classes=[negative, positive, surprise]'), or "
            f"group labels with a label map in data.scheme ({_EXAMPLE}). `mmnet train` fills data.classes from the "
            "table's emotion column (its labels, sorted); from Python, mmnet.train.resolve_config(cfg) does.")
    classes = list(classes)
    keys = [fold_words(c) for c in classes]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"data.classes {classes} names a class twice (labels are compared in lower case).")
    return {"name": TABLE_SCHEME, "classes": tuple(classes), "mapping": dict(zip(keys, classes)),
            "datasets": (dataset,), "source": "each emotion label of the table its own class (data.classes)"}


def one_class(name: str, classes: Iterable[str]) -> str | None:
    """Why MMNet cannot train on the scheme ``name`` with ``classes`` (one class, which a label map or data.classes
    can give: the network needs two), and what to do; None when it has two or more. Scoring and analysis may still
    use such a scheme, so it is refused where training starts (train.resolve, check-data), not built."""
    classes = list(classes)
    if len(classes) >= 2:
        return None
    if is_label_map(name):
        return (f"data.scheme label map {name!r} maps its labels to one class ({classes[0]}): MMNet needs two classes "
                f"or more; map the labels to two classes or more, e.g. {_EXAMPLE}.")
    return (f"data.classes {classes} lists one class: MMNet needs two classes or more; list two or more, or leave "
            "data.classes unset (the table dataset then takes the labels of its emotion column).")
