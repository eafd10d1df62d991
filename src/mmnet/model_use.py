"""What an mmnet model is for and what it is not, in the words its model card, its ONNX export and its reports
share: the intended use, the limits, the named failure modes, who the datasets recorded, and the banner of a model
trained on mmnet's synthetic faces. Plain text, no imports: every part of mmnet may quote it."""

from __future__ import annotations

__all__ = ["INTENDED_USE", "LIMITS", "SYNTHETIC_LIMITS", "FAILURE_MODES", "SUBGROUPS", "NOBODY_RECORDED",
           "WHO_RECORDED", "FRAME_RATES", "who_recorded", "failure_modes", "synthetic_banner", "layout_name"]

INTENDED_USE = (
    "Research on facial micro-expression recognition: reproducing and comparing results, analysing clips "
    "recorded and cropped like the training data (onset and apex frames of a face crop).")
LIMITS = (
    "Micro-expression datasets are small (hundreds of clips from tens of people), recorded in laboratories "
    "under controlled light with frontal faces, with emotions elicited by video clips and labelled by a "
    "few coders; the subjects are few and mostly young adults. Expect lower accuracy on "
    "other people, cameras, frame rates or settings. The classes are the dataset's emotion labels, not what "
    "a person feels. Do not use this model to decide about people (hiring, policing, security, health, "
    "education, deception detection).")
#: The limits of a model trained on mmnet's synthetic faces: nothing of the above was learnt from people.
SYNTHETIC_LIMITS = (
    "Trained on mmnet's synthetic faces (drawn shapes whose brows, eyes and mouth move by a few pixels), to try "
    "the pipeline: it has seen no person, and its classes on a real face mean nothing. Its scores measure how "
    "well it learnt the synthetic motions, not how a model of real micro-expressions would do. Do not use this "
    "model on people, let alone to decide about people.")
# the frame-rate failure mode of a model whose training rates are not known; ``failure_modes`` names them
_RATE_MODE = ("frame rates far from the training data's: a camera of another rate puts the onset and apex another "
              "number of frames apart, with more or less motion blur")
#: Where a micro-expression model is known to go wrong: what the two frames it compares hold besides the expression.
FAILURE_MODES = (
    "head motion and pose: a head that turns, nods or moves between the onset and apex frames gives motion that "
    "is not an expression, and faces far from frontal were not in the training data",
    "lighting changes between the two frames (flicker, shadows, a light turned on) and light unlike a "
    "laboratory's",
    "glasses, hair, hands or masks over the brows, eyes or mouth (occlusion)",
    "video compression: a codec's blocks and smoothing remove the small motions a micro-expression is, or add "
    "their own",
    _RATE_MODE,
    "posed rather than spontaneous expressions: the datasets hold expressions elicited and held back in a "
    "laboratory; acted ones move otherwise",
    "speech and blinks: the mouth and eyelid movements of talking and blinking are not expressions, and "
    "the training clips hold few of them",
)
SUBGROUPS = ("No subgroup performance is measured (by age, sex, ethnicity or skin tone, or with glasses): expect "
             "worse results for groups under-represented here.")
NOBODY_RECORDED = ("Nobody was recorded: the model has seen no person, so nothing is known of how it does for anyone, "
                   "in any group.")
_SEE_PAPER = "age, sex and ethnicity: see the dataset's paper"
#: Who each dataset recorded, as docs/datasets.md and the dataset's paper state it; the rest is the paper's to say.
WHO_RECORDED = {
    "casme2": f"26 subjects (2019 coding file), filmed at 200 fps in a laboratory with controlled light while they "
              f"watched emotional video clips (Yan et al., PLoS ONE 2014); {_SEE_PAPER}",
    "casme3": f"94 subjects in Part A's v2 annotation, filmed at 30 fps (Li et al., IEEE TPAMI); {_SEE_PAPER}",
    "casme3-long": f"Part A's long videos, filmed at 30 fps (Li et al., IEEE TPAMI); {_SEE_PAPER}",
    "casme-sq": f"long videos filmed at 30 fps (Qu et al., IEEE Transactions on Affective Computing); {_SEE_PAPER}",
    "samm": f"29 subjects in its v2 annotation, filmed at 200 fps; its paper describes "
            f"diverse participants (Davison et al., IEEE Transactions on Affective Computing 2018); {_SEE_PAPER}",
    "samm-long": f"long videos filmed at 200 fps (Yap et al., SAMM Long Videos); {_SEE_PAPER}",
    "smic": f"the HS part: 164 clips of 16 subjects, filmed at 100 fps (Li et al., IEEE FG 2013); {_SEE_PAPER}",
    "mmew": f"see the dataset's paper (Ben et al., IEEE TPAMI); {_SEE_PAPER}",
    "table": "your own clips: who was recorded, with their consent, is for whoever trained this model to state",
}
_LAYOUTS = {"casme2": "CASME II", "casme-sq": "CAS(ME)^2", "table": "table dataset"}
#: Each dataset's camera rate in frames per second (its paper's; SMIC's VIS and NIR parts are 25 fps, its HS 100).
#: A lab's own data (table, table-long) has the rate it was recorded at, which mmnet is not told for clips.
FRAME_RATES = {"casme2": 200, "samm": 200, "samm-long": 200, "smic": 100, "smic-hs": 100, "smic-vis": 25,
               "smic-nir": 25, "mmew": 90, "casme3": 30, "casme3-long": 30, "casme-sq": 30}
_RATE_NAMES = {"casme2": "CASME II", "samm": "SAMM", "samm-long": "SAMM Long Videos", "smic": "SMIC",
               "smic-hs": "SMIC-HS", "smic-vis": "SMIC-VIS", "smic-nir": "SMIC-NIR", "mmew": "MMEW",
               "casme3": "CAS(ME)^3", "casme3-long": "CAS(ME)^3", "casme-sq": "CAS(ME)^2"}
_FAST = 90  # every rate at least this: a 25 or 30 fps video is the slower one


def failure_modes(datasets: list[str], synthetic: bool = False) -> list[str]:
    """``FAILURE_MODES`` with the frame-rate line naming the rates of the ``datasets`` a model learnt from (data
    keys: "smic-vis", not "smic", where the variant is known); ``synthetic``: drawn frames, no camera at all."""
    rates: dict[int, list[str]] = {}
    own = []
    for ds in dict.fromkeys(datasets):
        if ds in FRAME_RATES:
            rates.setdefault(FRAME_RATES[ds], []).append(_RATE_NAMES[ds])
        else:  # a lab's own data, or a dataset mmnet has no rate for: never guessed
            own.append("your own clips" if ds in ("table", "table-long") else ds)
    said = [f"{' and '.join(dict.fromkeys(names))}: {fps} fps" for fps, names in sorted(rates.items())]
    said += [f"{name}: the rate it was recorded at, not known to mmnet" for name in own]
    if synthetic:
        line = ("frame rates: mmnet's synthetic faces are drawn frames, not a camera's, so nothing says how the "
                "model does at any real rate")
    elif rates and not own and min(rates) >= _FAST:
        line = (f"frame rates far from the training data's ({'; '.join(said)}): the onset and apex of a 25 or "
                "30 fps video are fewer frames apart and blur")
    else:
        line = _RATE_MODE.replace("data's:", f"data's ({'; '.join(said)}):") if said else _RATE_MODE
    return [line if m == _RATE_MODE else m for m in FAILURE_MODES]


def who_recorded(dataset: str) -> str:
    """Who ``dataset`` recorded (``WHO_RECORDED``), or where to look for a dataset mmnet has no words for."""
    return WHO_RECORDED.get(dataset, "see the dataset's paper")


def layout_name(dataset: str) -> str:
    """The dataset whose file layout mmnet's synthetic set copies, as its owner names it."""
    return _LAYOUTS.get(dataset, dataset)


def synthetic_banner(layouts: list[str], what: str = "model", partly: bool = False) -> str:
    """The line under a title that says a model (``what="model"``) or a run's scores (``"run"``) come from
    mmnet's synthetic faces: no real dataset is behind them, whatever file layout the set copies."""
    names = " and ".join(dict.fromkeys(layout_name(d) for d in layouts))
    faces = f"mmnet's synthetic faces in the {names} file layout" if names else "mmnet's synthetic faces"
    if partly:
        return (f"Trained partly on {faces}: the synthetic part is no real dataset, and its results say nothing "
                "about real faces.")
    if what == "run":
        return f"Demo run on {faces}: not results on any real dataset, and they say nothing about real faces."
    return f"Demo model trained on {faces}: not a model of any real dataset."
