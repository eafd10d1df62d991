"""Label schemes as data: which annotated labels a protocol uses, and their class indices.

A scheme maps each annotated label (lower case, as in ``Sample.label``) to a class name, or to
None to exclude it. ``classes`` is the logit order; index = position in the tuple, never the
order of appearance. Objective-class schemes read ``Sample.extra["objective_class"]`` (1..7).
Counts are in docs/datasets.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import ConfigError, verify_choice
from .label_maps import TABLE_DATASET, TABLE_SCHEME, is_label_map, label_map_scheme, table_scheme
from .sample import Issue, Sample

__all__ = ["LabelScheme", "Relabelled", "SCHEMES", "DEFAULT_SCHEME", "default_scheme", "get_scheme", "schemes_for",
           "class_counts", "scheme_warnings"]


@dataclass(frozen=True)
class Relabelled:
    """Samples that a later release of the annotation labels otherwise than the release a protocol used.

    Attributes:
        samples: (subject, clip) as the loader names them.
        label: their label in the later release (the one that marks it).
        earlier: their label in the release the protocol used.
        release: that release's file.
        protocol: who used it.
    """

    samples: tuple[tuple[str, str], ...]
    label: str
    earlier: str
    release: str
    protocol: str


@dataclass(frozen=True)
class LabelScheme:
    """One classification protocol.

    Attributes:
        name: scheme name, e.g. ``"casme2-5class"``.
        classes: class names in logit order.
        mapping: annotated label -> class name, or None for labels excluded on purpose. A label
            not in the mapping is excluded too (and listed by ``unmapped``).
        field: ``"label"`` (emotion) or ``"objective_class"`` (AU-based class 1..7, keys '1'..'7').
        source: where the class list and ids come from.
    """

    name: str
    classes: tuple[str, ...]
    mapping: Mapping[str, str | None]
    field: str = "label"
    source: str = ""
    datasets: tuple[str, ...] = ()
    relabelled: Relabelled | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))
        bad = {c for c in self.mapping.values() if c is not None and c not in self.classes}
        assert not bad, f"scheme {self.name}: mapping targets {bad} are not classes"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def key(self, sample: Sample) -> str:
        if self.field == "label":
            return sample.label
        value = sample.extra.get(self.field)
        return "" if value is None else str(value)

    def class_of(self, sample: Sample) -> str | None:
        """Class name of ``sample`` under this scheme, None if excluded."""
        return self.mapping.get(self.key(sample))

    def select(self, samples: Iterable[Sample]) -> list[tuple[Sample, int]]:
        """(sample, class index) for every sample the scheme keeps, in input order."""
        index = {c: i for i, c in enumerate(self.classes)}
        out = []
        for s in samples:
            c = self.class_of(s)
            if c is not None:
                out.append((s, index[c]))
        return out

    def unmapped(self, samples: Iterable[Sample]) -> dict[str, int]:
        """Labels neither mapped nor explicitly excluded (a typo or an unknown vocabulary): label -> count."""
        out: dict[str, int] = {}
        for s in samples:
            k = self.key(s)
            if k not in self.mapping:
                out[k] = out.get(k, 0) + 1
        return out


def _identity(*names: str) -> dict[str, str]:
    return {n: n for n in names}


_CASME2_VOCAB = ("happiness", "repression", "disgust", "surprise", "others", "sadness", "fear")
_SAMM_VOCAB = ("anger", "contempt", "disgust", "fear", "happiness", "other", "sadness", "surprise")
_OBJ = tuple(str(i) for i in range(1, 8))
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
# CASME II has a separate objective-class file (Davison et al. 2018) that wins over the coding file's column
_OBJECTIVE_SOURCE = {"casme2": "objective classes I-VII from CASME2-ObjectiveClasses.xlsx when it is in the root, "
                               "else from the coding file"}

_SCHEMES = [
    LabelScheme(
        "casme2-5class", ("happiness", "repression", "disgust", "surprise", "others"),
        {**dict.fromkeys(_CASME2_VOCAB), **_identity("happiness", "repression", "disgust", "surprise", "others")},
        source="authors' CASME2_5.py label ids (happiness 0, repression 1, disgust 2, surprise 3, others 4)",
        datasets=("casme2",)),
    LabelScheme(
        "casme2-3class-authors", ("negative", "positive", "surprise"),
        {**dict.fromkeys(_CASME2_VOCAB), "happiness": "positive", "surprise": "surprise", "repression": "negative",
         "disgust": "negative", "fear": "negative", "sadness": "negative"},
        source="authors' CASME2_3.py grouping (fear and sadness counted as negative), in the MEGC order negative 0, "
               "positive 1, surprise 2; that script's own ids are positive (happiness) 0, surprise 1, negative 2, "
               "the logit order of its checkpoints (convert them with --class-names positive,surprise,negative)",
        datasets=("casme2",)),
    LabelScheme(
        "casme2-3class-megc", ("negative", "positive", "surprise"),
        {**dict.fromkeys(_CASME2_VOCAB), "happiness": "positive", "surprise": "surprise", "repression": "negative",
         "disgust": "negative"},
        source="MEGC2019 CDE mapping for CASME II (negative = disgust + repression) on the 2014 labels; the official "
               "list also drops sub04/EP12_01f and sub05/EP09_05f, which the 'composite' loader does",
        datasets=("casme2",),
        # the 2019 coding file relabels 3 sub24 samples sadness -> surprise (docs/datasets.md, CASME II)
        relabelled=Relabelled((("24", "EP07_01"), ("24", "EP07_04f"), ("24", "EP10_03")), "surprise", "sadness",
                              "CASME2-coding-20140508.xlsx", "MEGC2019")),
    LabelScheme(
        "samm-5class", ("anger", "contempt", "happiness", "surprise", "others"),
        {**dict.fromkeys(_SAMM_VOCAB), **_identity("anger", "contempt", "happiness", "surprise"), "other": "others"},
        source="SAMM 5-class subset {Anger, Contempt, Happiness, Surprise, Other} (136 samples); SAMM writes "
               "'Other', mapped to 'others'",
        datasets=("samm",)),
    LabelScheme(
        "samm-3class-megc", ("negative", "positive", "surprise"),
        {**dict.fromkeys(_SAMM_VOCAB), "anger": "negative", "contempt": "negative", "disgust": "negative",
         "fear": "negative", "sadness": "negative", "happiness": "positive", "surprise": "surprise"},
        source="MEGC2019 CDE mapping for SAMM (Other excluded)", datasets=("samm",)),
    LabelScheme(
        "mmew-4class", ("happiness", "surprise", "disgust", "others"),
        {**dict.fromkeys(("anger", "fear", "sadness")), **_identity("happiness", "surprise", "disgust", "others"),
         "repression": "others"},
        source="project choice (docs/datasets.md does not give the paper's MMEW classes): the four MMEW emotions "
               "with the most samples; a 'repression' label (meb's name for the others folder) counts as others",
        datasets=("mmew",)),
    LabelScheme(
        "smic-3class", ("negative", "positive", "surprise"),
        _identity("negative", "positive", "surprise"),
        source="SMIC folder labels, in the MEGC order", datasets=("smic", "smic-hs", "smic-vis", "smic-nir")),
    LabelScheme(
        "casme3-4class", ("negative", "positive", "surprise", "others"),
        {"disgust": "negative", "fear": "negative", "anger": "negative", "sad": "negative", "happy": "positive",
         "surprise": "surprise", "others": "others"},
        source="common CAS(ME)^3 4-class grouping (negative = disgust, fear, anger, sad)",
        datasets=("casme3", "casme3-long")),
    LabelScheme(
        "casme3-3class", ("negative", "positive", "surprise"),
        {"disgust": "negative", "fear": "negative", "anger": "negative", "sad": "negative", "happy": "positive",
         "surprise": "surprise", "others": None},
        source="CAS(ME)^3 3-class grouping (others excluded)", datasets=("casme3", "casme3-long")),
    LabelScheme(
        "casme3-7class", ("anger", "disgust", "fear", "happy", "others", "sad", "surprise"),
        _identity("anger", "disgust", "fear", "happy", "others", "sad", "surprise"),
        source="CAS(ME)^3 emotion labels as annotated ('Others' lower-cased)", datasets=("casme3", "casme3-long")),
    LabelScheme(
        "composite-3class", ("negative", "positive", "surprise"),
        _identity("negative", "positive", "surprise"),
        source="MEGC2019 CDE ground truth: 0 negative, 1 positive, 2 surprise", datasets=("composite",)),
    LabelScheme(
        "casme-sq-str", ("negative", "positive", "surprise"),
        {**_identity("negative", "positive", "surprise"), "others": None},
        source="spot then recognise on CAS(ME)^2's micro-expressions: its emotion classes without 'others', as "
               "MEAN's STR evaluation", datasets=("casme-sq", "casme2-long")),
    LabelScheme(
        "samm-long-str", ("negative", "positive", "surprise"),
        {**dict.fromkeys(_SAMM_VOCAB), "anger": "negative", "contempt": "negative", "disgust": "negative",
         "fear": "negative", "sadness": "negative", "happiness": "positive", "surprise": "surprise"},
        source="spot then recognise on SAMM Long Videos' micro-expressions (Estimated Emotion of the SAMM coding "
               "file): MEGC2019's grouping, Other excluded, as MEAN's STR evaluation", datasets=("samm-long",)),
    # AU-based objective classes (Davison et al. 2018): I..VII, VII = 'others'.
    *[LabelScheme(
        f"{ds}-objective", _ROMAN, dict(zip(_OBJ, _ROMAN)), field="objective_class",
        source=_OBJECTIVE_SOURCE.get(ds, "objective classes I-VII from the coding file"), datasets=(ds,))
        for ds in ("casme2", "samm", "casme3")],
    *[LabelScheme(
        f"{ds}-objective-5class", _ROMAN[:5], {**dict(zip(_OBJ[:5], _ROMAN[:5])), "6": None, "7": None},
        field="objective_class", source="objective classes I-V (MEGC2018 setting; VI and VII excluded)",
        datasets=(ds,)) for ds in ("casme2", "samm")],
]

SCHEMES: dict[str, LabelScheme] = {s.name: s for s in _SCHEMES}

#: Loader checks that concern the column of one scheme field other than the emotion label: irrelevant to a
#: scheme that reads another field (the composite's 3 classes).
FIELD_CHECKS: dict[str, frozenset[str]] = {
    "objective_class": frozenset({"objective_class_missing", "objective_class_differs"}),
}

DEFAULT_SCHEME: dict[str, str] = {
    "casme2": "casme2-5class",
    "samm": "samm-5class",
    "mmew": "mmew-4class",
    "smic": "smic-3class",
    "smic-hs": "smic-3class",
    "smic-vis": "smic-3class",
    "smic-nir": "smic-3class",
    "casme3": "casme3-4class",
    "composite": "composite-3class",
    "casme-sq": "casme-sq-str",
    "casme2-long": "casme-sq-str",
    "samm-long": "samm-long-str",
    "casme3-long": "casme3-4class",
    TABLE_DATASET: TABLE_SCHEME,  # data.classes, filled from the table's labels (label_maps.table_scheme)
    "table-long": TABLE_SCHEME,  # the same, from the labels of its micro-expressions (table_long.table_long_labels)
}


def default_scheme(dataset: str) -> str:
    """The name of ``dataset``'s default scheme; a ConfigError, not a KeyError, for a dataset registered without
    one (every loader in ``mmnet.data.DATASETS`` and ``LONG_VIDEO_DATASETS`` needs an entry), and for a default
    that is no scheme's name (a LabelScheme object assigned from Python failed later with a TypeError)."""
    if dataset not in DEFAULT_SCHEME:
        raise ConfigError(
            f"dataset {dataset!r} has no default label scheme: choose one with data.scheme / --scheme, e.g. a label "
            "map 'happiness=positive, disgust=negative, surprise=surprise' (it fits any dataset). A loader "
            f"registered from Python names its default with mmnet.data.DEFAULT_SCHEME[{dataset!r}] = NAME, the name "
            "of a LabelScheme in mmnet.data.SCHEMES. A folder of clips with a CSV of subject, clip, onset, apex and "
            "emotion needs no code: dataset 'table' (docs/datasets.md, \"Your own dataset\").")
    name = DEFAULT_SCHEME[dataset]
    if not (isinstance(name, str) and (name in SCHEMES or name == TABLE_SCHEME or is_label_map(name))):
        raise ConfigError(_not_a_scheme_name(name, f"mmnet.data.DEFAULT_SCHEME[{dataset!r}]", dataset))
    return name


def _not_a_scheme_name(value: object, where: str, dataset: str | None) -> str:
    """Why ``value`` (of ``where``) names no scheme, and what to set instead."""
    of = f" for dataset {dataset!r}" if dataset and repr(dataset) not in where else ""
    if isinstance(value, LabelScheme):
        return (f"{where} is the LabelScheme {value.name!r} itself{of}, not its name: set {where} = {value.name!r}, "
                f"and register the scheme by that name: mmnet.data.SCHEMES[{value.name!r}] = the LabelScheme "
                f"(with datasets=({dataset or 'NAME'!r},)).")
    if not isinstance(value, str):
        return (f"{where} is of type {type(value).__name__} ({value!r}){of}, not a scheme's name: set it to the name "
                "of a LabelScheme in mmnet.data.SCHEMES, or to a label map 'label=class, ...'.")
    return (f"{where} is {value!r}{of}, which names no label scheme: set it to the name of a LabelScheme in "
            f"mmnet.data.SCHEMES (register yours there first: mmnet.data.SCHEMES[NAME] = LabelScheme(NAME, ...)), "
            f"or to a label map 'label=class, ...'. Schemes: {', '.join(sorted(SCHEMES))}.")


def get_scheme(name: str) -> LabelScheme:
    """The scheme called ``name``, or the one a label map (``label=class, ...``, label_maps) describes; ConfigError
    listing the valid names otherwise."""
    if not isinstance(name, str):
        raise ConfigError(_not_a_scheme_name(name, "data.scheme", None))
    if is_label_map(name):
        return LabelScheme(**label_map_scheme(name))
    if name == TABLE_SCHEME:
        return LabelScheme(**table_scheme(None, TABLE_SCHEME))  # its classes are a config's: resolve_scheme takes them
    verify_choice("label scheme", name, tuple(SCHEMES))
    return SCHEMES[name]


def schemes_for(dataset: str) -> list[str]:
    """The names of the schemes made for ``dataset`` (its default first)."""
    names = [s.name for s in _SCHEMES if dataset in s.datasets]
    default = DEFAULT_SCHEME.get(dataset)
    return sorted(names, key=lambda n: n != default)


def check_scheme_fits(scheme: LabelScheme, dataset: str) -> None:
    """ConfigError when ``scheme`` was made for other datasets: its label vocabulary and grouping are another
    dataset's (SAMM's 'anger' is unknown to a CASME II scheme), so training would drop or misgroup samples."""
    # a label map is the user's own grouping; the table dataset's labels are the user's own vocabulary
    if dataset in scheme.datasets or is_label_map(scheme.name) or dataset == TABLE_DATASET:
        return
    fitting = schemes_for(dataset)
    if not scheme.datasets:  # registered from Python without its datasets
        raise ConfigError(
            f"label scheme {scheme.name!r} (data.scheme) declares no datasets (its LabelScheme.datasets is empty), "
            f"so it is not used for dataset {dataset!r}: register it with datasets=({dataset!r},), or give the "
            "grouping as a label map in data.scheme ('happiness=positive, disgust=negative, ...'), which fits any "
            f"dataset. Schemes for {dataset}: {', '.join(fitting) or '(none)'}.")
    raise ConfigError(
        f"label scheme {scheme.name!r} (data.scheme) is made for {', '.join(scheme.datasets)}, not for dataset "
        f"{dataset!r} (data.dataset): its labels and grouping are another dataset's. Schemes for {dataset}: "
        f"{', '.join(fitting) or '(none)'} (the first is its default); choose one with --scheme. A recipe "
        "(--config) names the scheme of its own dataset: "
        "with --dataset another dataset, give --scheme too. docs/datasets.md lists each scheme's classes.")


def resolve_scheme(name: str, classes: Iterable[str] | None = None, dataset: str | None = None) -> LabelScheme:
    """The scheme called ``name``, refusing one made for datasets other than ``dataset`` (when given) and a
    ``data.classes`` other than its classes.

    The classes are derived from the scheme (a resolved config.yaml lists them, so the same list is
    accepted): a different list would otherwise be silently replaced. The table dataset's scheme and a label map
    (label_maps) take ``classes`` as their own: their class list, and the map's order.
    """
    if not isinstance(name, str):
        raise ConfigError(_not_a_scheme_name(name, "data.scheme", dataset))
    if name == TABLE_SCHEME:
        return LabelScheme(**table_scheme(classes, dataset or TABLE_DATASET))
    if is_label_map(name):
        return LabelScheme(**label_map_scheme(name, classes))
    scheme = get_scheme(name)
    if dataset is not None:
        check_scheme_fits(scheme, dataset)
    if classes is not None and list(classes) != list(scheme.classes):
        alternatives = [s.name for s in SCHEMES.values()
                        if s.name != scheme.name and set(s.datasets) & set(scheme.datasets)]
        others = f"; others for the same dataset: {', '.join(alternatives)}" if alternatives else ""
        raise ConfigError(
            f"data.classes {list(classes)} cannot be set: the classes are derived from data.scheme, and scheme "
            f"{scheme.name!r} has {list(scheme.classes)}. To train other classes choose another scheme with "
            f"data.scheme (--scheme){others}. docs/datasets.md lists each scheme's classes. Leave data.classes "
            "unset (null).")
    return scheme


def class_counts(scheme: LabelScheme, samples: Iterable[Sample]) -> dict[str, int]:
    """Samples per class (every class listed, zero included), in logit order."""
    counts = dict.fromkeys(scheme.classes, 0)
    for _, i in scheme.select(samples):
        counts[scheme.classes[i]] += 1
    return counts


def scheme_warnings(scheme: LabelScheme, samples: Iterable[Sample]) -> list[Issue]:
    """A warning when the annotation is a later release than the one the scheme's protocol used
    (``LabelScheme.relabelled``): the relabelled samples are named, and the release to load instead."""
    r = scheme.relabelled
    if r is None:
        return []
    later = [s for s in samples if (s.subject, s.clip) in r.samples and s.label == r.label]
    if not later:
        return []
    now, then = scheme.class_of(later[0]), scheme.mapping.get(r.earlier)
    counted = f"counted as {now}" if now is not None else "not in the scheme"
    before = f"counted as {then}" if then is not None else "not in the scheme"
    return [Issue(later[0].dataset, "scheme_release", f"scheme {scheme.name} follows {r.protocol}, which used "
                  f"{r.release}; this annotation is a later release: {', '.join(s.sample_id for s in later)} are "
                  f"{r.label} here ({counted}), {r.earlier} there ({before}), so the samples differ from "
                  f"{r.protocol}'s. Load {r.release} (--annotation) to match them.", "warning")]
