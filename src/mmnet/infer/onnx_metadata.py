"""What an exported ONNX file says about itself: ``metadata_props`` (JSON strings) with the class names, how to
make its inputs from image files (``preprocessing``, and ``flow`` for a flow model), the network's config and the
model's provenance. ``mmnet.infer.export`` writes them; a program without mmnet reads them (docs/inference.md)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .. import __version__
from ..images import RESIZE_METHOD
from ..model import CheckpointInfo, MMNet
from ..model.checkpoint import weights_file
from ..model_use import INTENDED_USE, LIMITS, SYNTHETIC_LIMITS, synthetic_banner
from .model_summary import known_dataset
from .predictor import Preprocessing
from .provenance import LICENCE_NOT_RECORDED, PERMUTED_NOTE, UNKNOWN_PROVENANCE, model_card_beside, training_record

__all__ = ["onnx_metadata", "provenance_metadata", "flow_metadata", "read_onnx_metadata", "input_names",
           "face_crop_rule", "TRAINING_NOT_RECORDED"]

# How mmnet reads an image file (mmnet.images.read_image), for readers written without mmnet.
ORIENTATION_RULE = ("apply the file's EXIF orientation tag first (Pillow ImageOps.exif_transpose): a phone stores a "
                    "portrait photo sideways with a tag")
BIT_DEPTH_RULE = ("16-bit greyscale (PNG/TIFF, Pillow modes I;16 and I) is scaled to 8 bits as (v + 128) // 257 "
                  "(Pillow's convert('RGB') would clip it white); greyscale is repeated to 3 channels")


def face_crop_rule(info: CheckpointInfo) -> str:
    """How the frames must be cropped: with the landmark model and crop the checkpoint records
    (``infer.alignment``), or, for a checkpoint that records none, the 68-point model and the default crop."""
    from .alignment import training_alignment

    aligned = training_alignment(info.training)
    g = aligned.geometry
    model = (f"the {aligned.landmarks}-point model, recorded with this model" if aligned.recorded else
             f"the {aligned.landmarks}-point model: this model does not record which one its training clips were "
             "aligned with")
    return ("the frames are face crops aligned like the training data: mmnet prepare and mmnet predict --align "
            f"find the face and its landmarks (dlib: {model}) on the onset frame, level the eye line and put the eye "
            f"centres {g.iod:g} x the width apart at {g.eye_y:g} x the height of a {g.width} x {g.height} crop (a "
            "similarity transform), and apply that same transform to every frame of the clip; a model converted "
            "from the authors' weights expects crops like CASME II's 'Cropped' frames. Uncropped frames give "
            "meaningless classes")


BATCH_RULE = ("onset and the second input (apex or flow) must have the same batch size, row i pairing with row i; "
              "onnxruntime refuses different sizes (the graph concatenates the two inputs)")


def input_names(model: MMNet) -> list[str]:
    """The ONNX graph's input names: ``onset`` and ``apex``, or ``onset`` and ``flow`` for a flow model."""
    return ["onset", "flow" if model.config.main_input == "flow" else "apex"]


def _flow_method(checkpoint: str | Path | None, info: CheckpointInfo | None = None) -> str:
    """The optical-flow method a flow model was trained with: the checkpoint's own record
    (``preprocessing.flow_method``), else its run folder's ``data.flow_method``."""
    from .provenance import run_config, run_folder

    recorded = ((info.preprocessing if info is not None else None) or {}).get("flow_method")
    if isinstance(recorded, str):
        return recorded
    run = None if checkpoint is None else run_folder(Path(checkpoint))
    if run is not None:
        data = (run_config(run) or {}).get("data")
        if isinstance(data, dict) and isinstance(data.get("flow_method"), str):
            return data["flow_method"]
    return ("not recorded (the checkpoint is not in its run folder): the training config's data.flow_method, "
            "tvl1 unless it was changed")


def flow_metadata(checkpoint: str | Path | None, image_size: int, info: CheckpointInfo | None = None) -> dict:
    """How a flow model's ``flow`` input is made (mmnet.preprocess.flow.compute_flow, as training made it)."""
    from ..preprocess.flow import FLOW_SCALE

    flow = {
        "method": _flow_method(checkpoint, info),
        "methods": "OpenCV: tvl1 = cv2.optflow.DualTVL1OpticalFlow_create() (contrib), dis = DISOpticalFlow preset "
                   "MEDIUM, farneback = calcOpticalFlowFarneback(0.5, 3, 15, 3, 5, 1.2, 0)",
        "computed_on": f"the onset and apex frames after the resize to {image_size} x {image_size} (uint8 RGB, "
                       "then grey by OpenCV COLOR_RGB2GRAY), flow from onset to apex",
        "channels": ["u", "v", "magnitude"],
        "scale": f"u (x, right positive) and v (y, down positive) in pixels of those frames divided by "
                 f"{FLOW_SCALE:g}; magnitude = sqrt(u^2 + v^2) of the divided u, v",
        "normalised": "no: the flow goes in as computed, without the mean/std and 1/255 of the onset input",
        "layout": "NCHW float32 (B, 3, S, S)",
    }
    card = model_card_beside(Path(checkpoint)) if checkpoint is not None else None
    frames = ((card or {}).get("preprocessing") or {}).get("frames")
    if isinstance(frames, str):
        flow["frames"] = frames  # the model card's own words
    return flow


#: ``training_data`` of an export whose checkpoint records nothing of its training.
TRAINING_NOT_RECORDED = ("not recorded: the checkpoint holds no record of its training data and no model card was "
                         "beside it (it may be untrained); check its origin and its training data's licence before "
                         "using or sharing this model.")
# What of a checkpoint's own training record an export carries (the subjects held out of a fold are left out).
_HEADER_KEYS = ("dataset", "scheme", "classes", "datasets", "samples", "epochs", "synthetic", "permuted_labels",
                "source", "alignment")


def provenance_metadata(checkpoint: str | Path | None, info: CheckpointInfo | None = None) -> dict[str, str]:
    """What the model was trained on and its licence note, for ``metadata_props``: copied from the model card
    beside ``checkpoint``'s weights when it describes them (``model_card_beside``), else from the checkpoint's own
    record (``info.training``); without either, ``training_data`` says it is not recorded."""
    from ..run_folder import MODEL_CARD_JSON, file_sha256, weights_sha256

    given = None if checkpoint is None else Path(checkpoint)
    weights = None if given is None else weights_file(given)
    card = model_card_beside(given) if given is not None else None
    if card is not None:
        t = card.get("training") or {}
        data = {"dataset": t.get("dataset"), "datasets": t.get("datasets"), "samples": t.get("samples"),
                "subjects": t.get("subjects"), "epochs": t.get("epochs"), "synthetic": card.get("synthetic_data"),
                "scheme": (card.get("classes") or {}).get("scheme"), "recorded_in": "model card"}
        return {"training_data": json.dumps(data), "licence": str(card.get("licence") or LICENCE_NOT_RECORDED),
                "weights_sha256": str((card.get("weights") or {}).get("sha256")),
                "model_card_sha256": file_sha256(weights.parent / MODEL_CARD_JSON),
                "intended_use": str(card.get("intended_use")), "limits": str(card.get("limits"))}
    training = (info.training if info is not None else None) or {}
    out, data = {"training_data": TRAINING_NOT_RECORDED, "licence": LICENCE_NOT_RECORDED}, {}
    if training:
        data = {k: training[k] for k in _HEADER_KEYS if k in training}
        out = {"training_data": json.dumps({**data, "recorded_in": "checkpoint"}),
               "licence": str(training.get("licence") or LICENCE_NOT_RECORDED)}
    elif given is not None and (run := training_record(given)):  # an earlier mmnet's model in its run folder
        data = {k: run[k] for k in ("dataset", "epochs", "synthetic", "permuted_labels", "recorded_in", "run")
                if k in run}
        out["training_data"] = json.dumps(data)
    # no card (a fold model, a converted one): the built-in texts, so that the file still says what it is not for
    out.update(intended_use=INTENDED_USE, limits=SYNTHETIC_LIMITS if data.get("synthetic") is True else LIMITS)
    if weights is not None and weights.is_file():  # the weights exported, for whoever traces them
        out["weights_sha256"] = weights_sha256(weights)
    return out


def doc_string(provenance: dict[str, str]) -> str:
    """The file's description: the paper, and a line of what it was trained on (details in the metadata)."""
    head = "MMNet micro-expression classifier (Li et al., IJCAI 2022); inputs normalised, see metadata"
    if provenance["training_data"] == TRAINING_NOT_RECORDED:
        return f"{head}. Training data not recorded: see metadata 'training_data'."
    data = json.loads(provenance["training_data"])
    dataset = data.get("dataset")
    permuted = f" {PERMUTED_NOTE}" if data.get("permuted_labels") else ""
    if data.get("synthetic") is True and isinstance(dataset, str):  # said first: no real dataset is behind it
        banner = synthetic_banner(_synthetic_layouts(data), partly=dataset == "composite")
        return f"{banner} {head}; licence note in metadata 'licence'.{permuted}"
    # named only when the record says the data was real: the rule of model_title and record_caption
    if named := known_dataset(data):
        what = f"Trained on {named}"
    elif data.get("synthetic") is False or data.get("source"):
        what = "Trained on data not stated"
    else:
        what = f"{UNKNOWN_PROVENANCE}: see metadata 'training_data'"
    return f"{head}. {what}; licence note in metadata 'licence'.{permuted}"


def _synthetic_layouts(data: dict) -> list[str]:
    """The file layouts a synthetic model's data copied: the card's synthetic datasets, else the dataset's key."""
    parts = data.get("datasets") if isinstance(data.get("datasets"), dict) else {}
    drawn = [d for d, v in parts.items() if isinstance(v, dict) and v.get("synthetic")]
    return drawn or ([] if data.get("dataset") == "composite" else [str(data["dataset"])])  # a part not known


def onnx_metadata(model: MMNet, info: CheckpointInfo | None = None,
                  checkpoint: str | Path | None = None) -> dict[str, str]:
    """The ``metadata_props`` written into the ONNX file (every value a string); ``checkpoint``, the folder or
    file the model was loaded from, is where its model card is looked for (``provenance_metadata``)."""
    info = info or CheckpointInfo()
    n = model.config.num_classes
    names = list(info.class_names) if info.class_names else [f"class_{i}" for i in range(n)]
    prep = Preprocessing.from_checkpoint(model, info).to_dict()
    prep.update({"resize": RESIZE_METHOD, "scale": "1/255", "channels": "RGB", "layout": "NCHW",
                 "orientation": ORIENTATION_RULE, "bit_depth": BIT_DEPTH_RULE, "face_crop": face_crop_rule(info),
                 "batch": BATCH_RULE})
    flow = {"flow": json.dumps(flow_metadata(checkpoint, model.config.image_size, info))} \
        if model.config.main_input == "flow" else {}
    return {
        "mmnet_version": __version__,
        "class_names": json.dumps(names),
        "preprocessing": json.dumps(prep),
        "model_config": json.dumps(dataclasses.asdict(model.config)),
        "inputs": json.dumps(input_names(model)),
        **flow,
        **provenance_metadata(checkpoint, info),
    }



def read_onnx_metadata(path: str | Path) -> dict:
    """``metadata_props`` of an exported file, JSON values decoded."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    meta = {}
    for entry in proto.metadata_props:
        try:
            meta[entry.key] = json.loads(entry.value)
        except json.JSONDecodeError:
            meta[entry.key] = entry.value
    return meta
