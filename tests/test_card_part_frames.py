"""The model card of a composite names each part's frames folder and says which part was trained on uncropped
full frames, as the report does (env.json's part_frames)."""

from __future__ import annotations

import json

from .fake_runs import make_samples, write_run
from .test_card_frame_rates import _final_model


def test_a_composite_card_says_which_part_was_uncropped(tmp_path):
    from mmnet.train.model_card import write_model_card

    samples = [s for ds in ("casme2", "samm") for s in make_samples({"s1": [0, 1], "s2": [2, 0]}, ds)]
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"], epochs=1)
    env = json.loads((run / "env.json").read_text())
    env["part_frames"] = {"casme2": {"folder": "Cropped", "uncropped": False},
                          "samm": {"folder": "SAMM", "uncropped": True}}
    (run / "env.json").write_text(json.dumps(env))
    _final_model(run, "composite")
    card = write_model_card(run, None)
    assert card["preprocessing"]["part_frames"]["samm"] == {"folder": "SAMM", "uncropped": True}
    text = (run / "final" / "MODEL_CARD.md").read_text()
    assert "- `samm`: `SAMM`, UNCROPPED full frames (not face crops)" in text
    assert "- `casme2`: `Cropped`, face crops" in text and "The model learnt samm from whole frames" in text


def test_a_card_of_one_dataset_has_no_part_lines(tmp_path):
    from mmnet.train.model_card import write_model_card

    run = write_run(tmp_path / "run", make_samples({"s1": [0, 1, 2]}, "casme2"), lambda seed, e, s: 0, epochs=1)
    _final_model(run, "casme2")
    assert "part_frames" not in write_model_card(run, None)["preprocessing"]
    assert "Frames of each part" not in (run / "final" / "MODEL_CARD.md").read_text()


def test_a_card_of_one_dataset_names_its_frames_folder_and_layout(tmp_path):
    from mmnet.train.model_card import write_model_card

    run = write_run(tmp_path / "run", make_samples({"s1": [0, 1, 2]}, "casme2"), lambda seed, e, s: 0, epochs=1)
    env = json.loads((run / "env.json").read_text())
    env["part_frames"] = {"casme2": {"folder": "Cropped-updated/Cropped", "uncropped": False,
                                     "layout": "cropped-updated"}}
    (run / "env.json").write_text(json.dumps(env))
    _final_model(run, "casme2")
    write_model_card(run, None)
    text = (run / "final" / "MODEL_CARD.md").read_text()
    assert "Frames:\n\n- `casme2`: `Cropped-updated/Cropped` (layout cropped-updated), face crops" in text
    assert "part of the composite" not in text
