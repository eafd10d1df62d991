"""Each dataset's release: its name as its owners write it, who releases it, where to request it and the papers to
cite for it (the table of docs/datasets.md, "Datasets: request and cite"; the model card's licence section).

Each is released for research under an agreement its users sign: its use follows that agreement, and the data
are never passed on.
"""

from __future__ import annotations

from typing import NamedTuple

from ..choices import DATASETS, LONG_VIDEO_DATASETS

__all__ = ["Release", "RELEASES", "ALIASES", "DATASET_NAMES", "OBJECTIVE_CLASSES_PAPER", "papers_to_cite", "release_of"]

_CAS = "the Institute of Psychology, Chinese Academy of Sciences"
_MMU = "Manchester Metropolitan University"


class Release(NamedTuple):
    name: str
    owner: str
    page: str | None  # the owner's request page, which gives the agreement; None: ask the owner
    papers: tuple[str, ...]


_CASME2 = ("Yan et al., 2014, \"CASME II: An Improved Spontaneous Micro-Expression Database and the Baseline "
           "Evaluation\", PLoS ONE 9(1): e86041")
_SAMM = ("Davison et al., 2018, \"SAMM: A Spontaneous Micro-Facial Movement Dataset\", IEEE Trans. Affective "
         "Computing 9(1): 116-129")
_SMIC = ("Li et al., 2013, \"A Spontaneous Micro-expression Database: Inducement, Collection and Baseline\", IEEE FG "
         "2013")
_CASME3 = ("Li et al., 2023, \"CAS(ME)^3: A Third Generation Facial Spontaneous Micro-Expression Database with Depth "
           "Information and High Ecological Validity\", IEEE TPAMI")
#: Cited with any objective-class scheme (classes I-VII by action units), whichever dataset it reads.
OBJECTIVE_CLASSES_PAPER = ("Davison, Merghani & Yap, 2018, \"Objective Classes for Micro-Facial Expression "
                           "Recognition\", J. Imaging 4(10): 119")
_MEGC2019 = ("See et al., 2019, \"MEGC 2019 - The Second Facial Micro-Expressions Grand Challenge\", IEEE FG 2019 "
             "(the composite CASME II + SAMM + SMIC protocol)")

#: Keyed as ``data.dataset`` (a long-video dataset's micro-expressions keep its key).
RELEASES: dict[str, Release] = {
    "casme2": Release("CASME II", _CAS, "http://fu.psych.ac.cn/CASME/casme2-en.php", (_CASME2,)),
    "casme3": Release("CAS(ME)^3", _CAS, "http://casme.psych.ac.cn/casme/e4", (_CASME3,)),
    "casme3-long": Release("CAS(ME)^3 (Part A's long videos)", _CAS, "http://casme.psych.ac.cn/casme/e4", (_CASME3,)),
    "casme-sq": Release("CAS(ME)^2", _CAS, "http://casme.psych.ac.cn/casme/e3", (
        "Qu et al., 2018, \"CAS(ME)^2: A Database for Spontaneous Macro-expression and Micro-expression Spotting "
        "and Recognition\", IEEE Trans. Affective Computing",)),
    "samm": Release("SAMM", _MMU, "http://www2.docm.mmu.ac.uk/STAFF/M.Yap/dataset.php", (_SAMM,)),
    # a release of its own, apart from SAMM's: requested from the same group
    "samm-long": Release("SAMM Long Videos", f"Moi Hoon Yap's group at {_MMU}", None, (
        "Yap et al., 2020, \"SAMM Long Videos: A Spontaneous Facial Micro- and Macro-Expressions Dataset\", "
        "IEEE FG 2020",)),
    "smic": Release("SMIC", "the University of Oulu (CMVS)", "https://www.oulu.fi/cmvs/node/41319", (_SMIC,)),
    "mmew": Release("MMEW", "its authors, Xianye Ben et al.", "http://www.dpailab.com/database.html", (
        "Ben et al., 2021, \"Video-based Facial Micro-Expression Analysis: A Survey of Datasets, Features and "
        "Algorithms\", IEEE TPAMI",)),
    # the protocol's paper alone: papers_to_cite adds the papers of the parts a composite's list names
    "composite": Release("the MEGC2019 composite (CASME II + SAMM + SMIC)", "the owners of its three parts", None,
                         (_MEGC2019,)),
}


#: Other names of a release's data (``data.dataset`` choices): SMIC's fixed variants, CAS(ME)^2's long-video name.
#: Explicit: "casme2-long" is CAS(ME)^2, not CASME II, whatever its name's prefix says.
ALIASES = {"smic-hs": "smic", "smic-vis": "smic", "smic-nir": "smic", "casme2-long": "casme-sq"}

#: The names for people of the datasets no release names (a lab's own data), and of the composite, whose release's
#: name reads as a citation; ``DATASET_NAMES`` names every other dataset by its release.
_NAMED_HERE = {"composite": "CASME II, SAMM and SMIC combined", "table": "a lab's own clips (table dataset)",
               "table-long": "a lab's own recordings (table-long dataset)"}


def dataset_names(registry: tuple[str, ...] = DATASETS + LONG_VIDEO_DATASETS) -> dict[str, str]:
    """Each dataset of ``registry`` (``mmnet.choices``, kept equal to the loaders') by its name for people: its
    release's name as its owners write it, a variant with its own in brackets ("smic-hs" -> "SMIC (HS)"), another
    name of a release as the release ("casme2-long" -> "CAS(ME)^2"); a lab's own data and the composite as
    ``_NAMED_HERE`` says. A dataset with neither is left out (a test keeps none out)."""
    names = {}
    for key in registry:
        release = ALIASES.get(key, key)
        variant = key.removeprefix(f"{release}-") if key.startswith(f"{release}-") else ""
        if key in _NAMED_HERE:
            names[key] = _NAMED_HERE[key]
        elif release in RELEASES:
            names[key] = RELEASES[release].name + (f" ({variant.upper()})" if variant else "")
    return names


#: The datasets' names for people (explain's captions, the server's model line), made from the registry.
DATASET_NAMES = dataset_names()


def release_of(dataset: str) -> Release | None:
    """The release of ``dataset`` (a key of RELEASES or one of its ALIASES); None for a lab's own data."""
    return RELEASES.get(ALIASES.get(dataset, dataset))


def papers_to_cite(datasets: list[str], *, composite: bool = False, objective: bool = False) -> list[str]:
    """The papers to cite for data of ``datasets`` (each once, in order): the MEGC2019 composite's first when the
    data were that composite, the objective-classes paper when its classes were used."""
    keys = (["composite"] if composite else []) + [d for d in datasets if d != "composite"]
    out: list[str] = []
    for key in keys:
        release = release_of(key)
        out += [p for p in (release.papers if release else ()) if p not in out]
    if objective and OBJECTIVE_CLASSES_PAPER not in out:
        out.append(OBJECTIVE_CLASSES_PAPER)
    return out
